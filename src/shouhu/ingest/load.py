"""Load extract files into the warehouse: atomic per file, idempotent, nothing lost.

For each file: read it in chunks → validate each chunk → write good rows and quarantined rows to
two staging tables → in ONE transaction, move both into ``src_<entity>`` and
``ingest_quarantine`` and record the file in ``ingest_file``. A process killed at any point
leaves either the whole file or nothing visible; the next run drops the stale staging tables and
loads the file again. Files are identified by the SHA-256 of their bytes, so loading the same
file twice (under any name) adds nothing. ``rows_in = rows_loaded + rows_quarantined`` always.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from shouhu.errors import ShouhuError, SourceFileError
from shouhu.ingest.mapping import ExtractMapping, SourceMapping, file_format, load_mapping
from shouhu.ingest.readers import count_rows_hint, read_file
from shouhu.ingest.validate import Problem, arrow_schema, check_columns, validate_chunk
from shouhu.model.masking import mask
from shouhu.model.schema import Entity
from shouhu.storage.warehouse import Warehouse, quote_ident, sql_literal

FILE_TABLE = "ingest_file"
QUARANTINE_TABLE = "ingest_quarantine"
FILE_SCHEMA = pa.schema([
    ("file_id", pa.string()), ("source", pa.string()), ("entity", pa.string()), ("file_name", pa.string()),
    ("file_path", pa.string()), ("file_bytes", pa.int64()), ("encoding", pa.string()),
    ("rows_in", pa.int64()), ("rows_loaded", pa.int64()), ("rows_quarantined", pa.int64()),
    ("loaded_at", pa.timestamp("us")), ("seconds", pa.float64()),
    ("rows_duplicate", pa.int64()), ("extra_columns", pa.string()),  # added later: see ensure_ingest_tables
])
LATER_FILE_COLUMNS = pa.schema([FILE_SCHEMA.field("rows_duplicate"), FILE_SCHEMA.field("extra_columns")])
QUARANTINE_SCHEMA = pa.schema([
    ("file_id", pa.string()), ("source", pa.string()), ("entity", pa.string()), ("file_name", pa.string()),
    ("row_number", pa.int64()), ("field", pa.string()), ("reason", pa.string()), ("value", pa.string()),
    ("raw_record", pa.string()),
])
Progress = Callable[[int], None]
DUPLICATE_REASON = "duplicate"  # quarantine reasons of repeated keys start with this word
log = logging.getLogger("shouhu.ingest")


@dataclass(frozen=True)
class FileResult:
    file: str
    source: str
    entity: str
    file_id: str
    status: str  # "loaded" | "skipped" (already loaded)
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    seconds: float
    rows_duplicate: int = 0  # of rows_quarantined: rows repeating the key of an earlier row of the file
    extra_columns: tuple[str, ...] = ()  # columns of the file that the mapping does not use (ignored)

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"extra_columns": list(self.extra_columns), "warnings": self.warnings()}

    def warnings(self) -> list[str]:
        """What loaded but deserves a look: repeated keys (quarantined) and ignored columns."""
        out = []
        if self.rows_duplicate:
            out.append(f"{self.file}: {self.rows_duplicate} rows repeat the key of an earlier row and were "
                       f"quarantined (the first occurrence was loaded); see `shouhu quarantine`")
        if self.extra_columns:
            out.append(f"{self.file}: columns not in the mapping were ignored: {', '.join(self.extra_columns)}")
        return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _crash_point(name: str) -> None:
    """Fault injection for the crash tests: SHOUHU_FAULT_INJECT=<point> kills the process here."""
    if os.environ.get("SHOUHU_FAULT_INJECT") == name:
        os._exit(77)


def ensure_ingest_tables(wh: Warehouse) -> None:
    if wh.has_table(FILE_TABLE):  # made by a version without the duplicate and extra-column counts
        wh.add_missing_columns(FILE_TABLE, LATER_FILE_COLUMNS)
    wh.ensure_table(FILE_TABLE, FILE_SCHEMA)
    wh.ensure_table(QUARANTINE_TABLE, QUARANTINE_SCHEMA)


def _extra(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()


def already_loaded(wh: Warehouse, file_id: str, source: str, entity: str) -> FileResult | None:
    rows = wh.query(
        f"SELECT file_name, rows_in, rows_loaded, rows_quarantined, rows_duplicate, extra_columns FROM {FILE_TABLE} "
        f"WHERE file_id = {sql_literal(file_id)} AND source = {sql_literal(source)} "
        f"AND entity = {sql_literal(entity)}"
    )
    if not rows:
        return None
    name, rows_in, loaded, quarantined, duplicate, extra = rows[0]
    return FileResult(name, source, entity, file_id, "skipped", rows_in, loaded, quarantined, 0.0,
                      int(duplicate or 0), _extra(extra))


def extra_columns(columns: list[str], extract: ExtractMapping) -> tuple[str, ...]:
    """The file's columns that no field of the mapping reads, in file order."""
    used = set(extract.columns.values())
    return tuple(c for c in columns if c not in used)


