"""Segments: a rule (plus optional required tags) over customer_360; count, list and export members.

Sensitive columns (``sensitive=True`` in :data:`shouhu.model.marts.CUSTOMER_360`, e.g. income and
claims paid) never leave in clear unless the caller passes ``include_sensitive=True``. This module
does not decide who may do that: the web layer grants it only with a permission and audits each
use (docs/segments.md). A rule may still *filter* on a sensitive column; ``Rule.sensitive_columns``
tells the caller so it can audit that too.
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv

from shouhu.errors import InvalidInput, UnknownName
from shouhu.model.marts import CUSTOMER_360
from shouhu.privacy.csv_export import neutralise_arrow
from shouhu.segments.compile import compile_rule
from shouhu.segments.rules import Rule, parse_rule
from shouhu.segments.tags import TagLibrary, customer_360, load_tag_library, run_in_engine

SENSITIVE_COLUMNS = frozenset(f.name for f in CUSTOMER_360.fields if f.sensitive)
EXPORT_FORMATS = ("csv", "xlsx")
EXCEL_MAX_ROWS = 1_048_575  # a sheet holds 1,048,576 rows, one is the header
Header = Literal["code", "zh"]


@dataclass(frozen=True)
class Segment:
    """A named rule. ``tags`` are tag codes a member must also carry (their rules are ANDed in)."""

    name: str
    rule: str
    description: str = ""
    tags: tuple[str, ...] = ()
    saved_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rule": self.rule, "description": self.description, "tags": list(self.tags),
                "saved_at": self.saved_at}


SegmentLike = str | Rule | Segment


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    rows: int
    columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "rows": self.rows, "columns": self.columns}


def segment_filter(customers: Any, segment: SegmentLike, *, tags: Sequence[str] = (),
                   library: TagLibrary | None = None) -> Any:
    """The Ibis boolean for ``segment`` over a customer_360 table (pure; nothing runs)."""
    return _predicate(customers, _rules(segment, tags, library))


def _rules(segment: SegmentLike, tags: Sequence[str], library: TagLibrary | None) -> list[Rule]:
    """The segment's rule and the rules of its required tags, all checked before any table is touched."""
    if isinstance(segment, Segment):
        rule, codes = parse_rule(segment.rule), list(dict.fromkeys([*segment.tags, *tags]))
    else:
        rule, codes = (segment if isinstance(segment, Rule) else parse_rule(segment)), list(dict.fromkeys(tags))
    if not codes:
        return [rule]
    library = library if library is not None else load_tag_library()
    return [rule, *(library.get(code).rule for code in codes)]


def _predicate(customers: Any, rules: list[Rule]) -> Any:
    predicate = compile_rule(rules[0], customers)
    for rule in rules[1:]:
        predicate = predicate & compile_rule(rule, customers)
    return predicate


def count_segment(wh: Any, segment: SegmentLike, *, tags: Sequence[str] = (),
                  library: TagLibrary | None = None) -> int:
    """How many customers the segment holds."""
    rules = _rules(segment, tags, library)
    customers = customer_360(wh)
    expr = customers.filter(_predicate(customers, rules)).count()
    return int(run_in_engine(wh, "count a segment", expr.execute))


def export_columns(columns: Iterable[str] | None = None, *, include_sensitive: bool = False) -> list[str]:
    """The columns to show: the ones asked for (checked) or every customer_360 column that is allowed."""
    valid = CUSTOMER_360.field_names
    if columns is None:
        return [c for c in valid if include_sensitive or c not in SENSITIVE_COLUMNS]
    chosen = list(dict.fromkeys(columns))
    for name in chosen:
        if name not in valid:
            raise UnknownName("customer_360 column", name, valid)
        if name in SENSITIVE_COLUMNS and not include_sensitive:
            raise InvalidInput(f"{name} is sensitive personal information (个人敏感信息) and is not exported in "
                               "clear; pass include_sensitive=True (the web layer allows it only with an "
                               "audited permission)", column=name)
    if not chosen:
        raise InvalidInput("choose at least one column")
    return chosen


