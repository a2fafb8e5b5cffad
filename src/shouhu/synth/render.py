"""From canonical columns to what a source system writes, including the deliberately bad rows.

Each extract is built once as a canonical Arrow table (codes, native dates), sorted, then
rendered through its :class:`~shouhu.synth.layouts.Layout`: codes become the source's values,
dates its date format, and for text formats every cell becomes text. Defects are injected into
the rendered cells so that each bad row carries exactly one defect the way a real extract would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shouhu.model.schema import entity
from shouhu.synth.layouts import Col, Layout

DEFECT_FIELDS: dict[str, dict[str, str]] = {
    "party": {
        "id_checksum": "id_number",
        "impossible_date": "created_at",
        "future_birth_date": "birth_date",
        "non_numeric": "annual_income",
        "bad_phone": "phone",
        "bad_enum": "gender",
        "blank_required": "name",
    },
    "policy": {
        "impossible_date": "issue_date",
        "non_numeric": "annual_premium",
        "bad_enum": "payment_frequency",
        "blank_required": "policy_no",
    },
    "premium_payment": {"impossible_date": "due_date", "non_numeric": "amount_due", "blank_required": "policy_no"},
}
TEXT_ONLY = {"impossible_date", "non_numeric"}
BAD_ENUM = {"gender": "未知", "payment_frequency": "每两年"}
NON_NUMERIC = ("abc", "五千", "1O00", "#VALUE!")


MISSING = -(2**62)  # "no value" in day/second arrays (negative days are real: births before 1970)


@dataclass
class Defect:
    row: int  # 0-based data row
    field: str
    kind: str


def canonical_table(entity_name: str, data: dict[str, Any]) -> pa.Table:
    """Typed Arrow table of an entity from generator arrays (:data:`MISSING` date, NaN number = null)."""
    ent = entity(entity_name)
    cols = {}
    for name, values in data.items():
        ftype = ent.field(name).dtype
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            cols[name] = values
        elif ftype == "date":
            cols[name] = pa.array(
                np.asarray(values).astype("datetime64[D]"), pa.date32(), mask=np.asarray(values) <= MISSING
            )
        elif ftype == "datetime":
            cols[name] = pa.array(
                np.asarray(values).astype("datetime64[s]"), pa.timestamp("s"), mask=np.asarray(values) <= MISSING
            )
        elif ftype == "float":
            cols[name] = pa.array(np.asarray(values, dtype=np.float64), pa.float64(), from_pandas=True)
        else:
            cols[name] = pa.array(values)
    return pa.table(cols)


def _mapped(col: Col, values: Any) -> Any:
    if not col.values:
        return values
    codes = pa.array(list(col.values), pa.string())
    return pa.array(list(col.values.values()), pa.string()).take(pc.index_in(values, value_set=codes))


def _text(col: Col, values: Any, fmt: str) -> Any:
    """A column as the strings a text extract holds; None stays null."""
    t = values.type
    if pa.types.is_date32(t):
        return pc.strftime(pc.cast(values, pa.timestamp("s")), format=col.date_format or "%Y-%m-%d")
    if pa.types.is_timestamp(t):
        default = "%Y-%m-%dT%H:%M:%S" if fmt == "jsonl" else "%Y-%m-%d %H:%M:%S"
        return pc.strftime(values, format=col.date_format or default)
    if pa.types.is_string(t):
        return values
    return pc.cast(values, pa.string())


def _json_fragment(values: Any) -> Any:
    """JSON text of each value: strings quoted and escaped, numbers bare, null as null."""
    if pa.types.is_string(values.type):
        escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
        out = pc.binary_join_element_wise('"', escaped, '"', "")
    elif pa.types.is_boolean(values.type):
        out = pc.if_else(values, "true", "false")
    else:
        out = pc.cast(values, pa.string())
    return pc.fill_null(out, "null")


def render(lay: Layout, table: pa.Table) -> dict[str, Any]:
    """Header -> rendered column (text for csv, JSON fragments for jsonl, typed otherwise)."""
    out = {}
    for col in lay.columns:
        values = _mapped(col, table.column(col.field).combine_chunks())
        if lay.format in ("csv", "jsonl"):
            is_date = pa.types.is_date32(values.type) or pa.types.is_timestamp(values.type)
            values = _text(col, values, lay.format) if (lay.format == "csv" or is_date) else values
            if lay.format == "jsonl":
                values = _json_fragment(values)
        out[col.header] = values
    return out


def _cell(lay: Layout, col: Col, value: Any) -> Any:
    """A bad value as the rendered column holds it."""
    if lay.format == "jsonl":
        return (
            "null"
            if value is None
            else json.dumps(value.isoformat() if isinstance(value, date) else value, ensure_ascii=False)
        )
    if lay.format == "csv" and isinstance(value, date):
        return value.strftime(col.date_format or "%Y-%m-%d")
    return value


def _bad_value(rng: np.random.Generator, lay: Layout, col: Col, kind: str, current: Any, as_of: date) -> Any:
    if kind == "id_checksum":
        chars = "0123456789X"
        return current[:-1] + chars[(chars.index(current[-1]) + 1 + int(rng.integers(0, 10))) % 11]
    if kind == "impossible_date":
        y = int(rng.integers(2016, as_of.year))
        mm, dd = ("02", "30") if rng.random() < 0.5 else ("13", "05")
        fmt = col.date_format or ("%Y-%m-%d %H:%M:%S" if col.field == "created_at" else "%Y-%m-%d")
        if lay.format == "jsonl" and col.field == "created_at":
            fmt = "%Y-%m-%dT%H:%M:%S"
        return (
            fmt.replace("%Y", str(y))
            .replace("%m", mm)
            .replace("%d", dd)
            .replace("%H", "10")
            .replace("%M", "15")
            .replace("%S", "00")
        )
    if kind == "future_birth_date":
        return as_of + timedelta(days=int(rng.integers(30, 3000)))
    if kind == "non_numeric":
        return NON_NUMERIC[int(rng.integers(0, len(NON_NUMERIC)))]
    if kind == "bad_phone":
        digits = "".join(str(d) for d in rng.integers(0, 10, 9))
        return "12" + digits if rng.random() < 0.5 else str(current)[:10]
    if kind == "bad_enum":
        return BAD_ENUM[col.field]
    return None  # blank_required


def _applicable(lay: Layout, kind: str, row: dict[str, Any]) -> bool:
    fld = DEFECT_FIELDS[lay.entity][kind]
    col = lay.column(fld)
    if col is None or (kind in TEXT_ONLY and lay.format == "parquet"):
        return False
    if kind == "id_checksum":
        return isinstance(row.get("id_number"), str) and len(row["id_number"].strip('"')) == 18
    if kind == "future_birth_date":
        return lay.column("id_number") is None or row.get("id_number") in (None, "null")
    if kind == "bad_phone":
        return row.get("phone") not in (None, "null", "")
    return True


def inject_defects(
    rng: np.random.Generator, lay: Layout, cols: dict[str, Any], share: float, as_of: date
) -> list[Defect]:
    """Make ``share`` of the rows invalid in exactly one way each; returns what was done."""
    if lay.entity not in DEFECT_FIELDS or share <= 0:
        return []
    n = len(next(iter(cols.values())))
    k = min(n, round(n * share))
    rows = np.sort(rng.choice(n, size=k, replace=False)) if k else np.zeros(0, np.int64)
    look = {f: lay.column(f) for f in ("id_number", "phone")}
    peek = {f: cols[c.header].take(pa.array(rows)).to_pylist() for f, c in look.items() if c is not None}
    kinds = list(DEFECT_FIELDS[lay.entity])
    changes: dict[str, dict[int, Any]] = {}
    defects = []
    for i, r in enumerate(rows):
        row = {f: v[i] for f, v in peek.items()}
        if lay.format == "jsonl":
            row = {f: (json.loads(v) if isinstance(v, str) else v) for f, v in row.items()}
        options = [kd for kd in kinds if _applicable(lay, kd, row)]
        kind = options[int(rng.integers(0, len(options)))]
        col = lay.column(DEFECT_FIELDS[lay.entity][kind])
        assert col is not None
        value = _bad_value(rng, lay, col, kind, row.get(col.field), as_of)
        changes.setdefault(col.header, {})[int(r)] = _cell(lay, col, value)
        defects.append(Defect(int(r), col.field, kind))
    for header, by_row in changes.items():
        if lay.format == "xlsx":
            cells = cols[header].to_pylist()
            for r, v in by_row.items():
                cells[r] = v
            cols[header] = cells
        else:
            cols[header] = _replace(cols[header], by_row)
    return defects


def _replace(values: Any, by_row: dict[int, Any]) -> Any:
    idx = sorted(by_row)
    mask = np.zeros(len(values), dtype=bool)
    mask[idx] = True
    if pa.types.is_string(values.type) or any(isinstance(by_row[i], str) for i in idx):
        values = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        repl = pa.array([by_row[i] for i in idx], pa.string())
    else:
        repl = pa.array([by_row[i] for i in idx], values.type)
    return pc.replace_with_mask(values, pa.array(mask), repl)
