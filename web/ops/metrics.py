"""Prometheus metrics: request latency by endpoint, method and status class, counted in this
process (or, when `PROMETHEUS_MULTIPROC_DIR` is set, in files every gunicorn worker writes and
the scrape adds up); and figures read from the database at scrape time, which are the same
whichever worker answers (audit entries written, the chain's lag behind its last signed
checkpoint, what the mail and webhook outboxes still owe)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from workflow.health import Figures

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Label values come from a closed set, so that no client can grow the series without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route matched (a 404 or 405 of the router): the path is not kept

# This process's own metrics. Not the library's default registry, whose platform collector
# would tell the Python version to whoever reads the metrics.
_registry = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "custody_request_duration_seconds", "Time to answer a request, by endpoint.",
    ["endpoint", "method", "status"], registry=_registry,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def multiprocess() -> bool:
    """Whether the workers share their metrics through files (gunicorn with several)."""
    return bool(os.environ.get(MULTIPROCESS_DIR))


def endpoint_label(endpoint: str | None) -> str:
    """The route's endpoint name (never the path, which holds ids)."""
    return endpoint or UNMATCHED


def method_label(method: str) -> str:
    """The method, or `other` for one no route takes."""
    return method if method in METHODS else "other"


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count a request answered."""
    REQUEST_SECONDS.labels(endpoint, method, f"{status // 100}xx").observe(seconds)


class _DatabaseFigures:
    """The figures read from the database for this scrape, as metrics (none when it did not
    answer: `custody_database_up` says so)."""

    def __init__(self, figures: Figures | None) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        """The metrics."""
        yield GaugeMetricFamily("custody_database_up", "Whether the database answered this "
                                "scrape.", value=0 if self.figures is None else 1)
        f = self.figures
        if f is None:
            return
        yield CounterMetricFamily("custody_audit_entries", "Audit entries written (the chain "
                                  "head's sequence number).", value=f.audit_entries)
        yield GaugeMetricFamily("custody_audit_unsigned_entries", "Audit entries after the "
                                "last signed checkpoint.", value=f.audit_unsigned)
        yield GaugeMetricFamily("custody_audit_lag_seconds", "How long the oldest entry after "
                                "the last signed checkpoint has waited for one (0 when none "
                                "waits).", value=f.audit_lag_seconds)
        owed = GaugeMetricFamily("custody_outbox_undelivered", "Outbox rows not delivered: "
                                 "still to try (pending), or out of tries (given_up).",
                                 labels=["outbox", "state"])
        owed.add_metric(["mail", "pending"], f.mail_pending)
        owed.add_metric(["mail", "given_up"], f.mail_given_up)
        owed.add_metric(["webhooks", "pending"], f.webhooks_pending)
        owed.add_metric(["webhooks", "given_up"], f.webhooks_given_up)
        yield owed
        jobs = GaugeMetricFamily("custody_jobs", "Background jobs (long extracts) by state: "
                                 "queued and running make the queue's depth; failed ran out "
                                 "of attempts or were refused.", labels=["state"])
        for state, count in sorted(f.jobs.items()):
            jobs.add_metric([state], count)
        yield jobs


def exposition(figures: Figures | None) -> bytes:
    """Every metric in the Prometheus text format."""
    registry = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_Own())
        registry.register(ProcessCollector(registry=None))
    registry.register(_DatabaseFigures(figures))
    return generate_latest(registry)


class _Own:
    """This process's own metrics, inside a scrape's registry."""

    def collect(self) -> Iterator[Metric]:
        """The metrics."""
        yield from _registry.collect()


def clear_multiprocess_dir() -> None:
    """Make the workers' metrics directory, or remove the metric files a previous run left in
    it (the library wants it empty at start, or old workers' counts are added in); only its
    own files are touched."""
    if multiprocess():
        directory = Path(os.environ[MULTIPROCESS_DIR])
        directory.mkdir(parents=True, exist_ok=True)
        for path in directory.glob("*.db"):
            path.unlink(missing_ok=True)

