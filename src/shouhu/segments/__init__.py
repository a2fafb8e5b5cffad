"""Tags and segments: a safe rule language over customer_360, a tag library, segment export.

Rules are parsed and compiled to Ibis, never evaluated as Python (docs/segments.md).
"""

from shouhu.segments.compile import compile_rule
from shouhu.segments.nodes import RuleError
from shouhu.segments.rules import Rule, column_types, parse_rule
from shouhu.segments.segments import (
    EXPORT_FORMATS,
    SENSITIVE_COLUMNS,
    ExportResult,
    Segment,
    count_segment,
    export_columns,
    export_segment,
    segment_filter,
    segment_members,
)
from shouhu.segments.store import SegmentStore, list_segments, load_segment, save_segment, segment_store
from shouhu.segments.tags import SHIPPED_TAGS, Tag, TagLibrary, apply_tags, load_tag_library, tag_counts, tag_table

__all__ = [
    "EXPORT_FORMATS",
    "SENSITIVE_COLUMNS",
    "SHIPPED_TAGS",
    "ExportResult",
    "Rule",
    "RuleError",
    "Segment",
    "SegmentStore",
    "Tag",
    "TagLibrary",
    "apply_tags",
    "column_types",
    "compile_rule",
    "count_segment",
    "export_columns",
    "export_segment",
    "list_segments",
    "load_segment",
    "load_tag_library",
    "parse_rule",
    "save_segment",
    "segment_filter",
    "segment_members",
    "segment_store",
    "tag_counts",
    "tag_table",
]