def _quarantine_duplicates(wh: Warehouse, stage: str, stage_q: str, ent: Entity, file_id: str,
                           source: str, name: str) -> int:
    """Move every staged row whose key repeats an earlier row's (by row number) to the quarantine.

    The first occurrence is loaded; each later one is quarantined with the key, the row number of the
    first and whether it is an identical copy or differs. Runs in the engine (one window query), so a
    million-row file without duplicates costs one scan. Returns the number of rows moved."""
    key = ent.key
    if not key:
        return 0
    sensitive = {k for k in key if ent.field(k).sensitive}
    keys = ", ".join(quote_ident(k) for k in key)
    not_null = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in key)
    columns = list(wh.table(stage).columns)
    ranked = (f"SELECT *, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY _row_number) AS _rn, "
              f"MIN(_row_number) OVER (PARTITION BY {keys}) AS _first FROM {quote_ident(stage)} WHERE {not_null}")
    rows = wh.query(f"SELECT {', '.join(quote_ident(c) for c in columns)}, _rn, _first FROM ({ranked}) AS r "
                    f"WHERE _first IN (SELECT _first FROM ({ranked}) AS d WHERE _rn > 1) "
                    f"ORDER BY _first, _rn")
    if not rows:
        return 0
    firsts: dict[int, dict[str, object]] = {}
    problems: list[Problem] = []
    content = [c for c in columns if c not in ("_row_number",)]
    for row in rows:
        record = dict(zip(columns, row[:len(columns)], strict=True))
        rank, first = int(row[-2]), int(row[-1])
        if rank == 1:
            firsts[first] = record
            continue
        same = all(record[c] == firsts[first][c] for c in content)
        shown = ", ".join(f"{k}={_shown(sensitive, k, record[k])}" for k in key)
        reason = (f"{DUPLICATE_REASON} {'+'.join(key)} {shown}: {'identical copy' if same else 'different values'} "
                  f"of row {first}, which was loaded")
        raw = json.dumps({k: v for k, v in record.items() if not k.startswith("_")}, ensure_ascii=False, default=str)
        problems.append(Problem(int(str(record["_row_number"])), "+".join(key), reason, shown, raw))
    wh.write_table(stage_q, _problems_table(problems, file_id, source, ent.name, name), append=True)
    with wh.transaction() as tx:
        tx.execute(f"DELETE FROM {quote_ident(stage)} WHERE _row_number IN "
                   f"(SELECT _row_number FROM ({ranked}) AS d WHERE _rn > 1)")
    return len(problems)


def _shown(sensitive: set[str], field: str, value: object) -> str:
    return mask(field, str(value)) if field in sensitive else str(value)


def _problems_table(problems: list[Problem], file_id: str, source: str, entity: str, name: str) -> pa.Table:
    return pa.Table.from_pydict({
        "file_id": [file_id] * len(problems), "source": [source] * len(problems),
        "entity": [entity] * len(problems), "file_name": [name] * len(problems),
        "row_number": [p.row_number for p in problems], "field": [p.field for p in problems],
        "reason": [p.reason for p in problems], "value": [p.value for p in problems],
        "raw_record": [p.raw for p in problems],
    }, schema=QUARANTINE_SCHEMA)


