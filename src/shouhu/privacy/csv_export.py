"""The one way shouhu writes CSV for people to open in a spreadsheet (console and API exports,
segment exports, channel report tables).

Every text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading apostrophe, so that Excel, WPS or LibreOffice shows it as text instead of running it as a
formula (OWASP "CSV Injection": ``=cmd|' /C calc'!A0``, ``=HYPERLINK(...)``, ``@SUM(...)``).
Numbers stay numbers. Files for Excel start with a UTF-8 byte-order mark so Chinese opens right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^[=+\-@\t\r]"  # the same, for pyarrow.compute
BOM = "\ufeff"


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def write_rows(out: IO[str], columns: Sequence[str], rows: Iterable[Mapping[str, Any]],
               header: Sequence[str] | None = None) -> int:
    """Write a header line (``header`` or the column names) and ``rows`` (only ``columns``, in that
    order; missing keys empty) to ``out``, every cell neutralised. Returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in (header or columns)])
    n = 0
    for row in rows:
        writer.writerow([neutralise(row.get(c)) for c in columns])
        n += 1
    return n


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, bom: bool = True,
             header: Sequence[str] | None = None) -> str:
    """The CSV as text (with the BOM for Excel unless ``bom=False``)."""
    buffer = io.StringIO()
    write_rows(buffer, columns, rows, header)
    return (BOM if bom else "") + buffer.getvalue()


def neutralise_arrow(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`neutralise` for a pyarrow column (text columns only; others unchanged)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    risky = pc.fill_null(pc.match_substring_regex(column, FORMULA_PATTERN), False)
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
