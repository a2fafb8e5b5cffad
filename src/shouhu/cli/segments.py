"""``shouhu tags …`` and ``shouhu segment …``: the tag library and segments (docs/segments.md).

A RULE argument is rule text, or ``@name`` for a saved segment.
"""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, err, guarded, out, print_json
from shouhu.settings import get_settings

tags_app = typer.Typer(help="Customer tags: the library and applying it. 客户标签。", no_args_is_help=True)
segment_app = typer.Typer(help="Segments: count, export and save rule-based customer groups. 客群。",
                          no_args_is_help=True)

TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="Also require this tag (code or label); repeatable.")]
RuleArg = Annotated[str, typer.Argument(help='Rule, e.g. \'age >= 30 and city in ("上海", "北京")\', or @saved_name.')]


class HeaderChoice(StrEnum):
    code = "code"
    zh = "zh"


def _warehouse() -> Any:
    from shouhu.storage.warehouse import Warehouse

    return Warehouse(get_settings().warehouse)


def _library() -> Any:
    from shouhu.segments import load_tag_library

    return load_tag_library(get_settings().data_dir)


def _resolve(rule: str) -> Any:
    """Rule text, or the saved segment named by ``@name``."""
    if rule.startswith("@"):
        from shouhu.segments import load_segment

        return load_segment(get_settings().data_dir, rule[1:])
    return rule


