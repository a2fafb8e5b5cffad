"""Source mappings: how one channel's extracts map onto the canonical entities.

A mapping is a TOML file a user edits for their own extracts. Shipped mappings for the
synthetic channels live in ``shouhu/ingest/mappings/``; a user's own go in
``<data_dir>/mappings/`` (or any path given with ``--mapping``). See docs/ingest.md.

    source = "agent_crm"
    channel = "agent"
    zh = "个险代理人CRM"

    [extracts.party]
    files = ["customers*.csv"]          # file-name globs that select this extract
    encoding = "auto"                   # auto | utf-8 | gbk | gb18030 | ...
    [extracts.party.columns]            # canonical field = column in the file
    record_id = "客户编号"
    [extracts.party.constants]          # canonical field = fixed value
    channel = "agent"
    [extracts.party.values.gender]      # value in the file = canonical code
    "男" = "M"
    [extracts.party.date_formats]       # strptime format where not ISO
    birth_date = "%Y%m%d"
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from shouhu.errors import MappingError, UnknownName
from shouhu.model.schema import Entity, entity

SHIPPED_DIR = Path(__file__).parent / "mappings"
FORMATS = ("csv", "xlsx", "parquet", "jsonl")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".jsonl": "jsonl",
               ".ndjson": "jsonl", ".json": "jsonl"}


@dataclass(frozen=True)
class ExtractMapping:
    entity: Entity
    files: tuple[str, ...]
    columns: dict[str, str]
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    encoding: str = "auto"
    format: str | None = None
    sheet: str | None = None

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name, pattern) for pattern in self.files)


@dataclass(frozen=True)
class SourceMapping:
    source: str
    channel: str | None
    zh: str
    extracts: dict[str, ExtractMapping]
    path: Path

    def extract(self, entity_name: str) -> ExtractMapping:
        try:
            return self.extracts[entity_name]
        except KeyError:
            raise UnknownName(f"entity for source {self.source!r}", entity_name, list(self.extracts)) from None

    def extract_for_file(self, file_name: str) -> ExtractMapping:
        hits = [m for m in self.extracts.values() if m.matches(file_name)]
        if len(hits) != 1:
            what = "no extract" if not hits else f"{len(hits)} extracts"
            raise MappingError(
                f"{what} of source {self.source!r} match file {file_name!r}; pass --entity "
                f"(one of: {', '.join(self.extracts)}) or fix 'files' in {self.path}",
                file=file_name,
            )
        return hits[0]


def file_format(path: Path, declared: str | None = None) -> str:
    if declared:
        return declared
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise MappingError(f"{path}: cannot tell the format from the extension {path.suffix!r}; "
                           f"set 'format' in the mapping (one of: {', '.join(FORMATS)})", file=str(path))
    return fmt


def _parse_extract(source: str, name: str, raw: dict[str, object], path: Path) -> ExtractMapping:
    ent = entity(name)
    where = f"{path} [extracts.{name}]"
    columns = dict(raw.get("columns", {}))  # type: ignore[call-overload]
    constants = {k: str(v) for k, v in dict(raw.get("constants", {})).items()}  # type: ignore[call-overload]
    unknown = sorted((set(columns) | set(constants)) - set(ent.field_names))
    if unknown:
        raise MappingError(f"{where}: unknown canonical fields {unknown}; valid: {ent.field_names}", file=str(path))
    missing = [f for f in ent.required if f not in columns and f not in constants]
    if missing:
        raise MappingError(f"{where}: required canonical fields not mapped: {missing}", file=str(path))
    values = {k: {str(a): str(b) for a, b in v.items()} for k, v in dict(raw.get("values", {})).items()}  # type: ignore[call-overload]
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise MappingError(f"{where}: format {fmt!r} is not one of {FORMATS}", file=str(path))
    files = raw.get("files", [f"{name}*"])
    return ExtractMapping(
        entity=ent,
        files=tuple(files),  # type: ignore[arg-type]
        columns={k: str(v) for k, v in columns.items()},
        constants=constants,
        values=values,
        date_formats={k: str(v) for k, v in dict(raw.get("date_formats", {})).items()},  # type: ignore[call-overload]
        encoding=str(raw.get("encoding", "auto")),
        format=str(fmt) if fmt else None,
        sheet=str(raw["sheet"]) if raw.get("sheet") else None,
    )


def load_mapping_file(path: Path) -> SourceMapping:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"mapping file not found: {path}", file=str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise MappingError(f"{path}: not valid TOML: {e}", file=str(path)) from e
    source = raw.get("source") or path.stem
    extracts = {
        name: _parse_extract(source, name, spec, path) for name, spec in raw.get("extracts", {}).items()
    }
    if not extracts:
        raise MappingError(f"{path}: no [extracts.<entity>] sections", file=str(path))
    return SourceMapping(source=source, channel=raw.get("channel"), zh=raw.get("zh", source),
                         extracts=extracts, path=path)


def mapping_dirs(extra_dir: Path | None = None) -> list[Path]:
    """User mappings first so that they can override a shipped one of the same name."""
    return [d for d in (extra_dir, SHIPPED_DIR) if d is not None]


def available_sources(extra_dir: Path | None = None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in reversed(mapping_dirs(extra_dir)):
        if directory.is_dir():
            found.update({p.stem: p for p in sorted(directory.glob("*.toml"))})
    return found


def load_mapping(source: str, extra_dir: Path | None = None) -> SourceMapping:
    """Find the mapping for ``source`` by name, or load it from a path ending in .toml."""
    if source.endswith(".toml"):
        return load_mapping_file(Path(source))
    sources = available_sources(extra_dir)
    if source not in sources:
        raise UnknownName("source", source, list(sources))
    return load_mapping_file(sources[source])
