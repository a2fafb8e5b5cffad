"""Apple Health: ``export.xml`` (or the ``export.zip`` the Health app writes), streamed with ``iterparse``
so that a multi-gigabyte export never sits in memory.

Kept: ``HKQuantityTypeIdentifierStepCount`` (summed), ``HKQuantityTypeIdentifierAppleExerciseTime``
(summed, minutes) and ``HKQuantityTypeIdentifierRestingHeartRate`` (the day's mean). Everything else in the
export — heart-rate samples, workouts, routes, the ``Me`` profile — is skipped unread.

* **Local date**: a sample counts on the date of its ``startDate`` in the offset written with it
  (``2026-03-01 23:50:00 +0800`` is 1 March), so a trip abroad does not move days.
* **Sources**: an iPhone and an Apple Watch both count the same walk. The day's steps (and exercise
  minutes) are therefore the largest total of any one source, not the sum of all; a sample repeated
  verbatim (same source, times and value: a re-synced third-party app) counts once.
* **Names**: ``sourceName`` often holds the owner's name ("张三的 Apple Watch"); it is used to tell sources
  apart while reading and never stored.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO
from xml.etree import ElementTree as ET

from shouhu.errors import SourceFileError
from shouhu.health.wearables.common import Daily, Issue, Parsed, RowError, check_day, check_metric

SOURCE = "apple"
TYPES = {
    "HKQuantityTypeIdentifierStepCount": "steps",
    "HKQuantityTypeIdentifierAppleExerciseTime": "active_minutes",
    "HKQuantityTypeIdentifierRestingHeartRate": "resting_hr",
}
STAMP = "%Y-%m-%d %H:%M:%S %z"


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith("export.xml") and "cda" not in n]
            if not names:
                raise SourceFileError(f"{path.name}: the zip holds no export.xml", field="file")
            with z.open(names[0]) as f:
                yield f
    else:
        with path.open("rb") as f:
            yield f


def _records(f: IO[bytes]) -> Iterator[dict[str, str]]:
    """The attributes of every ``Record`` directly under the root, clearing what has been read."""
    depth = 0
    root: ET.Element | None = None
    for event, elem in ET.iterparse(f, events=("start", "end")):
        if event == "start":
            depth += 1
            root = elem if root is None else root
            continue
        depth -= 1
        if depth == 1:
            if elem.tag == "Record":
                yield dict(elem.attrib)
            assert root is not None
            root.clear()  # drop what was read: keeps memory flat however big the export


def _sample(attrs: dict[str, str]) -> tuple[str, date, float] | None:
    metric = TYPES.get(attrs.get("type", ""))
    if metric is None:
        return None
    try:
        start = datetime.strptime(attrs.get("startDate", ""), STAMP)
    except ValueError:
        raise RowError("startDate", "not a date like 2026-03-01 08:00:00 +0800", attrs.get("startDate")) from None
    try:
        value = float(attrs.get("value", ""))
    except ValueError:
        raise RowError("value", "not a number", attrs.get("value")) from None
    if value < 0:
        raise RowError("value", "negative", value)
    return metric, start.date(), value


class _Days:
    """Per day and metric: totals per source (steps, minutes) or readings (resting heart rate)."""

    def __init__(self) -> None:
        self.totals: dict[tuple[date, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.readings: dict[date, list[float]] = defaultdict(list)
        self.first_row: dict[date, int] = {}
        self.seen: set[bytes] = set()

    def add(self, row: int, attrs: dict[str, str], metric: str, day: date, value: float) -> None:
        key = hashlib.blake2b("\x1f".join((attrs.get("type", ""), attrs.get("sourceName", ""),
                                           attrs.get("startDate", ""), attrs.get("endDate", ""),
                                           attrs.get("value", ""))).encode(), digest_size=8).digest()
        if key in self.seen:
            return
        self.seen.add(key)
        self.first_row.setdefault(day, row)
        if metric == "resting_hr":
            self.readings[day].append(value)
        else:
            self.totals[(day, metric)][attrs.get("sourceName", "")] += value

    def daily(self, today: date, issues: list[Issue]) -> list[Daily]:
        days = sorted({d for d, _ in self.totals} | set(self.readings))
        out = []
        for d in days:
            try:
                check_day(d, today)
                values = {m: self._value(d, m) for m in ("steps", "active_minutes", "resting_hr")}
                out.append(Daily(d, SOURCE, **{m: check_metric(m, v) for m, v in values.items()}))
            except RowError as e:
                issues.append(Issue(self.first_row[d], e.field, f"{d.isoformat()}: {e.reason}", e.value))
        return out

    def _value(self, d: date, metric: str) -> int | None:
        if metric == "resting_hr":
            r = self.readings.get(d)
            return round(sum(r) / len(r)) if r else None
        per_source = self.totals.get((d, metric))
        return round(max(per_source.values())) if per_source else None


def parse_apple(path: Path, today: date) -> Parsed:
    """Daily aggregates of an Apple Health export; bad samples are quarantined by record number."""
    out = Parsed(SOURCE)
    days = _Days()
    try:
        with _open(path) as f:
            for row, attrs in enumerate(_records(f), start=1):
                out.rows_read = row
                try:
                    sample = _sample(attrs)
                except RowError as e:
                    out.issues.append(Issue(row, e.field, e.reason, e.value))
                    continue
                if sample is not None:
                    days.add(row, attrs, *sample)
    except ET.ParseError as e:
        raise SourceFileError(f"{path.name}: not a readable Apple Health export.xml: {e}", field="file") from e
    out.days = days.daily(today, out.issues)
    return out


__all__ = ["parse_apple"]
