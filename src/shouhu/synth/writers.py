"""Byte-stable writers for the four extract formats.

Determinism matters (same seed => same bytes): CSV and JSON lines carry no timestamps; Parquet
files are written without wall-clock metadata; for .xlsx the workbook's created/modified
properties and every zip entry's timestamp are pinned to :data:`FIXED_TIME`.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from shouhu.synth.layouts import Layout

FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)


def write_extract(lay: Layout, cols: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if lay.format == "csv":
        _csv(cols, path, lay.encoding or "utf-8")
    elif lay.format == "jsonl":
        _jsonl(cols, path)
    elif lay.format == "parquet":
        pq.write_table(pa.table(cols), path, compression="zstd")
    else:
        _xlsx(cols, path, lay.sheet or "Sheet1")


def _csv(cols: dict[str, Any], path: Path, encoding: str) -> None:
    buf = io.BytesIO()
    pcsv.write_csv(pa.table(cols), buf, pcsv.WriteOptions(quoting_style="needed"))
    data = buf.getvalue()
    if encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + data
    elif encoding != "utf-8":
        data = data.decode("utf-8").encode(encoding)
    path.write_bytes(data)


def _jsonl(cols: dict[str, Any], path: Path) -> None:
    import pyarrow.compute as pc

    pieces = [pc.binary_join_element_wise(f'"{name}":', frag, "") for name, frag in cols.items()]
    lines = pc.binary_join_element_wise("{", pc.binary_join_element_wise(*pieces, ","), "}", "")
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        step = 200_000
        for start in range(0, len(lines), step):
            fh.write("\n".join(lines.slice(start, step).to_pylist()))
            fh.write("\n")


def _xlsx(cols: dict[str, Any], path: Path, sheet: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "shouhu synth"
    ws = wb.create_sheet(sheet)
    ws.append(list(cols))
    columns = [c if isinstance(c, list) else c.to_pylist() for c in cols.values()]
    date_cols = [any(hasattr(v, "isoformat") for v in col[:50]) for col in columns]
    for row in zip(*columns, strict=True):
        ws.append([_xcell(ws, v, WriteOnlyCell) if d else v for v, d in zip(row, date_cols, strict=True)])
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_pin_zip(buf.getvalue()))


def _xcell(ws: Any, value: Any, cell_type: Any) -> Any:
    if not hasattr(value, "isoformat"):
        return value
    cell = cell_type(ws, value=value)
    cell.number_format = "yyyy-mm-dd" if not hasattr(value, "hour") else "yyyy-mm-dd hh:mm:ss"
    return cell


def _pin_zip(data: bytes) -> bytes:
    """Rewrite an .xlsx with fixed entry timestamps and a fixed modified date (openpyxl uses now)."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    body,
                )
            dst.writestr(
                zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6]),
                body,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()
