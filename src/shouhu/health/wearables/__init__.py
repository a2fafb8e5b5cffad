"""Wearable exports → daily aggregates (steps, active minutes, resting heart rate), never raw samples.

``parse(path, fmt, today)`` picks the reader: ``apple`` (Health app export.xml / export.zip), ``csv``
(Huawei, Xiaomi, Garmin and other one-row-a-day CSVs) or ``json`` (the generic push).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from shouhu.errors import UnknownName
from shouhu.health.wearables.apple import parse_apple
from shouhu.health.wearables.common import Daily, Issue, Parsed, merge
from shouhu.health.wearables.csv_export import parse_csv
from shouhu.health.wearables.json_push import parse_json, parse_payload

FORMATS = ("apple", "csv", "json")


def parse(path: Path, fmt: str, today: date, source: str | None = None) -> Parsed:
    """Read ``path`` as ``fmt``; days listed twice for one source are merged (larger value of each metric)."""
    if fmt == "apple":
        out = parse_apple(path, today)
    elif fmt == "csv":
        out = parse_csv(path, today, source)
    elif fmt == "json":
        out = parse_json(path, today)
    else:
        raise UnknownName("format", fmt, FORMATS)
    out.days = merge(out.days)
    return out


__all__ = ["FORMATS", "Daily", "Issue", "Parsed", "merge", "parse", "parse_apple", "parse_csv", "parse_json",
           "parse_payload"]
