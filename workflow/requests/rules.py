"""Effective-dated rule sets for routing and deadlines; each decision stores the version applied.

Values the law leaves to the ministries, or that could not be confirmed from an official text,
are configurable: `Rulebook.from_overrides` takes a mapping of version → field → value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from workflow.i18n import N_
from workflow.records.enums import CaseStage, Measure


@dataclass(frozen=True)
class RuleSet:
    """One version of the rules, in force from `effective_from` until before `effective_to`."""

    version: str
    law: str
    effective_from: dt.date
    effective_to: dt.date | None
    consent_stages: frozenset[CaseStage] = frozenset(
        {CaseStage.INVESTIGATION, CaseStage.PROSECUTION, CaseStage.TRIAL})
    # Art. 12 §3a attaches the consent to use outside the body's own scope.
    consent_in_scope: bool = False
    approval_days: int = 5        # Access to Information Law 104/2016: simple request
    consent_days: int = 5
    urgent_days: int = 2
    extension_days: int = 15      # one extension of up to 15 working days
    supplement_days: int = 15     # (unconfirmed) time the requester has to supplement
    due_soon_days: int = 1        # warn this many working days ahead
    # Time held (statistics of time against the limit). Custody: 3 days, extended at most twice
    # by 3. Detention during investigation: the shortest first term (2 months) and extension are
    # used because the records do not carry the crime's severity (unconfirmed; configure).
    custody_days: int = 3
    custody_extension_days: int = 3
    custody_extensions: int = 2
    detention_days: int = 60
    detention_extension_days: int = 60
    detention_extensions: int = 3
    custody_near_days: int = 1
    detention_near_days: int = 10

    def limit_days(self, measure: Measure, extensions: int) -> int:
        """Days a measure allows from its start with that many recorded extensions."""
        if measure is Measure.CUSTODY:
            return self.custody_days + self.custody_extension_days * min(
                extensions, self.custody_extensions)
        return self.detention_days + self.detention_extension_days * min(
            extensions, self.detention_extensions)

    def near_days(self, measure: Measure) -> int:
        """How close to the limit counts as near it."""
        return self.custody_near_days if measure is Measure.CUSTODY else self.detention_near_days

    def applies_on(self, day: dt.date) -> bool:
        """Whether the rule set is in force on that day."""
        return self.effective_from <= day and (self.effective_to is None
                                               or day < self.effective_to)

    @property
    def label(self) -> str:
        """How the rule set is cited to users."""
        until = f" – {self.effective_to:%d/%m/%Y}" if self.effective_to else ""
        return f"{self.law} ({self.effective_from:%d/%m/%Y}{until})"


DEFAULT_RULESETS = (
    RuleSet("L94-2015.1", N_("Law 94/2015/QH13 on execution of custody and detention"),
            dt.date(2016, 7, 1), dt.date(2026, 7, 1)),
    RuleSet("L128-2025.1", N_("Law 128/2025/QH15 on execution of custody, detention and "
                              "residence bans"), dt.date(2026, 7, 1), None),
)


class NoRuleSet(LookupError):
    """No rule set is in force on the day asked about (a configuration error)."""


@dataclass(frozen=True)
class Rulebook:
    """All rule sets, non-overlapping, found by date."""

    rulesets: tuple[RuleSet, ...] = DEFAULT_RULESETS

    def on(self, day: dt.date) -> RuleSet:
        """The rule set in force on that day."""
        for ruleset in self.rulesets:
            if ruleset.applies_on(day):
                return ruleset
        raise NoRuleSet(day)

    def version(self, version: str) -> RuleSet:
        """A rule set by its version."""
        for ruleset in self.rulesets:
            if ruleset.version == version:
                return ruleset
        raise NoRuleSet(version)

    @classmethod
    def from_overrides(cls, overrides: dict[str, dict[str, object]] | None) -> Rulebook:
        """The default rule sets with configured values replaced (unknown names are errors)."""
        overrides = overrides or {}
        unknown = set(overrides) - {r.version for r in DEFAULT_RULESETS}
        if unknown:
            raise ValueError(f"unknown rule set versions: {sorted(unknown)}")
        return cls(tuple(dataclasses.replace(r, **overrides.get(r.version, {}))
                         for r in DEFAULT_RULESETS))
