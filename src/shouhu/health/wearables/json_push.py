"""The generic push: a JSON document a tracker vendor (or the insurer's app) sends for one customer::

    {"source": "band-x", "days": [{"date": "2026-03-01", "steps": 8123, "active_minutes": 41,
                                   "resting_hr": 62}, ...]}

A bare list of day objects is accepted too. ``steps``, ``active_minutes`` and ``resting_hr`` are optional
whole numbers (null: not measured). Items are numbered from 1 in quarantine rows.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from shouhu.errors import SourceFileError
from shouhu.health.wearables.common import METRICS, Daily, Issue, Parsed, RowError, check_day, check_metric
from shouhu.health.wearables.csv_export import parse_date


def source_name(vendor: object) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", str(vendor or "push").lower()).strip("-")[:30] or "push"
    return f"json:{slug}"


def _metric(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise RowError(name, "not a whole number", value)
    return check_metric(name, int(value))


def _day(item: object, source: str, today: date) -> Daily:
    if not isinstance(item, dict):
        raise RowError("(item)", "each day must be an object", item)
    if not isinstance(item.get("date"), str):
        raise RowError("date", "missing or not a text", item.get("date"))
    day = check_day(parse_date(item["date"]), today)
    return Daily(day, source, *(_metric(item, m) for m in METRICS))


def parse_payload(payload: object, today: date, name: str = "push") -> Parsed:
    if isinstance(payload, dict):
        items, vendor = payload.get("days"), payload.get("source")
    else:
        items, vendor = payload, None
    if not isinstance(items, list):
        raise SourceFileError(f"{name}: expected {{\"source\": ..., \"days\": [...]}} or a list of days",
                              field="days")
    out = Parsed(source_name(vendor))
    for row, item in enumerate(items, start=1):
        out.rows_read = row
        try:
            out.days.append(_day(item, out.source, today))
        except RowError as e:
            out.issues.append(Issue(row, e.field, e.reason, e.value))
    return out


def parse_json(path: Path, today: date) -> Parsed:
    try:
        payload = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SourceFileError(f"{path.name}: not UTF-8 JSON: {e}", field="file") from e
    return parse_payload(payload, today, path.name)


__all__ = ["parse_json", "parse_payload", "source_name"]