def _members_expr(wh: Any, segment: SegmentLike, columns: Iterable[str] | None, tags: Sequence[str],
                  include_sensitive: bool, library: TagLibrary | None) -> tuple[Any, list[str]]:
    rules = _rules(segment, tags, library)
    wanted = export_columns(columns, include_sensitive=include_sensitive)
    customers = customer_360(wh)
    cols = [c for c in wanted if c in customers.columns]
    expr = customers.filter(_predicate(customers, rules))
    return expr.select(*cols).order_by("customer_id" if "customer_id" in cols else cols[0]), cols


def segment_members(wh: Any, segment: SegmentLike, columns: Iterable[str] | None = None, *,
                    tags: Sequence[str] = (), include_sensitive: bool = False, library: TagLibrary | None = None,
                    limit: int | None = None) -> pa.Table:
    """The members as a pyarrow table, ordered by customer_id, sensitive columns left out by default."""
    expr, _ = _members_expr(wh, segment, columns, tags, include_sensitive, library)
    if limit is not None:
        expr = expr.limit(limit)
    result: pa.Table = run_in_engine(wh, "read segment members", expr.to_pyarrow)
    return result


def export_segment(wh: Any, segment: SegmentLike, path: Path | str, *, columns: Iterable[str] | None = None,
                   tags: Sequence[str] = (), include_sensitive: bool = False, header: Header = "code",
                   library: TagLibrary | None = None) -> ExportResult:
    """Write the members to ``path``: ``.csv`` (UTF-8 with BOM, so Excel reads Chinese) or ``.xlsx``.

    ``header="zh"`` writes the Chinese column labels instead of the codes. The file appears only
    when complete (written beside it, then renamed).
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise UnknownName("export format (file extension)", fmt or path.name, list(EXPORT_FORMATS))
    expr, cols = _members_expr(wh, segment, columns, tags, include_sensitive, library)
    names = [CUSTOMER_360.field(c).zh for c in cols] if header == "zh" else cols
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        batches = run_in_engine(wh, "read segment members", lambda: expr.to_pyarrow_batches(chunk_size=50_000))
        rows = _write_csv(batches, partial, names) if fmt == "csv" else _write_xlsx(batches, partial, names)
        partial.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return ExportResult(path, fmt, rows, cols)


def _write_csv(batches: pa.RecordBatchReader, path: Path, names: list[str]) -> int:
    rows = 0
    with path.open("wb") as f:
        f.write(codecs.BOM_UTF8)
        writer: pacsv.CSVWriter | None = None
        for batch in batches:
            safe = pa.RecordBatch.from_arrays([neutralise_arrow(c) for c in batch.columns], names=names)
            if writer is None:
                writer = pacsv.CSVWriter(f, safe.schema)
            writer.write_batch(safe)
            rows += safe.num_rows
        if writer is None:  # no members: still write the header line
            f.write((",".join(f'"{n}"' for n in names) + "\n").encode("utf-8"))
        else:
            writer.close()
    return rows


def _write_xlsx(batches: pa.RecordBatchReader, path: Path, names: list[str]) -> int:
    import xlsxwriter  # no stubs; pyproject mypy overrides could list it

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    try:
        sheet = book.add_worksheet("segment")
        bold = book.add_format({"bold": True})
        day, moment = book.add_format({"num_format": "yyyy-mm-dd"}), book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.freeze_panes(1, 0)
        for j, name in enumerate(names):
            sheet.write_string(0, j, name, bold)
            sheet.set_column(j, j, max(10, min(30, len(name) * 2)))
        rows = 0
        for batch in batches:
            if rows + batch.num_rows > EXCEL_MAX_ROWS:
                raise InvalidInput(f"the segment has more than {EXCEL_MAX_ROWS:,} rows, more than an Excel sheet "
                                   "holds; export to .csv instead")
            for record in batch.to_pylist():
                rows += 1
                for j, value in enumerate(record.values()):
                    _write_cell(sheet, rows, j, value, day, moment)
    finally:
        book.close()
    return rows


def _write_cell(sheet: Any, row: int, col: int, value: object, day: Any, moment: Any) -> None:
    if value is None or (isinstance(value, float) and value != value):  # NaN: leave the cell empty
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), moment)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), day)
    else:  # write_string, never write(): text starting with '=' must stay text
        sheet.write_string(row, col, str(value))
