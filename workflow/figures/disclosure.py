"""Disclosure control of figures on detained persons (Decree 121/2017 Arts. 3, 9 §1): exact
counts for those who may read the records counted, and the cell-key method (as the UK census
and the ABS TableBuilder use) for everything that leaves that circle: every record has a fixed
secret key, a cell's key is the sum of its records' keys, and a fixed perturbation table turns
(count, cell key) into the figure shown. The same records always give the same figure, so asking
again averages nothing away and differencing two tables gives nothing stable; small counts are
never shown as they are, zeros stay zero."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, cast, literal
from sqlalchemy.sql import ColumnElement

from workflow.errors import InvalidInput
from workflow.i18n import N_

PRIME = 2_147_483_647  # 2**31 - 1: keys and their products stay inside SQL's 64-bit integers
# The perturbation table for counts from the threshold up: noise and its probability, picked by
# the cell key (a count near the threshold never goes under it; the rest share the weight).
NOISE: tuple[tuple[int, float], ...] = ((-2, 0.1), (-1, 0.2), (0, 0.4), (1, 0.2), (2, 0.1))

Publish = Callable[[int, int], int]  # (true count, sum of the records' keys) → figure shown


@dataclass(frozen=True)
class RecordKeys:
    """A record's key from its id: h(id) = (a·id² + b·id + c) mod PRIME, a 3-wise independent
    hash whose coefficients come from the installation's secret (never stored in the database),
    written in SQL so that a cell's key is one SUM beside its COUNT."""

    a: int
    b: int
    c: int

    @classmethod
    def from_secret(cls, secret: bytes) -> RecordKeys:
        """The coefficients the secret gives."""
        return cls(*(_derive(secret, f"record-key|{name}") for name in "abc"))

    def of(self, record_id: int) -> int:
        """One record's key (in Python: for figures counted row by row)."""
        x = record_id
        return (self.a * (x * x % PRIME) % PRIME + self.b * x + self.c) % PRIME

    def sum_of(self, record_ids: Iterable[int]) -> int:
        """The key sum of some records."""
        return sum(self.of(i) for i in record_ids)

    def sql(self, column: ColumnElement) -> ColumnElement:
        """The record's key as an SQL expression on its id column."""
        if not (self.a or self.b or self.c):
            return literal(0)
        # Ids stay under 2**31, so no product passes 2**62 and no sum 2**63.
        x = cast(column, BigInteger)
        return (literal(self.a, BigInteger) * (x * x % PRIME) % PRIME
                + literal(self.b, BigInteger) * x + self.c) % PRIME


NO_KEYS = RecordKeys(0, 0, 0)


def _derive(secret: bytes, label: str) -> int:
    return int.from_bytes(hmac.new(secret, label.encode(), hashlib.sha256).digest()[:8],
                          "big") % PRIME


def ptable_row(count: int, threshold: int) -> tuple[tuple[int, float], ...]:
    """What a true count may be shown as, with the probability of each: zero stays zero; a
    small count (1 to threshold-1) shows as 0 or the threshold, never itself, on average
    itself; a larger one moves by NOISE, never under the threshold."""
    if count == 0:
        return ((0, 1.0),)
    if count < threshold:
        return ((threshold, count / threshold), (0, 1 - count / threshold))
    allowed = [(count + d, p) for d, p in NOISE if count + d >= threshold]
    weight = sum(p for _, p in allowed)
    return tuple((value, p / weight) for value, p in allowed)


def perturbed(count: int, key: float, threshold: int) -> int:
    """The figure shown for a true count whose cell key is `key` (in [0, 1))."""
    row = ptable_row(count, threshold)
    upper = 0.0
    for value, p in row:
        upper += p
        if key < upper:
            return value
    return row[-1][0]


def exact(count: int, _keys: int) -> int:
    """A figure shown as counted."""
    return count


@dataclass(frozen=True)
class Control:
    """How a set of figures is shown: exact, or by the cell-key method (`secret` set)."""

    threshold: int
    secret: bytes | None = None

    @property
    def exact(self) -> bool:
        """Whether figures are shown as counted."""
        return self.secret is None

    @property
    def keys(self) -> RecordKeys:
        """The records' keys (none for exact figures)."""
        return NO_KEYS if self.secret is None else RecordKeys.from_secret(self.secret)

    def publisher(self, table: str) -> Publish:
        """Figure shown for a cell of a kind of table. The key is the records' alone (plus the
        table's): the same records give the same figure on any reporting day and in any
        breakdown, so a group that stays as it is shows one figure month after month (a fresh
        key each month would let its figures be averaged, and a small group shown once as 5
        would give itself away)."""
        if self.secret is None:
            return exact
        offset = _derive(self.secret, f"table|{table}")
        threshold = self.threshold

        def publish(count: int, key_sum: int) -> int:
            return perturbed(count, ((key_sum + offset) % PRIME) / PRIME, threshold)

        return publish


def exact_control() -> Control:
    """Figures as counted (for those who may read the records they count)."""
    return Control(threshold=1)


def cell_key_control(secret: str | bytes, threshold: int) -> Control:
    """The cell-key method keyed by the installation's secret."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return Control(threshold=threshold, secret=_derive(raw, "statistics").to_bytes(8, "big"))


# --- fixed reporting periods --------------------------------------------------------------------


def month_end(day: dt.date) -> dt.date:
    """The last day of the day's month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def default_reporting(today: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(day, start, end) of the latest published figures: the last month ended, and the year to
    its end."""
    day = today.replace(day=1) - dt.timedelta(days=1)
    return day, dt.date(day.year, 1, 1), day


def check_reporting(day: dt.date, start: dt.date, end: dt.date) -> None:
    """Figures that leave the circle are published for fixed periods only, so that two
    overlapping choices cannot be subtracted: persons held at the end of a month; movements over
    a month, a quarter or the year to the end of a month."""
    if day != month_end(day):
        raise InvalidInput(N_("Published figures count persons held at the end of a month: "
                              "choose a month's last day."))
    quarter_start = dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    if end != month_end(end) or start not in {end.replace(day=1), dt.date(end.year, 1, 1)} | (
            {quarter_start} if end.month % 3 == 0 else set()):
        raise InvalidInput(N_("Published figures cover a month, a quarter or the year to the "
                              "end of a month: the period starts on the first day of the "
                              "month, of the quarter or of the year and ends on a month's "
                              "last day."))
