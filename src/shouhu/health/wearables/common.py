"""What every wearable reader returns: daily aggregates (never raw samples), quarantined rows with their
reason, and the plausibility checks the readers share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

METRICS = ("steps", "active_minutes", "resting_hr")
# Plausible ranges: outside them a value is a device or export fault, not a day of a real person.
LIMITS: dict[str, tuple[int, int]] = {"steps": (0, 100_000), "active_minutes": (0, 1440), "resting_hr": (25, 220)}
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Daily:
    """One day of one source: the aggregates the programme keeps."""

    day: date
    source: str
    steps: int | None = None
    active_minutes: int | None = None
    resting_hr: int | None = None


@dataclass(frozen=True)
class Issue:
    """A quarantined row: where it was (row number in the file: CSV line, JSON item or XML record), the field
    and why it was refused."""

    row: int
    field: str
    reason: str
    value: str | None = None


@dataclass
class Parsed:
    source: str
    days: list[Daily] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    rows_read: int = 0


class RowError(ValueError):
    def __init__(self, field_name: str, reason: str, value: object = None) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason
        self.value = None if value is None else str(value)[:64]


def check_metric(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    low, high = LIMITS[name]
    if not low <= value <= high:
        raise RowError(name, f"{value} is outside the plausible range {low}–{high}", value)
    return value


def check_day(value: date, today: date) -> date:
    if value > today:
        raise RowError("date", f"{value.isoformat()} is in the future", value.isoformat())
    if value < EARLIEST:
        raise RowError("date", f"{value.isoformat()} is before {EARLIEST.isoformat()}", value.isoformat())
    return value


def _larger(a: int | None, b: int | None) -> int | None:
    if a is None or b is None:
        return a if b is None else b
    return max(a, b)


def merge(rows: Iterable[Daily]) -> list[Daily]:
    """One row per (day, source), keeping each metric's larger value: the same day listed twice (a phone and
    a band exported into one file, or a re-synced day) must not count twice."""
    out: dict[tuple[date, str], Daily] = {}
    for r in rows:
        old = out.get((r.day, r.source))
        if old is not None:
            r = Daily(r.day, r.source, _larger(old.steps, r.steps), _larger(old.active_minutes, r.active_minutes),
                      _larger(old.resting_hr, r.resting_hr))
        out[(r.day, r.source)] = r
    return [out[k] for k in sorted(out)]


__all__ = ["LIMITS", "METRICS", "Daily", "Issue", "Parsed", "RowError", "check_day", "check_metric", "merge"]
