"""Computed figures kept for a while: a nationwide dashboard over a million records takes seconds
to count, so its figures are kept with the time they were counted and counted again once older
than the configured age (`custody sweep` recounts the default views before anyone waits)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.db import reading
from workflow.figures import requests as request_figures
from workflow.figures import statistics
from workflow.models import StatisticsSnapshot
from workflow.requests.enums import RequestState, StepKind, StepOutcome

T = TypeVar("T")
_CLASSES = {c.__name__: c for c in (
    statistics.Cell, statistics.Breakdown, statistics.Population, statistics.Movements,
    statistics.TimeHeld, request_figures.RequestFigures, request_figures.StateTime)}
_ENUMS = {e.__name__: e for e in (RequestState, StepKind, StepOutcome)}


def encode(value: object) -> object:
    """Plain JSON for dataclasses, enums, dates, tuples and dicts of them."""
    if dataclasses.is_dataclass(value):
        return {"$": type(value).__name__,
                **{f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, enum.Enum):
        return {"$enum": type(value).__name__, "v": value.value}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    return value


def decode(value: object) -> object:
    """The inverse of `encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$" in value:
        cls = _CLASSES[value["$"]]
        return cls(**{f.name: decode(value[f.name]) for f in dataclasses.fields(cls)})
    if "$tuple" in value:
        return tuple(decode(v) for v in value["$tuple"])
    if "$enum" in value:
        return _ENUMS[value["$enum"]](value["v"])
    if "$date" in value:
        return dt.date.fromisoformat(value["$date"])
    return {decode(k): decode(v) for k, v in value["$dict"]}


def cached(session: Session, organisation_id: int, key: dict[str, object], now: dt.datetime,
           max_age: dt.timedelta, compute: Callable[[Session], T]) -> tuple[T, dt.datetime]:
    """The figures under `key` and when they were counted: kept ones while younger than
    `max_age`, else computed afresh by `compute` in a read-only session of its own (a count
    takes seconds and must not hold the write lock meanwhile), then kept through `session`."""
    text_key = json.dumps(key, sort_keys=True, default=str)
    row = session.scalar(select(StatisticsSnapshot).where(
        StatisticsSnapshot.organisation_id == organisation_id,
        StatisticsSnapshot.key == text_key))
    if row is not None and now - row.computed_at <= max_age:
        return decode(json.loads(row.data)), row.computed_at
    with reading(session) as reader:
        figures = compute(reader)
    data = json.dumps(encode(figures), ensure_ascii=False)
    if max_age > dt.timedelta(0):
        try:
            with session.begin_nested():
                if row is None:
                    session.add(StatisticsSnapshot(organisation_id=organisation_id,
                                                   key=text_key, computed_at=now, data=data))
                else:
                    row.computed_at, row.data = now, data
                session.flush()
        except IntegrityError:
            pass  # another request kept the same figures a moment ago
    return figures, now
