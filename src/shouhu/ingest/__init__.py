"""Ingestion: read channel extracts, map and validate each row, quarantine bad rows, load atomically."""

from shouhu.ingest.load import FileResult, files_for_source, ingest_file, plan_book
from shouhu.ingest.mapping import SourceMapping, available_sources, load_mapping, load_mapping_file

__all__ = [
    "FileResult",
    "SourceMapping",
    "available_sources",
    "files_for_source",
    "ingest_file",
    "load_mapping",
    "load_mapping_file",
    "plan_book",
]
