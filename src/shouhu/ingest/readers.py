"""Readers: turn one extract file into chunks of raw records with their row numbers.

Every reader yields :class:`Chunk` objects: a DataFrame of the file's own columns (values as the
file holds them: text for CSV/JSON, native types for Parquet/Excel) and the row number a user
would see for each record (CSV/Excel: the line or sheet row, header = 1; JSON lines: the line;
Parquet: 1-based row index). Records a reader cannot parse at all are returned as ``broken``
rows so the loader can quarantine them instead of dropping them.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from shouhu.errors import EncodingError, SourceFileError

SNIFF_BYTES = 1 << 20


@dataclass
class Chunk:
    records: pd.DataFrame
    row_numbers: list[int]
    # (row_number, reason, raw text) for records that could not be parsed into columns
    broken: list[tuple[int, str, str]] = field(default_factory=list)


def _samples(path: Path) -> list[bytes]:
    """The head of the file plus blocks from its middle and end, each starting after a newline.

    A newline byte never occurs inside a UTF-8 or GB18030 multi-byte character, so every sample
    decodes on its own; sampling beyond the head catches an ASCII-only head on a GBK file.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        blocks = [fh.read(SNIFF_BYTES)]
        for offset in (size // 2, max(size - SNIFF_BYTES, 0)):
            if offset <= SNIFF_BYTES:
                continue
            fh.seek(offset)
            block = fh.read(SNIFF_BYTES)
            blocks.append(block[block.find(b"\n") + 1:])
    return blocks


def _decodes(candidate: str, samples: list[bytes]) -> bool:
    try:
        for block in samples:
            codecs.getincrementaldecoder(candidate)().decode(block, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030 (a superset of GBK and GB2312), else a best guess."""
    samples = _samples(path)
    head = samples[0]
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for candidate in ("utf-8", "gb18030"):
        if _decodes(candidate, samples):
            return candidate
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise EncodingError(f"{path}: cannot tell the text encoding; pass --encoding", file=str(path))
    return str(best.encoding)


def _normalise_encoding(name: str) -> str:
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise EncodingError(f"unknown encoding {name!r}", encoding=name) from None
    # utf-8-sig reads plain UTF-8 too and drops a BOM that would otherwise stick to the first value
    return "utf-8-sig" if canonical == "utf-8" else canonical


def locate_decode_error(path: Path, encoding: str) -> tuple[int, int]:
    """(line, byte offset) of the first bytes that are not valid ``encoding``, for the error message."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as e:
                return line_no, offset + e.start
            offset += len(line)
    return 0, offset


def _encoding_error(path: Path, enc: str, e: UnicodeDecodeError) -> EncodingError:
    line, offset = locate_decode_error(path, enc)
    return EncodingError(
        f"{path}: line {line} (byte {offset}) is not valid {enc}: {e.reason}; the file is in another "
        f"encoding: pass --encoding (e.g. gbk, gb18030, utf-8) or set 'encoding' in the mapping",
        file=str(path), encoding=enc, line=line,
    )


def read_csv(path: Path, encoding: str = "auto", chunk_rows: int = 100_000) -> Iterator[Chunk]:
    enc = detect_encoding(path) if encoding == "auto" else _normalise_encoding(encoding)
    with path.open("r", encoding=enc, newline="", errors="strict") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                raise SourceFileError(f"{path}: the file is empty (no header row)", file=str(path))
            header = [h.strip().lstrip("\ufeff") for h in header]
            _check_header(path, header)
            rows: list[list[str]] = []
            numbers: list[int] = []
            broken: list[tuple[int, str, str]] = []
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    broken.append((reader.line_num, f"expected {len(header)} columns, found {len(row)}",
                                   _requote(row)))
                else:
                    rows.append(row)
                    numbers.append(reader.line_num)
                if len(rows) + len(broken) >= chunk_rows:
                    yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), numbers, broken)
                    rows, numbers, broken = [], [], []
            if rows or broken:
                yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), numbers, broken)
        except UnicodeDecodeError as e:
            raise _encoding_error(path, enc, e) from e
        except csv.Error as e:
            raise SourceFileError(f"{path}: line {reader.line_num}: malformed CSV: {e}", file=str(path)) from e


def _check_header(path: Path, header: list[str]) -> None:
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicates:
        raise SourceFileError(f"{path}: the header repeats column names {duplicates}; rename them so that "
                              f"each column can be mapped", file=str(path))


