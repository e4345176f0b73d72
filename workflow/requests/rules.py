"""Effective-dated rule sets for routing, deadlines and what documents cite; each decision
stores the version applied.

Values the law leaves to the ministries, or that could not be confirmed from an official text,
are configurable: `Rulebook.from_overrides` takes a mapping of version → field → value. A
provision of a law whose official text was not at hand is `pending`: it is shown as such and
never printed on a document (the law is then cited without the article).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from workflow.i18n import N_
from workflow.records.enums import CaseStage, DocumentCategory, Measure


@dataclass(frozen=True)
class Cited:
    """A provision as documents cite it ('khoản 1 Điều 17'); `pending` when the law's official
    text was not at hand (its text, if any, is a candidate to check, never printed)."""

    text: str = ""
    pending: bool = False

    @property
    def printable(self) -> bool:
        """Whether a document may print it."""
        return bool(self.text) and not self.pending

    @classmethod
    def of(cls, value: object) -> Cited:
        """A configured value: a Cited, a string (confirmed) or {"text": …, "pending": …}."""
        if isinstance(value, Cited):
            return value
        if isinstance(value, str):
            return cls(value.strip())
        if isinstance(value, Mapping) and set(value) <= {"text", "pending"}:
            return cls(str(value.get("text") or "").strip(), bool(value.get("pending", False)))
        raise ValueError(f"not a provision: {value!r}")


PENDING = Cited(pending=True)

# What documents cite the law for: the record file (hồ sơ quản lý) that the database holds of
# each person (Decree 121/2017 Art. 9 §2 points to it).
RECORD_FILE = "record_file"


@dataclass(frozen=True)
class RecordCategory:
    """A category of the record file in force under a rule set, with the provision listing it."""

    category: DocumentCategory
    provision: Cited


# Law 94/2015/QH13 Art. 17 §1(a)–(d) (§1(đ) and §2 unconfirmed: not categories here).
LAW_94_CATEGORIES = (
    RecordCategory(DocumentCategory.ORDERS, Cited("điểm a khoản 1 Điều 17")),
    RecordCategory(DocumentCategory.HANDOVER, Cited("điểm b khoản 1 Điều 17")),
    RecordCategory(DocumentCategory.IDENTITY, Cited("điểm c khoản 1 Điều 17")),
    RecordCategory(DocumentCategory.SENTENCE, Cited("điểm d khoản 1 Điều 17")),
)
# Law 128/2025/QH15: the same custody and detention categories until its text is at hand; the
# residence-restriction record file (Circular 56/2026, secondary copy) is not modelled yet.
LAW_128_CATEGORIES = tuple(RecordCategory(c.category, PENDING) for c in LAW_94_CATEGORIES)


# What a detained person's own request shows of each record category (redaction by audience):
# everything, the documents without their summaries (which may name co-accused, informants or
# officers), or the documents withheld (counted only). A policy default, configurable per rule set.
FULL, NO_DETAILS, WITHHELD = "full", "no_details", "withheld"
OWN_VIEW_CHOICES = (FULL, NO_DETAILS, WITHHELD)
OWN_VIEW = {DocumentCategory.ORDERS: NO_DETAILS, DocumentCategory.HANDOVER: FULL,
            DocumentCategory.IDENTITY: NO_DETAILS, DocumentCategory.SENTENCE: FULL}


@dataclass(frozen=True)
class RuleSet:
    """One version of the rules, in force from `effective_from` until before `effective_to`."""

    version: str
    law: str
    effective_from: dt.date
    effective_to: dt.date | None
    # The law as documents cite it: "<name> số <number>", and the provisions they cite.
    law_name: str = ""
    law_number: str = ""
    provisions: Mapping[str, Cited] = field(default_factory=dict)
    record_categories: tuple[RecordCategory, ...] = ()
    consent_stages: frozenset[CaseStage] = frozenset(
        {CaseStage.INVESTIGATION, CaseStage.PROSECUTION, CaseStage.TRIAL})
    # A person's own view of who read their record withholds the reads made while one of their
    # cases is at these stages, until the body handling it discloses them (a policy choice, not
    # a provision: the reads could tell a suspect where an investigation looks).
    tracker_withheld_stages: frozenset[CaseStage] = frozenset({CaseStage.INVESTIGATION})
    # The person's own requests: per record category, what its documents show (OWN_VIEW), and
    # whether the notes of custody events do (they name visitors and officers).
    own_view: Mapping[DocumentCategory, str] = field(default_factory=lambda: dict(OWN_VIEW))
    own_view_event_notes: bool = False
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
    # Residence restriction (Circular 56/2026 Art. 11 §2, read from a secondary copy only):
    # the person reports within this many working days of the order; on a change of residence
    # the commune hands the person over within this many; the monthly assessment is due on the
    # last working day of the month. Pending text until the official text is read (then set
    # `restriction_pending` to false with the values read).
    restriction_report_days: int = 3
    restriction_handover_days: int = 3
    restriction_pending: bool = True

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

    @property
    def last_day(self) -> dt.date | None:
        """The last day it is in force (None while no later rule set replaces it)."""
        return self.effective_to - dt.timedelta(days=1) if self.effective_to else None

    @property
    def law_citation(self) -> str:
        """'Luật Thi hành tạm giữ, tạm giam số 94/2015/QH13'."""
        return f"{self.law_name} số {self.law_number}"

    def provision(self, key: str) -> Cited:
        """A provision documents cite (pending when the rule set does not name it)."""
        return self.provisions.get(key, PENDING)

    def cite(self, key: str) -> str:
        """The law with the provision, or the law alone while the provision is pending."""
        provision = self.provision(key)
        if provision.printable:
            return f"{provision.text} {self.law_citation}"
        return self.law_citation

    def category_provision(self, category: DocumentCategory) -> Cited:
        """The provision listing a record category (pending when not in the set in force)."""
        return next((c.provision for c in self.record_categories if c.category is category),
                    PENDING)

    @property
    def pending(self) -> list[str]:
        """The names of the provisions and categories still pending text."""
        return ([key for key, cited in self.provisions.items() if cited.pending]
                + [c.category.value for c in self.record_categories if c.provision.pending])

    @property
    def restriction_pending_values(self) -> list[str]:
        """The residence-restriction values still pending text (none once confirmed)."""
        if not self.restriction_pending:
            return []
        return ["restriction_report_days", "restriction_handover_days",
                "restriction_assessment_day"]

    def overridden(self, values: Mapping[str, object]) -> RuleSet:
        """This rule set with configured values, each checked and read as its field's type
        (ISO dates, integers; JSON gives strings): a wrong one stops the start with ValueError.
        Provisions and categories are merged by name."""
        if not isinstance(values, Mapping):
            raise ValueError(f"{self.version}: the overrides must be a mapping")
        values = dict(values)
        known = {f.name for f in dataclasses.fields(self)} - {"version"}
        if unknown := set(values) - known:
            raise ValueError(f"{self.version}: unknown rule fields {sorted(unknown)}")
        for name in set(values) - {"provisions", "record_categories", "own_view"}:
            values[name] = _typed(self.version, name, getattr(self, name), values[name])
        for name in ("provisions", "record_categories", "own_view"):
            if name in values and not isinstance(values[name], Mapping):
                raise ValueError(f"{self.version}: {name} must be a mapping of name to text")
        if "own_view" in values:
            given = {DocumentCategory(k): str(v) for k, v in dict(values["own_view"]).items()}
            if wrong := {v for v in given.values() if v not in OWN_VIEW_CHOICES}:
                raise ValueError(f"{self.version}: own_view takes {OWN_VIEW_CHOICES}, "
                                 f"not {sorted(wrong)}")
            values["own_view"] = {**self.own_view, **given}
        if "provisions" in values:
            values["provisions"] = {**self.provisions, **{
                key: Cited.of(v) for key, v in dict(values["provisions"]).items()}}
        if "record_categories" in values:
            given = {DocumentCategory(k): Cited.of(v)
                     for k, v in dict(values["record_categories"]).items()}
            values["record_categories"] = tuple(
                RecordCategory(c.category, given.pop(c.category, c.provision))
                for c in self.record_categories) + tuple(
                RecordCategory(category, cited) for category, cited in given.items())
        return dataclasses.replace(self, **values)


def _typed(version: str, name: str, current: object, value: object) -> object:
    """A configured value read as the type of the field it replaces."""
    where = f"{version}.{name}"
    try:
        if name == "effective_to" and value is None:
            return None
        if isinstance(current, dt.date) or name in ("effective_from", "effective_to"):
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise ValueError("expected true or false")
            return value
        if isinstance(current, int):
            if isinstance(value, bool) or not str(value).strip().isdigit():
                raise ValueError("expected a whole number of days")
            return int(str(value).strip())
        if isinstance(current, frozenset):
            return frozenset(CaseStage(v) for v in value)
        if isinstance(current, str):
            return str(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {value!r} is not valid ({error})") from error
    raise ValueError(f"{where} cannot be configured")


DEFAULT_RULESETS = (
    RuleSet("L94-2015.1", N_("Law 94/2015/QH13 on execution of custody and detention"),
            dt.date(2016, 7, 1), dt.date(2026, 7, 1),
            law_name="Luật Thi hành tạm giữ, tạm giam", law_number="94/2015/QH13",
            provisions={RECORD_FILE: Cited("khoản 1 Điều 17")},
            record_categories=LAW_94_CATEGORIES),
    # Its text was not at hand (LEGAL.md, "Since 2026"): its article numbers differ from Law
    # 94's, so every provision is pending until configured (README, "Rule sets").
    RuleSet("L128-2025.1", N_("Law 128/2025/QH15 on execution of custody, detention and "
                              "residence bans"), dt.date(2026, 7, 1), None,
            law_name="Luật Thi hành tạm giữ, tạm giam và cấm đi khỏi nơi cư trú",
            law_number="128/2025/QH15", provisions={RECORD_FILE: PENDING},
            record_categories=LAW_128_CATEGORIES),
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
        rulesets = tuple(r.overridden(overrides.get(r.version, {})) for r in DEFAULT_RULESETS)
        _check_sequence(rulesets)
        return cls(rulesets)


def _check_sequence(rulesets: tuple[RuleSet, ...]) -> None:
    """One rule set in force on every day from the first: each ends where the next begins,
    and only the last is open-ended (else a document could cite a law no longer in force)."""
    ordered = sorted(rulesets, key=lambda r: r.effective_from)
    for ruleset, following in zip(ordered, ordered[1:], strict=False):
        if ruleset.effective_to != following.effective_from:
            raise ValueError(f"{ruleset.version} must end on the day {following.version} "
                             f"begins ({following.effective_from}), not {ruleset.effective_to}")
    for ruleset in ordered:
        if ruleset.effective_to is not None and ruleset.effective_to <= ruleset.effective_from:
            raise ValueError(f"{ruleset.version} ends before it begins")