def ingest_file(
    wh: Warehouse,
    path: Path,
    mapping: SourceMapping,
    extract: ExtractMapping | None = None,
    *,
    encoding: str | None = None,
    as_of: date | None = None,
    chunk_rows: int = 100_000,
    progress: Progress | None = None,
) -> FileResult:
    """Load one file as one extract of one source. See the module docstring for the guarantees."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise SourceFileError(f"{path}: no such file", file=str(path))
    extract = extract or mapping.extract_for_file(path.name)
    ent = extract.entity
    source = mapping.source
    file_id = file_sha256(path)
    ensure_ingest_tables(wh)
    previous = already_loaded(wh, file_id, source, ent.name)
    if previous is not None:
        return previous
    fmt = file_format(path, extract.format)
    enc = encoding or extract.encoding
    stage, stage_q = f"_stage_{file_id[:16]}", f"_stageq_{file_id[:16]}"
    for name in (stage, stage_q):  # left over by a run that died before its commit
        wh.drop_table(name)
    wh.ensure_table(stage, arrow_schema(ent))
    wh.ensure_table(stage_q, QUARANTINE_SCHEMA)
    rows_in = loaded = quarantined = 0
    columns_checked = False
    extra: tuple[str, ...] = ()
    for chunk in read_file(path, fmt, encoding=enc, sheet=extract.sheet, chunk_rows=chunk_rows):
        if not columns_checked and len(chunk.records.columns):
            check_columns([str(c) for c in chunk.records.columns], extract, str(path))
            extra = extra_columns([str(c) for c in chunk.records.columns], extract)
            columns_checked = True
        result = validate_chunk(chunk, extract, source=source, file_id=file_id, as_of=as_of or date.today())
        if result.rows.num_rows:
            wh.write_table(stage, result.rows, append=True)
        if result.problems:
            wh.write_table(stage_q, _problems_table(result.problems, file_id, source, ent.name, path.name),
                           append=True)
        chunk_in = len(chunk.records) + len(chunk.broken)
        rows_in += chunk_in
        loaded += result.rows.num_rows
        quarantined += result.rejected_rows
        if progress:
            progress(chunk_in)
    duplicate = _quarantine_duplicates(wh, stage, stage_q, ent, file_id, source, path.name)
    loaded -= duplicate
    quarantined += duplicate
    if rows_in != loaded + quarantined:  # a bug, never a data problem
        raise ShouhuError(f"{path}: accounting mismatch {rows_in} != {loaded} + {quarantined}")
    _crash_point("after_stage")
    wh.ensure_table(ent.table, arrow_schema(ent))
    seconds = round(time.perf_counter() - started, 3)
    record = {
        "file_id": file_id, "source": source, "entity": ent.name, "file_name": path.name,
        "file_path": str(path.resolve()), "file_bytes": path.stat().st_size, "encoding": enc,
        "rows_in": rows_in, "rows_loaded": loaded, "rows_quarantined": quarantined,
        "loaded_at": datetime.now().replace(microsecond=0).isoformat(sep=" "), "seconds": seconds,
        "rows_duplicate": duplicate, "extra_columns": json.dumps(list(extra), ensure_ascii=False) if extra else None,
    }
    _commit(wh, ent.table, stage, stage_q, [f.name for f in arrow_schema(ent)], record)
    wh.analyze(ent.table)
    done = FileResult(path.name, source, ent.name, file_id, "loaded", rows_in, loaded, quarantined, seconds,
                      duplicate, extra)
    for warning in done.warnings():  # counts and column names only: never a personal value
        log.warning("%s", warning)
    return done


def _commit(wh: Warehouse, target: str, stage: str, stage_q: str, columns: list[str],
            record: dict[str, object]) -> None:
    cols = ", ".join(quote_ident(c) for c in columns)
    qcols = ", ".join(quote_ident(c) for c in QUARANTINE_SCHEMA.names)
    fid = sql_literal(record["file_id"])
    source, entity = sql_literal(record["source"]), sql_literal(record["entity"])
    where_q = f"file_id = {fid} AND source = {source} AND entity = {entity}"
    values = ", ".join(sql_literal(record[c]) for c in FILE_SCHEMA.names)
    with wh.transaction() as tx:
        tx.execute(f"DELETE FROM {quote_ident(target)} WHERE _file_id = {fid} "
                   f"AND _source = {sql_literal(record['source'])}")
        tx.execute(f"INSERT INTO {quote_ident(target)} ({cols}) SELECT {cols} FROM {quote_ident(stage)}")
        tx.execute(f"DELETE FROM {QUARANTINE_TABLE} WHERE {where_q}")
        tx.execute(f"INSERT INTO {QUARANTINE_TABLE} ({qcols}) SELECT {qcols} FROM {quote_ident(stage_q)}")
        _crash_point("in_transaction")
        tx.execute(f"INSERT INTO {FILE_TABLE} ({', '.join(FILE_SCHEMA.names)}) VALUES ({values})")
        tx.execute(f"DROP TABLE {quote_ident(stage)}")
        tx.execute(f"DROP TABLE {quote_ident(stage_q)}")


def files_for_source(path: Path, mapping: SourceMapping) -> list[tuple[Path, ExtractMapping]]:
    """A file, or every file in a folder that one of the source's extracts claims."""
    if path.is_file():
        return [(path, mapping.extract_for_file(path.name))]
    if not path.is_dir():
        raise SourceFileError(f"{path}: no such file or folder", file=str(path))
    found = [(p, m) for p in sorted(path.iterdir()) if p.is_file()
             for m in mapping.extracts.values() if m.matches(p.name)]
    if not found:
        patterns = {name: list(m.files) for name, m in mapping.extracts.items()}
        raise SourceFileError(f"{path}: no file matches source {mapping.source!r} (patterns: {patterns})",
                              file=str(path))
    return found


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    mapping: SourceMapping
    extract: ExtractMapping
    rows_hint: int | None


def plan_book(book_dir: Path, mapping_dir: Path | None = None) -> list[PlannedFile]:
    """The extracts of a generated (or hand-made) book, in its manifest's order."""
    manifest_path = book_dir / "manifest.json"
    if not manifest_path.is_file():
        raise SourceFileError(f"{book_dir}: no manifest.json; load single files with "
                              f"'shouhu ingest FILE --source NAME'", file=str(manifest_path))
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SourceFileError(f"{manifest_path}: not valid JSON: {e}", file=str(manifest_path)) from e
    planned = []
    mappings: dict[str, SourceMapping] = {}
    for item in manifest.get("extracts", []):
        source = item["source"]
        if source not in mappings:
            mappings[source] = load_mapping(source, mapping_dir)
        mapping = mappings[source]
        path = book_dir / item["path"]
        planned.append(PlannedFile(path, mapping, mapping.extract(item["entity"]),
                                   item.get("rows") or count_rows_hint(path, file_format(path))))
    return planned