def _requote(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    return buffer.getvalue()


def read_jsonl(path: Path, encoding: str = "auto", chunk_rows: int = 100_000) -> Iterator[Chunk]:
    enc = detect_encoding(path) if encoding == "auto" else _normalise_encoding(encoding)
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    broken: list[tuple[int, str, str]] = []
    line_no = 0
    try:
        with path.open("r", encoding=enc) as fh:
            for line_no, line in enumerate(fh, start=1):
                text = line.strip()
                if not text:
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as e:
                    broken.append((line_no, f"invalid JSON: {e.msg} at column {e.colno}", text[:2000]))
                else:
                    if isinstance(record, dict):
                        records.append(record)
                        numbers.append(line_no)
                    else:
                        broken.append((line_no, "a line must hold one JSON object", text[:2000]))
                if len(records) + len(broken) >= chunk_rows:
                    yield Chunk(pd.DataFrame.from_records(records), numbers, broken)
                    records, numbers, broken = [], [], []
    except UnicodeDecodeError as e:
        raise _encoding_error(path, enc, e) from e
    if records or broken:
        yield Chunk(pd.DataFrame.from_records(records), numbers, broken)


def read_parquet(path: Path, chunk_rows: int = 100_000) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise SourceFileError(f"{path}: not a readable Parquet file: {e}", file=str(path)) from e
    start = 1
    for batch in pf.iter_batches(batch_size=chunk_rows):
        df = batch.to_pandas(types_mapper=None)
        df = df.astype(object).where(df.notna(), None)
        yield Chunk(df, list(range(start, start + len(df))))
        start += len(df)


def _has_error_cells(path: Path) -> bool:
    """True when a worksheet holds Excel error cells (#VALUE!, #N/A, ...): ``t="e"`` in the sheet XML."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    with archive.open(name) as fh:
                        tail = b""
                        for block in iter(lambda: fh.read(1 << 20), b""):
                            if b't="e"' in tail + block:
                                return True
                            tail = block[-8:]
    except zipfile.BadZipFile:
        return False  # the reader reports the unreadable file
    return False


def read_xlsx(path: Path, sheet: str | None = None, chunk_rows: int = 100_000) -> Iterator[Chunk]:
    """Excel via calamine (Rust, about 10x faster than openpyxl), unless the file holds error cells:
    calamine reads #VALUE! as an empty cell, which would turn a bad value into a silent blank, so such
    files are read with openpyxl, which keeps the error text for the quarantine."""
    if _has_error_cells(path):
        return _read_xlsx_openpyxl(path, sheet, chunk_rows)
    return _read_xlsx_calamine(path, sheet, chunk_rows)


def _xlsx_rows(path: Path, header_row: Any, rows_iter: Iterator[Any], first_row: int,
               chunk_rows: int) -> Iterator[Chunk]:
    if header_row is None or all(v is None for v in header_row):
        raise SourceFileError(f"{path}: the sheet is empty (no header row)", file=str(path))
    header = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header_row)]
    _check_header(path, header)
    rows: list[tuple[Any, ...]] = []
    numbers: list[int] = []
    for row_no, row in enumerate(rows_iter, start=first_row + 1):
        values = tuple(row[: len(header)])
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        rows.append(values + (None,) * (len(header) - len(values)))
        numbers.append(row_no)
        if len(rows) >= chunk_rows:
            yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), numbers)
            rows, numbers = [], []
    if rows:
        yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), numbers)


def _read_xlsx_calamine(path: Path, sheet: str | None, chunk_rows: int) -> Iterator[Chunk]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as e:
        raise SourceFileError(f"{path}: not a readable Excel (.xlsx) file: {e}", file=str(path)) from e
    if sheet is not None and sheet not in wb.sheet_names:
        raise SourceFileError(f"{path}: no sheet {sheet!r}; sheets: {wb.sheet_names}", file=str(path))
    ws = wb.get_sheet_by_name(sheet or wb.sheet_names[0])
    first_row = ws.start[0] + 1 if ws.start else 1  # 1-based sheet row of the header
    blank_as_none = (tuple(None if v == "" else v for v in row) for row in ws.iter_rows())
    yield from _xlsx_rows(path, next(blank_as_none, None), blank_as_none, first_row, chunk_rows)


def _read_xlsx_openpyxl(path: Path, sheet: str | None, chunk_rows: int) -> Iterator[Chunk]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:
        raise SourceFileError(f"{path}: not a readable Excel (.xlsx) file: {e}", file=str(path)) from e
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise SourceFileError(f"{path}: no sheet {sheet!r}; sheets: {wb.sheetnames}", file=str(path))
        rows_iter = (wb[sheet] if sheet else wb.worksheets[0]).iter_rows(values_only=True)
        yield from _xlsx_rows(path, next(rows_iter, None), rows_iter, 1, chunk_rows)
    finally:
        wb.close()


def read_file(path: Path, fmt: str, *, encoding: str = "auto", sheet: str | None = None,
              chunk_rows: int = 100_000) -> Iterator[Chunk]:
    if not path.is_file():
        raise SourceFileError(f"{path}: no such file", file=str(path))
    if fmt == "csv":
        return read_csv(path, encoding, chunk_rows)
    if fmt == "jsonl":
        return read_jsonl(path, encoding, chunk_rows)
    if fmt == "parquet":
        return read_parquet(path, chunk_rows)
    if fmt == "xlsx":
        return read_xlsx(path, sheet, chunk_rows)
    raise SourceFileError(f"{path}: unsupported format {fmt!r}", file=str(path))


def count_rows_hint(path: Path, fmt: str) -> int | None:
    """A cheap estimate of the record count, for progress bars."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt in ("csv", "jsonl"):
        with path.open("rb") as fh:
            return sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b"")) - (fmt == "csv")
    return None


__all__ = ["Chunk", "count_rows_hint", "detect_encoding", "read_file"]
