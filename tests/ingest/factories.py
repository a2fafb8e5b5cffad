"""Small builders for reader and validation tests: real files in real encodings, mappings, chunks, IDs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from shouhu.ingest.mapping import ExtractMapping
from shouhu.ingest.readers import Chunk
from shouhu.model.schema import entity

# GB 11643-1999: weights of the 17 body digits and the check character for (sum mod 11)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

# The party columns as a channel CRM names them.
PARTY_COLUMNS = {
    "record_id": "客户编号",
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "id_number": "身份证号",
    "phone": "手机",
    "annual_income": "年收入",
}


def id_check_char(body17: str) -> str:
    """The check character of an 18-digit resident ID, computed from the standard's weights."""
    assert len(body17) == 17 and body17.isdigit(), body17
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def make_id_number(region: str = "110105", birth: date = date(1949, 12, 31), seq: int = 2) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + id_check_char(body)


def make_id_number_15(region: str = "110105", birth: date = date(1949, 12, 31), seq: int = 2) -> str:
    """The old 15-digit form: two-digit year, no check character."""
    return f"{region}{birth:%y%m%d}{seq:03d}"


def make_extract_mapping(entity_name: str = "party", **overrides: Any) -> ExtractMapping:
    """A party mapping like the shipped CRM ones; any ExtractMapping field can be overridden."""
    defaults: dict[str, Any] = {}
    if entity_name == "party":
        defaults = {
            "columns": dict(PARTY_COLUMNS),
            "constants": {"channel": "agent"},
            "values": {"gender": {"男": "M", "女": "F"}},
        }
    kwargs: dict[str, Any] = {"entity": entity(entity_name), "files": ("*.csv",), "columns": {}, **defaults}
    kwargs.update(overrides)
    return ExtractMapping(**kwargs)


def make_chunk(records: Sequence[dict[str, Any]], row_numbers: Sequence[int] | None = None,
               broken: Iterable[tuple[int, str, str]] = ()) -> Chunk:
    """A chunk of text records as a CSV reader would hand them over (header = line 1)."""
    df = pd.DataFrame.from_records(list(records)).astype(object)
    numbers = list(row_numbers) if row_numbers is not None else list(range(2, 2 + len(records)))
    return Chunk(df, numbers, list(broken))


def party_record(**overrides: Any) -> dict[str, Any]:
    """One valid party record keyed by the file's (Chinese) column names; override by canonical name."""
    values = {
        "record_id": "C001",
        "name": "张伟",
        "gender": "男",
        "birth_date": "1949-12-31",
        "id_number": make_id_number(),
        "phone": "13800138000",
        "annual_income": "120000",
    }
    values.update(overrides)
    return {PARTY_COLUMNS[k]: v for k, v in values.items()}


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_jsonl(path: Path, lines: Iterable[Any | str], encoding: str = "utf-8") -> Path:
    """Objects are dumped as JSON; strings are written verbatim (for blank and broken lines)."""
    text = "".join((ln if isinstance(ln, str) else json.dumps(ln, ensure_ascii=False)) + "\n" for ln in lines)
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """One worksheet per entry, in order; rows are appended as given (None = empty cell)."""
    from openpyxl import Workbook

    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return path
