"""Row validation: map a chunk's columns onto a canonical entity, convert and check every value.

Pure functions, no I/O. Each value parser returns the canonical value or raises
:class:`Invalid` with a reason a data steward can act on. A row with any problem is rejected as a
whole (all of its problems are reported); the rest are returned typed and normalised:
ID numbers as 18 digits (15-digit ones converted), phones as 11 digits. A fixed-line number
(010-12345678, 0571-88888888) in a mobile column is not an error: it moves to ``landline`` (a secondary
contact) and the row is kept with no mobile.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any

import pandas as pd
import pyarrow as pa
from stdnum.cn import ric

from shouhu.errors import MappingError
from shouhu.ingest.mapping import ExtractMapping
from shouhu.ingest.readers import Chunk
from shouhu.model.masking import mask
from shouhu.model.schema import LINEAGE_COLUMNS, Entity, Field
from shouhu.model.vocab import LabelledEnum

EARLIEST = date(1900, 1, 1)
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_NOISE = re.compile(r"[\s\-()]")
# area code 0 + 2 digits (010, 020-029) or 0 + 3 digits, then a 7- or 8-digit local number not starting 0
_LANDLINE = re.compile(r"^(0(?:10|2\d)|0[3-9]\d{2})([1-9]\d{6,7})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "int": pa.int64(), "float": pa.float64(), "date": pa.date32(),
    "datetime": pa.timestamp("us"), "bool": pa.bool_(),
}


class Invalid(ValueError):
    """One value failed a rule; ``str(e)`` is the reason."""


@dataclass(frozen=True)
class Problem:
    row_number: int
    field: str
    reason: str
    value: str  # masked when the field is sensitive
    raw: str  # the whole source record as JSON, so that nothing is lost


@dataclass
class Validated:
    rows: pa.Table
    problems: list[Problem]
    rejected_rows: int


def arrow_schema(ent: Entity) -> pa.Schema:
    fields = [pa.field(f.name, ARROW_TYPES[f.dtype]) for f in ent.fields]
    fields += [pa.field("_source", pa.string()), pa.field("_file_id", pa.string()),
               pa.field("_row_number", pa.int64())]
    assert [f.name for f in fields[-3:]] == list(LINEAGE_COLUMNS)
    return pa.schema(fields)


# -- value parsers -------------------------------------------------------------------------------
def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def to_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps phone numbers and codes as numbers
    return str(value).strip()


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise Invalid(f"not a whole number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise Invalid(f"not a whole number: {value!r}")
    text = str(value).strip().replace(",", "")
    try:
        return int(text)
    except ValueError:
        try:
            f = float(text)
        except ValueError:
            raise Invalid(f"not a whole number: {text!r}") from None
        if not f.is_integer():
            raise Invalid(f"not a whole number: {text!r}") from None
        return int(f)


def parse_float(value: Any) -> float:
    if isinstance(value, bool):
        raise Invalid(f"not a number: {value!r}")
    if isinstance(value, int | float):
        f = float(value)
    else:
        text = str(value).strip().replace(",", "").replace("¥", "").replace("￥", "")
        try:
            f = float(text)
        except ValueError:
            raise Invalid(f"not a number: {text!r}") from None
    if math.isnan(f) or math.isinf(f):
        raise Invalid(f"not a finite number: {value!r}")
    return f


def parse_date(value: Any, fmt: str | None = None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = to_text(value)  # 19800101.0 (an int column with nulls) -> "19800101"
    try:
        if fmt:
            return datetime.strptime(text, fmt).date()
        if len(text) > 10 and text[10] in "T ":
            return datetime.fromisoformat(text).date()
        return date.fromisoformat(text)
    except ValueError:
        expected = fmt or "YYYY-MM-DD"
        raise Invalid(f"not a valid date (expected {expected}): {text!r}") from None


def parse_datetime(value: Any, fmt: str | None = None) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = to_text(value)  # 20240101.0 (an int column with nulls) -> "20240101"
    try:
        if fmt:
            return datetime.strptime(text, fmt)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"not a valid date-time (expected {fmt or 'ISO 8601'}): {text!r}") from None
    if parsed.tzinfo is not None:  # stored as naive China time
        from zoneinfo import ZoneInfo

        parsed = parsed.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    return parsed


_TRUE = {"1", "true", "t", "yes", "y", "是", "同意", "已同意"}
_FALSE = {"0", "false", "f", "no", "n", "否", "不同意", "未同意"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = to_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid(f"not a yes/no value: {text!r}")


def normalise_id_number(value: str) -> str:
    """Validate a resident ID number (GB 11643-1999); 15-digit numbers are converted to 18.

    The same checks as ``stdnum.cn.ric.validate`` (length, digits, MOD 11-2 check character,
    birth date, region code valid in the birth year), with the region look-up cached: the
    uncached look-up dominated load time.
    """
    text = value.strip().upper()
    if len(text) == 15:
        if not text.isdigit():
            raise Invalid("15-digit ID number must be all digits")
        body = text[:6] + "19" + text[6:]
        text = body + ric.calc_check_digit(body + "0")  # it ignores the last char
    if len(text) != 18:
        raise Invalid(f"ID number must have 15 or 18 characters, has {len(text)}")
    if not text[:17].isdigit() or not text[:17].isascii():
        raise Invalid("the first 17 characters of an ID number must be digits")
    if text[17] != ric.calc_check_digit(text):
        raise Invalid("ID number check character is wrong (GB 11643 MOD 11-2)")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise Invalid("ID number holds an impossible birth date") from None
    if not _region_valid(text[:6], born.year):
        raise Invalid(f"ID number region code {text[:6]} is unknown for birth year {born.year}")
    return text


@lru_cache(maxsize=65_536)
def _region_valid(region: str, year: int) -> bool:
    try:
        ric.get_birth_place(f"{region}{year:04d}0101001" + "0")
    except Exception:  # stdnum raises InvalidComponent for unknown regions
        return False
    return True


def id_birth_date(id_number: str) -> date:
    """The birth date inside a normalised 18-digit resident ID number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def normalise_phone(value: str) -> str:
    digits = _PHONE_NOISE.sub("", value.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _PHONE.match(digits):
        raise Invalid("not a mainland mobile number (11 digits starting 13-19)")
    return digits


def normalise_landline(value: str) -> str:
    """A mainland fixed-line number as ``area-local`` (``010-12345678``); +86/0086 prefixes dropped."""
    digits = _PHONE_NOISE.sub("", value.strip())
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = "0" + digits[len(prefix):].lstrip("0")
    m = _LANDLINE.match(digits)
    if not m:
        raise Invalid("not a mainland landline (area code 0xx or 0xxx + 7-8 digits)")
    return f"{m.group(1)}-{m.group(2)}"


def check_value(f: Field, value: Any, as_of: date) -> Any:
    for check in f.checks:
        if check == "non_negative" and value < 0:
            raise Invalid(f"must not be negative: {value}")
        if check == "past_date":
            day = value.date() if isinstance(value, datetime) else value
            if day > as_of:
                raise Invalid(f"date {day} is in the future (after {as_of})")
            if day < EARLIEST:
                raise Invalid(f"date {day} is before {EARLIEST}")
        if check == "id_number":
            value = normalise_id_number(value)
        if check == "phone":
            value = normalise_phone(value)
        if check == "landline":
            value = normalise_landline(value)
        if check == "email" and not _EMAIL.match(value):
            raise Invalid("not an email address")
        if check == "json":
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as e:
                raise Invalid(f"not valid JSON: {e.msg}") from None
            if not isinstance(parsed, dict):
                raise Invalid("must be a JSON object")
    return value


@cache
def _codes(enum: type[LabelledEnum]) -> frozenset[str]:
    return frozenset(enum.codes())


def convert(f: Field, raw: Any, date_format: str | None, as_of: date) -> Any:
    """Convert one raw value to the canonical type of ``f`` and run its checks. Blank → None."""
    if is_blank(raw):
        if f.required:
            raise Invalid("required value is missing")
        return None
    if f.dtype == "string":
        value: Any = json.dumps(raw, ensure_ascii=False) if isinstance(raw, dict | list) else to_text(raw)
        if f.enum is not None and value not in _codes(f.enum):
            raise Invalid(f"{value!r} is not one of {sorted(_codes(f.enum))}")
    elif f.dtype == "int":
        value = parse_int(raw)
    elif f.dtype == "float":
        value = parse_float(raw)
    elif f.dtype == "date":
        value = parse_date(raw, date_format)
    elif f.dtype == "datetime":
        value = parse_datetime(raw, date_format)
    else:
        value = parse_bool(raw)
    return check_value(f, value, as_of)


# -- chunk validation ----------------------------------------------------------------------------
def check_columns(columns: list[str], mapping: ExtractMapping, file_name: str) -> list[str]:
    """Raise if a required field's column is absent; return the optional columns that are absent."""
    present = set(columns)
    missing_required = [
        f"{name} ← {col!r}" for name, col in mapping.columns.items()
        if col not in present and mapping.entity.field(name).required
    ]
    if missing_required:
        raise MappingError(
            f"{file_name}: required columns are missing from the file: {', '.join(missing_required)}; "
            f"columns found: {columns}", file=file_name,
        )
    return [col for name, col in mapping.columns.items() if col not in present]


def _mapped_values(df: pd.DataFrame, mapping: ExtractMapping, f: Field) -> list[Any]:
    n = len(df)
    if f.name in mapping.constants:
        return [mapping.constants[f.name]] * n
    col = mapping.columns.get(f.name)
    if col is None or col not in df.columns:
        return [None] * n
    values = df[col].tolist()
    value_map = mapping.values.get(f.name)
    if value_map:
        values = [value_map.get(to_text(v), v) if not is_blank(v) else v for v in values]
    return values


def _cross_checks(row: dict[str, Any]) -> list[tuple[str, str]]:
    """Checks across fields of one row: the birth date inside a resident ID must match birth_date."""
    problems = []
    id_number, birth = row.get("id_number"), row.get("birth_date")
    if id_number and birth and row.get("id_type") in (None, "resident_id"):
        embedded = id_birth_date(id_number)
        if embedded != birth:
            problems.append(("id_number", f"birth date in the ID number ({embedded}) disagrees with "
                                          f"birth_date ({birth})"))
    return problems


def _raw_json(df: pd.DataFrame, i: int) -> str:
    record = {str(k): (None if is_blank(v) else v) for k, v in df.iloc[i].items()}
    return json.dumps(record, ensure_ascii=False, default=str)


def validate_chunk(chunk: Chunk, mapping: ExtractMapping, *, source: str, file_id: str,
                   as_of: date) -> Validated:
    ent = mapping.entity
    df = chunk.records
    n = len(df)
    columns: dict[str, list[Any]] = {}
    errors: dict[int, list[tuple[str, str, Any]]] = {}
    moved_landlines: dict[int, str] = {}  # a landline in the mobile column: kept as the secondary contact
    for f in ent.fields:
        raw_values = _mapped_values(df, mapping, f)
        converter = _converter(f, mapping.date_formats.get(f.name), as_of)
        # Passports and other documents have no checksum to verify: only resident IDs are checked.
        other_document = _converter(replace(f, checks=tuple(c for c in f.checks if c != "id_number")),
                                    None, as_of)
        id_types = columns.get("id_type") if "id_number" in f.checks else None
        out: list[Any] = [None] * n
        for i, raw in enumerate(raw_values):
            try:
                if id_types is not None and id_types[i] not in (None, "resident_id"):
                    out[i] = other_document(raw)
                else:
                    out[i] = converter(raw)
            except Invalid as e:
                if "phone" in f.checks and "landline" in ent.field_names:
                    try:
                        moved_landlines[i] = normalise_landline(to_text(raw))
                        continue
                    except Invalid:
                        pass
                errors.setdefault(i, []).append((f.name, str(e), raw))
        if "landline" in f.checks:
            for i, number in moved_landlines.items():
                if out[i] is None:
                    out[i] = number
        columns[f.name] = out
    if "id_number" in columns and "birth_date" in columns:
        for i in range(n):
            if i in errors:
                continue
            row: dict[str, Any] = {k: columns[k][i] for k in ("id_number", "birth_date", "id_type") if k in columns}
            for field_name, reason in _cross_checks(row):
                errors.setdefault(i, []).append((field_name, reason, row.get(field_name)))
    keep = [i for i in range(n) if i not in errors]
    data = {name: [values[i] for i in keep] for name, values in columns.items()}
    data["_source"] = [source] * len(keep)
    data["_file_id"] = [file_id] * len(keep)
    data["_row_number"] = [chunk.row_numbers[i] for i in keep]
    table = pa.Table.from_pydict(data, schema=arrow_schema(ent))
    problems = [
        Problem(chunk.row_numbers[i], field_name, *_display(ent, field_name, reason, raw), _raw_json(df, i))
        for i, errs in sorted(errors.items())
        for field_name, reason, raw in errs
    ]
    problems += [Problem(row, "_record", reason, "", json.dumps({"_text": text}, ensure_ascii=False))
                 for row, reason, text in chunk.broken]
    return Validated(table, problems, rejected_rows=len(errors) + len(chunk.broken))


def _converter(f: Field, date_format: str | None, as_of: date) -> Callable[[Any], Any]:
    return lambda raw: convert(f, raw, date_format, as_of)


def _display(ent: Entity, field_name: str, reason: str, raw: Any) -> tuple[str, str]:
    """(reason, value) as they may be shown: a sensitive value is masked in both."""
    if is_blank(raw):
        return reason, ""
    text = to_text(raw)
    sensitive = field_name in ent.field_names and ent.field(field_name).sensitive
    if not sensitive:
        return reason, text[:200]
    masked = mask(field_name, text)
    return reason.replace(text, masked), masked