# -- tags -----------------------------------------------------------------------------------------
@tags_app.command("list")
def tags_list(
    counts: Annotated[bool, typer.Option("--counts", help="Add customers per tag from the last apply.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The tag library (shipped, merged with <data_dir>/tags.toml) with each tag's rule."""
    from shouhu.segments import tag_counts

    library = guarded(_library)
    found: dict[str, int] = {}
    if counts:
        with _warehouse() as wh:
            found = guarded(lambda: tag_counts(wh, library))
    payload = [{**t.to_dict(), **({"customers": found.get(t.code, 0)} if counts else {})} for t in library]
    if as_json:
        print_json({"sources": [str(s) for s in library.sources], "tags": payload})
        return
    table = Table(title="tag library 标签库")
    for col in ("code", "标签", "label", "rule", *(["customers"] if counts else [])):
        table.add_column(col, justify="right" if col == "customers" else "left")
    for p in payload:
        table.add_row(p["code"], p["zh"], p["en"], p["rule"], *([f"{p['customers']:,}"] if counts else []))
    out.print(table)


@tags_app.command("apply")
def tags_apply(as_json: JsonOpt = False) -> None:
    """Build customer_tag from customer_360 with the tag library; print customers per tag."""
    from shouhu.segments import apply_tags

    library = guarded(_library)
    with _warehouse() as wh:
        counts = guarded(lambda: apply_tags(wh, library))
    if as_json:
        print_json({"warehouse": get_settings().warehouse, "tags": counts})
        return
    table = Table(title="customer_tag 客户标签")
    for col in ("code", "标签", "customers"):
        table.add_column(col, justify="right" if col == "customers" else "left")
    labels = {t.code: t.zh for t in library}
    for code, n in counts.items():
        table.add_row(code, labels.get(code, ""), f"{n:,}")
    out.print(table)


@tags_app.command("check")
def tags_check(
    path: Annotated[Path, typer.Argument(help="A tags.toml to validate.")], as_json: JsonOpt = False,
) -> None:
    """Validate a tag file (every rule must compile against customer_360) without applying it."""
    from shouhu.segments import load_tag_library

    library = guarded(lambda: load_tag_library(path=path))
    if as_json:
        print_json({"file": str(path), "tags": library.codes})
    else:
        out.print(f"{path}: {len(library)} tags OK ({', '.join(library.codes)})")


# -- segments -------------------------------------------------------------------------------------
@segment_app.command("columns")
def segment_columns(as_json: JsonOpt = False) -> None:
    """The customer_360 columns a rule can use, with type, label and whether export hides them."""
    from shouhu.model.marts import CUSTOMER_360

    payload: list[dict[str, Any]] = [
        {"column": f.name, "type": f.dtype, "zh": f.zh, "en": f.en, "sensitive": f.sensitive}
        for f in CUSTOMER_360.fields]
    if as_json:
        print_json(payload)
        return
    table = Table(title="customer_360 columns 可用字段")
    for col in ("column", "type", "字段", "description", "sensitive"):
        table.add_column(col)
    for p in payload:
        table.add_row(p["column"], p["type"], p["zh"], p["en"], "yes 敏感" if p["sensitive"] else "")
    out.print(table)


@segment_app.command("count")
def segment_count(rule: RuleArg, tag: TagOpt = None, as_json: JsonOpt = False) -> None:
    """How many customers match RULE (and every --tag)."""
    from shouhu.segments import count_segment

    segment = guarded(lambda: _resolve(rule))
    with _warehouse() as wh:
        n = guarded(lambda: count_segment(wh, segment, tags=tag or (), library=_library()))
    if as_json:
        print_json({"rule": getattr(segment, "rule", segment), "tags": tag or [], "customers": n})
    else:
        out.print(f"{n:,} customers (客户数)")


@segment_app.command("export")
def segment_export(
    rule: RuleArg,
    out_file: Annotated[Path, typer.Option("--out", help="A .csv (UTF-8 with BOM) or .xlsx file.")],
    column: Annotated[list[str] | None, typer.Option("--column", help="Only these columns; repeatable.")] = None,
    tag: TagOpt = None,
    header: Annotated[HeaderChoice, typer.Option(help="Header row: column codes or Chinese labels.")] = (
        HeaderChoice.code),
    include_sensitive: Annotated[bool, typer.Option(
        "--include-sensitive", help="Also export sensitive columns (income, claims paid) in clear.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export the customers matching RULE to CSV or Excel. Sensitive columns are left out by default."""
    from shouhu.segments import export_segment

    if include_sensitive:
        err.print("warning: exporting sensitive personal information in clear (个人敏感信息明文导出)",
                       style="yellow")
    segment = guarded(lambda: _resolve(rule))
    with _warehouse() as wh:
        result = guarded(lambda: export_segment(
            wh, segment, out_file, columns=column, tags=tag or (), include_sensitive=include_sensitive,
            header="zh" if header is HeaderChoice.zh else "code", library=_library()))
    if as_json:
        print_json(result.to_dict())
    else:
        out.print(f"{result.rows:,} customers → {result.path} ({len(result.columns)} columns)")


@segment_app.command("save")
def segment_save(
    name: Annotated[str, typer.Argument(help="Segment name (letters incl. Chinese, digits, _ or -).")],
    rule: Annotated[str, typer.Argument(help="The rule.")],
    description: Annotated[str, typer.Option(help="What the segment is for.")] = "",
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save a segment definition under <data_dir>/segments/ (use it later as @NAME)."""
    from shouhu.segments import save_segment

    saved = guarded(lambda: save_segment(get_settings().data_dir, name, rule, description, tags=tag or ()))
    if as_json:
        print_json(saved.to_dict())
    else:
        out.print(f"saved segment {saved.name!r} (use it as @{saved.name})")


@segment_app.command("list")
def segment_list(
    counts: Annotated[bool, typer.Option("--counts", help="Count each segment's customers now.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Saved segments with their rules (and, with --counts, their current size)."""
    from shouhu.segments import count_segment, list_segments

    segments = guarded(lambda: list_segments(get_settings().data_dir))
    payload = [s.to_dict() for s in segments]
    if counts and segments:
        library = guarded(_library)
        with _warehouse() as wh:
            for p, s in zip(payload, segments, strict=True):
                p["customers"] = guarded(partial(count_segment, wh, s, library=library))
    if as_json:
        print_json(payload)
        return
    table = Table(title="saved segments 已保存客群")
    for col in ("name", "rule", "tags", "description", *(["customers"] if counts else [])):
        table.add_column(col, justify="right" if col == "customers" else "left")
    for p in payload:
        table.add_row(p["name"], p["rule"], ", ".join(p["tags"]), p["description"],
                      *([f"{p['customers']:,}"] if counts else []))
    out.print(table)


@segment_app.command("delete")
def segment_delete(name: Annotated[str, typer.Argument(help="Saved segment name.")]) -> None:
    """Delete a saved segment definition."""
    from shouhu.segments import segment_store

    guarded(lambda: segment_store(get_settings().data_dir).delete(name))
    out.print(f"deleted segment {name!r}")
