"""Daily CSV exports of phone and band apps (Huawei 运动健康, Xiaomi 小米运动健康 / Zepp, Garmin Connect)
and any CSV with one row a day.

Vendors spell their columns differently and change them between versions, so columns are found by
name (``HEADERS``: Chinese and English aliases), not by position. The encoding is detected (UTF-8 with
or without BOM, GBK/GB18030). Dates may be ``2026-03-01``, ``2026/3/1``, ``2026年3月1日``, ``20260301``
or ``3/1/2026`` (Garmin's US layout: month first). Cells such as ``--`` or empty ones mean "not measured".
Numbers may carry thousands separators (``10,234``). A row with a bad cell is quarantined with its line
number, the field and the reason; the other rows still load.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

from shouhu.errors import SourceFileError
from shouhu.health.wearables.common import Daily, Issue, Parsed, RowError, check_day, check_metric

HEADERS: dict[str, tuple[str, ...]] = {
    "date": ("日期", "时间", "date", "day", "日期(date)", "统计日期", "calendar date"),
    "steps": ("步数", "总步数", "steps", "step count", "步数(步)", "actual", "total steps"),
    "active_minutes": ("活动分钟", "中高强度(分钟)", "中高强度活动(分钟)", "锻炼时长(分钟)", "运动时长(分钟)",
                       "active_minutes", "active minutes", "intensity minutes", "activeminutes"),
    "resting_hr": ("静息心率", "静息心率(次/分)", "resting heart rate", "resting_hr", "resting hr", "rhr"),
}
# Which app wrote the file, from a column only that app uses; else the caller's --source, else "csv".
VENDOR_HINTS = {"中高强度(分钟)": "huawei", "lastsynctime": "xiaomi", "intensity minutes": "garmin",
                "actual": "garmin"}
MISSING = {"", "-", "--", "—", "n/a", "na", "null", "none"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%m/%d/%Y")


def _normal(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().lower()


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceFileError(f"{path.name}: neither UTF-8 nor GBK/GB18030 text", field="file")


def _columns(header: list[str], name: str) -> dict[str, int]:
    found: dict[str, int] = {}
    normal = [_normal(h) for h in header]
    for field_name, aliases in HEADERS.items():
        for i, h in enumerate(normal):
            if h in aliases and field_name not in found:
                found[field_name] = i
    for needed in ("date", "steps"):
        if needed not in found:
            raise SourceFileError(f"{name}: no {needed} column; looked for {', '.join(HEADERS[needed])} "
                                  f"in the header {', '.join(header)}", field=needed)
    return found


def vendor_of(header: list[str]) -> str | None:
    normal = {_normal(h) for h in header}
    return next((v for hint, v in VENDOR_HINTS.items() if hint in normal), None)


def parse_date(text: str) -> date:
    cleaned = re.sub(r"\s+\d{1,2}:\d{2}(:\d{2})?$", "", text.strip())  # "2026-03-01 00:00" from some apps
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    raise RowError("date", "not a date (2026-03-01, 2026/3/1, 2026年3月1日, 20260301 or 3/1/2026)", text)


def _number(field_name: str, text: str) -> int | None:
    cleaned = text.strip().replace(",", "").replace("，", "")
    if cleaned.lower() in MISSING:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        raise RowError(field_name, "not a number", text) from None
    if value != int(value):
        raise RowError(field_name, "not a whole number", text)
    return check_metric(field_name, int(value))


def _row(cells: list[str], cols: dict[str, int], source: str, today: date) -> Daily:
    def cell(f: str) -> str:
        return cells[cols[f]] if f in cols and cols[f] < len(cells) else ""

    day = check_day(parse_date(cell("date")), today)
    steps = _number("steps", cell("steps"))
    active = _number("active_minutes", cell("active_minutes")) if "active_minutes" in cols else None
    rhr = _number("resting_hr", cell("resting_hr")) if "resting_hr" in cols else None
    return Daily(day, source, steps, active, rhr)


def parse_csv(path: Path, today: date, source: str | None = None) -> Parsed:
    """Daily rows of a vendor CSV; ``source`` names the app when the columns do not tell."""
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    header = next(reader, None)
    if not header:
        raise SourceFileError(f"{path.name}: the file is empty", field="file")
    cols = _columns(header, path.name)
    out = Parsed(source or vendor_of(header) or "csv")
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        out.rows_read += 1
        try:
            out.days.append(_row(cells, cols, out.source, today))
        except RowError as e:
            out.issues.append(Issue(line, e.field, e.reason, e.value))
    return out


__all__ = ["HEADERS", "parse_csv", "parse_date", "vendor_of"]
