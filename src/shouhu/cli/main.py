"""The ``shouhu`` command line. Thin: parse, call a service, shape the answer.

Every command that reports something takes ``--json``; failures exit non-zero with a clear message.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shouhu.cli.advice import register as register_advice
from shouhu.cli.backup import backup_app
from shouhu.cli.cases import cases_app
from shouhu.cli.channels import channels_app
from shouhu.cli.common import JsonOpt, err, guarded, out, print_json
from shouhu.cli.content import content_app
from shouhu.cli.dsr import register as register_dsr
from shouhu.cli.ecosystem import register as register_ecosystem
from shouhu.cli.explain import register as register_explain
from shouhu.cli.health import register as register_health
from shouhu.cli.identity import identity_app
from shouhu.cli.journeys import register as register_journeys
from shouhu.cli.nba import register as register_nba
from shouhu.cli.partners import register as register_partners
from shouhu.cli.scoring import persistency_app
from shouhu.cli.scoring import register as register_scoring
from shouhu.cli.segments import segment_app, tags_app
from shouhu.cli.stewardship import register as register_stewardship
from shouhu.cli.trace import register as register_trace
from shouhu.cli.web import register as register_web
from shouhu.cli.workforce import workforce_app
from shouhu.settings import Settings, get_settings

app = typer.Typer(
    name="shouhu",
    help="shouhu (守护): customer operations for life insurers. 寿险客户经营平台。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Serving database: migrations. 服务库迁移。", no_args_is_help=True)
model_app = typer.Typer(help="Models: the data model (docs) and predictive models (train, score, lapse). 模型。",
                        no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(backup_app, name="backup")
app.add_typer(model_app, name="model")
app.add_typer(identity_app, name="identity")
register_stewardship(identity_app)
register_advice(app)
app.add_typer(persistency_app, name="persistency")
nba_app = typer.Typer(help="Next best actions and agents' task lists. 下一步最佳行动。", no_args_is_help=True)
register_nba(nba_app)
app.add_typer(nba_app, name="nba")
register_scoring(model_app)
app.add_typer(tags_app, name="tags")
app.add_typer(segment_app, name="segment")
app.add_typer(channels_app, name="channels")
app.add_typer(workforce_app, name="workforce")
app.add_typer(cases_app, name="cases")
app.add_typer(content_app, name="content")
register_journeys(app)
register_dsr(app)
register_trace(app)
register_partners(app)
register_ecosystem(app)
register_explain(app)
register_health(app)
register_web(app)


@app.callback()
def _owner_only_files(ctx: typer.Context) -> None:
    # Every file a command writes (warehouse and its WAL, serving database, exports, models, reports,
    # keys) is owner-only (0600/0700) whatever the umask; restored when the command ends.
    from shouhu.filemodes import private_umask
    from shouhu.observability import configure

    ctx.with_resource(private_umask())
    try:
        settings: Settings | None = get_settings()
    except ValueError:  # the command itself reports bad settings, with its own wording
        settings = None
    # Long-running commands log their work; one-shot commands print their results and log warnings only.
    default = "INFO" if ctx.invoked_subcommand in {"serve", "demo"} else "WARNING"
    configure((settings and settings.log_level) or default, settings.log_format if settings else "text")


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as progress:
        yield progress


def _warehouse(settings: Settings) -> Any:
    from shouhu.storage.warehouse import Warehouse

    return Warehouse(settings.warehouse)


# -- synth ---------------------------------------------------------------------------------------
@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the book into.")],
    customers: Annotated[int, typer.Option(help="Number of people in the book.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 42,
    bad_share: Annotated[float, typer.Option(help="Share of deliberately bad rows.")] = 0.01,
    as_json: JsonOpt = False,
) -> None:
    """Generate a synthetic book of business: one extract per channel, a manifest and the ground truth."""
    from shouhu.synth import SynthConfig, generate_book

    summary = guarded(lambda: generate_book(out_dir, SynthConfig(customers=customers, seed=seed,
                                                                 bad_row_share=bad_share)))
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    if as_json:
        print_json(manifest)
        return
    table = Table(title=f"synthetic book → {out_dir}  (合成数据)")
    for col in ("extract", "source", "entity", "rows", "bad rows"):
        table.add_column(col, justify="right" if "rows" in col else "left")
    for item in manifest["extracts"]:
        table.add_row(item["path"], item["source"], item["entity"], f"{item['rows']:,}", str(item.get("bad_rows", 0)))
    out.print(table)
    del summary


# -- ingest --------------------------------------------------------------------------------------
def _ingest_planned(planned: list[Any], settings: Settings, encoding: str | None, show: bool) -> list[Any]:
    from shouhu.ingest import ingest_file

    results = []
    with _warehouse(settings) as wh, _progress(show) as progress:
        for item in planned:
            task = progress.add_task(f"{item.mapping.source}/{item.path.name}", total=item.rows_hint) \
                if progress else None

            def advance(n: int, task: Any = task) -> None:
                if progress is not None:
                    progress.advance(task, n)

            results.append(ingest_file(wh, item.path, item.mapping, item.extract, encoding=encoding,
                                       chunk_rows=settings.ingest_chunk_rows, progress=advance))
    from shouhu.storage.serving import publish_ingest_results

    _migrate(settings)
    publish_ingest_results(settings.serving, [r.to_dict() for r in results])
    return results


def _results_table(results: list[Any]) -> Table:
    table = Table(title="ingest 数据加载")
    for col in ("file", "source", "entity", "status", "rows in", "loaded", "quarantined", "seconds"):
        table.add_column(col, justify="right" if col in ("rows in", "loaded", "quarantined", "seconds") else "left")
    for r in results:
        table.add_row(r.file, r.source, r.entity, r.status, f"{r.rows_in:,}", f"{r.rows_loaded:,}",
                      f"[yellow]{r.rows_quarantined:,}[/yellow]" if r.rows_quarantined else "0", f"{r.seconds:.2f}")
    total_in = sum(r.rows_in for r in results)
    table.add_row("[b]total[/b]", "", "", "", f"{total_in:,}", f"{sum(r.rows_loaded for r in results):,}",
                  f"{sum(r.rows_quarantined for r in results):,}", f"{sum(r.seconds for r in results):.2f}")
    return table


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file, a folder of one source's files, or a book with manifest.json.")],
    source: Annotated[str | None, typer.Option(help="Source name ('shouhu sources') or a mapping .toml path.")] = None,
    entity: Annotated[str | None, typer.Option(help="Canonical entity, when the file name does not tell.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding; default: the mapping's, else detected.")] = None,
    mapping_dir: Annotated[Path | None, typer.Option(help="Folder of your own mapping files.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Load extracts into the warehouse. Bad rows are quarantined with file, row, field and reason."""
    from shouhu.ingest import files_for_source, load_mapping, plan_book
    from shouhu.ingest.load import PlannedFile
    from shouhu.ingest.readers import count_rows_hint

    settings = get_settings()
    mapping_dir = mapping_dir or settings.data_dir / "mappings"

    def plan() -> list[PlannedFile]:
        if source is None:
            return plan_book(path, mapping_dir)
        mapping = load_mapping(source, mapping_dir)
        pairs = [(path, mapping.extract(entity))] if entity else files_for_source(path, mapping)
        from shouhu.ingest.mapping import file_format

        return [PlannedFile(p, mapping, x, count_rows_hint(p, file_format(p, x.format)) if p.is_file() else None)
                for p, x in pairs]

    results = guarded(lambda: _ingest_planned(plan(), settings, encoding, show=not as_json))
    if as_json:
        print_json([r.to_dict() for r in results])
    else:
        out.print(_results_table(results))
        for r in results:
            for warning in r.warnings():
                out.print(f"[yellow]warning[/yellow] {escape(warning)}")
        quarantined = sum(r.rows_quarantined for r in results)
        if quarantined:
            out.print(f"{quarantined:,} rows quarantined — see them with [b]shouhu quarantine[/b] (已隔离的问题行)")


# -- status and quarantine -------------------------------------------------------------------------
def _status_rows(settings: Settings) -> list[dict[str, Any]]:
    from shouhu.ingest.load import FILE_TABLE, ensure_ingest_tables

    with _warehouse(settings) as wh:
        if not wh.has_table(FILE_TABLE):
            return []
        ensure_ingest_tables(wh)  # a warehouse of an older version gains the duplicate/extra-column counts
        rows = wh.query(
            f"SELECT source, COUNT(*), SUM(rows_in), SUM(rows_loaded), SUM(rows_quarantined), MAX(loaded_at), "
            f"SUM(COALESCE(rows_duplicate, 0)) FROM {FILE_TABLE} GROUP BY source ORDER BY source"
        )
        flagged = wh.query(
            f"SELECT source, file_name, COALESCE(rows_duplicate, 0), extra_columns FROM {FILE_TABLE} "
            f"WHERE COALESCE(rows_duplicate, 0) > 0 OR extra_columns IS NOT NULL ORDER BY source, file_name")
    warnings: dict[str, list[dict[str, Any]]] = {}
    for source, name, duplicate, extra in flagged:
        warnings.setdefault(source, []).append({"file": name, "rows_duplicate": int(duplicate),
                                                "extra_columns": json.loads(extra) if extra else []})
    keys = ("source", "files", "rows_in", "rows_loaded", "rows_quarantined", "last_load", "rows_duplicate")
    return [dict(zip(keys, (r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5], int(r[6])), strict=True))
            | {"extra_columns": sorted({c for w in warnings.get(r[0], []) for c in w["extra_columns"]}),
               "warnings": warnings.get(r[0], [])} for r in rows]


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """What is loaded, per source: files, rows in, loaded, quarantined, last load time."""
    settings = get_settings()
    rows = guarded(lambda: _status_rows(settings))
    if as_json:
        print_json({"warehouse": settings.warehouse, "sources": rows})
        return
    if not rows:
        out.print(f"nothing loaded yet in {settings.warehouse} (尚未加载数据); try [b]shouhu demo[/b]")
        return
    table = Table(title=f"warehouse {settings.warehouse}")
    for col in ("source", "files", "rows in", "loaded", "quarantined", "of which duplicate keys", "ignored columns",
                "last load"):
        table.add_column(col)
    for r in rows:
        last = r["last_load"].isoformat(sep=" ") if isinstance(r["last_load"], datetime) else str(r["last_load"])
        table.add_row(r["source"], str(r["files"]), f"{r['rows_in']:,}", f"{r['rows_loaded']:,}",
                      f"{r['rows_quarantined']:,}",
                      f"[yellow]{r['rows_duplicate']:,}[/yellow]" if r["rows_duplicate"] else "0",
                      escape(", ".join(r["extra_columns"])), last)
    out.print(table)
    for r in rows:
        for w in r["warnings"]:
            if w["rows_duplicate"]:
                out.print(f"[yellow]warning[/yellow] {escape(r['source'])}/{escape(w['file'])}: "
                          f"{w['rows_duplicate']:,} rows repeat "
                          "the key of an earlier row and were quarantined (重复主键已隔离); "
                          "see [b]shouhu quarantine[/b]")
            if w["extra_columns"]:
                out.print(f"[yellow]warning[/yellow] {escape(r['source'])}/{escape(w['file'])}: columns not in the "
                          f"mapping were ignored (未映射的列已忽略): {escape(', '.join(w['extra_columns']))}")


@app.command()
def quarantine(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Quarantined rows with file, row number, field and reason. Sensitive values are masked."""
    from shouhu.ingest.load import QUARANTINE_TABLE
    from shouhu.storage.warehouse import sql_literal

    settings = get_settings()

    def fetch() -> list[tuple[Any, ...]]:
        with _warehouse(settings) as wh:
            if not wh.has_table(QUARANTINE_TABLE):
                return []
            where = f"WHERE source = {sql_literal(source)}" if source else ""
            rows: list[tuple[Any, ...]] = wh.query(
                f"SELECT source, file_name, row_number, field, reason, value FROM {QUARANTINE_TABLE} "
                f"{where} ORDER BY source, file_name, row_number, field LIMIT {int(limit)}")
            return rows

    rows = guarded(fetch)
    keys = ("source", "file", "row", "field", "reason", "value")
    if as_json:
        print_json([dict(zip(keys, r, strict=True)) for r in rows])
        return
    table = Table(title="quarantine 隔离区")
    for col in keys:
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(v) for v in r))
    out.print(table)


@app.command()
def sources(as_json: JsonOpt = False) -> None:
    """The sources that have a mapping (shipped and your own), with their extracts."""
    from shouhu.ingest import available_sources, load_mapping_file

    settings = get_settings()
    found = guarded(lambda: {n: load_mapping_file(p) for n, p in
                             available_sources(settings.data_dir / "mappings").items()})
    payload: list[dict[str, Any]] = [{"source": n, "zh": m.zh, "channel": m.channel, "mapping": str(m.path),
                "extracts": {e: list(x.files) for e, x in m.extracts.items()}} for n, m in found.items()]
    if as_json:
        print_json(payload)
        return
    table = Table(title="sources 数据源")
    for col in ("source", "zh", "channel", "extracts", "mapping"):
        table.add_column(col)
    for p in payload:
        table.add_row(p["source"], p["zh"], str(p["channel"]), ", ".join(p["extracts"]), p["mapping"])
    out.print(table)


# -- demo ------------------------------------------------------------------------------------------
@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="Number of people in the synthetic book.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    fresh: Annotated[bool, typer.Option(help="Delete the embedded warehouse and serving files first.")] = False,
    serve: Annotated[bool, typer.Option("--serve/--no-serve",
                                        help="Then run the console on the demo book (not with --json).")] = True,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
    as_json: JsonOpt = False,
) -> None:
    """Generate a synthetic book, ingest it channel by channel, build the customer view, then serve the
    console on it in demo mode (demo accounts; stop with Ctrl+C)."""
    from datetime import date as _date

    from shouhu.identity import evaluate
    from shouhu.ingest import plan_book
    from shouhu.pipeline.refresh import refresh
    from shouhu.storage.warehouse import Warehouse
    from shouhu.synth import SynthConfig, generate_book

    settings = get_settings()
    book = settings.data_dir / "book"
    if fresh:
        for name in ("warehouse.duckdb", "warehouse.duckdb.wal", "serving.sqlite", "serving.sqlite-journal",
                     "serving.sqlite-wal", "serving.sqlite-shm"):  # a stale journal would be replayed into the new file
            (settings.data_dir / name).unlink(missing_ok=True)
    if not as_json:
        out.print(f"generating {customers:,} customers into {book} (生成合成数据)…")
    guarded(lambda: generate_book(book, SynthConfig(customers=customers, seed=seed)))
    results = guarded(lambda: _ingest_planned(plan_book(book), settings, None, show=not as_json))
    if not as_json:
        out.print(_results_table(results))
        out.print("building the customer view (identity → golden → households → 360 → tags)…")
    as_of = _date.fromisoformat(json.loads((book / "manifest.json").read_text(encoding="utf-8"))["as_of"])
    run = guarded(lambda: refresh(settings, as_of=as_of))
    with Warehouse(settings.warehouse) as wh:
        scores = guarded(lambda: evaluate(wh, book / "ground_truth.parquet"))
    if as_json:
        print_json({"book": str(book), "warehouse": settings.warehouse, "serving": settings.serving,
                    "files": [r.to_dict() for r in results], "refresh": run.to_dict(), "identity": scores})
        return
    steps = {s["step"]: s for s in run.steps}
    out.print(f"refresh {run.run_id}: {run.seconds:.1f}s; customers {steps['golden']['detail']['customers']:,}, "
              f"households {steps['households']['detail']['households']:,}")
    out.print(f"identity vs the generator's truth: pairwise F1 {scores['pairwise_f1']:.4f} "
              f"(precision {scores['pairwise_precision']:.4f}, recall {scores['pairwise_recall']:.4f})")
    out.print(f"warehouse: {settings.warehouse}\nserving:   {settings.serving}\n"
              "next: [b]shouhu status[/b], [b]shouhu quarantine[/b], [b]shouhu tags list --counts[/b], "
              "[b]shouhu identity review[/b]")
    if serve:
        from shouhu.cli.web import serve_app

        serve_app(settings.model_copy(update={"mode": "demo"}), "127.0.0.1", port)


# -- refresh ---------------------------------------------------------------------------------------
@app.command("refresh")
def refresh_command(
    as_of: Annotated[datetime | None,
                     typer.Option(formats=["%Y-%m-%d"], help="Date the marts describe; default today.")] = None,
    engine: Annotated[str, typer.Option(help="auto: the configured warehouse; spark: local PySpark "
                                             "(needs the extra shouhu\\[spark] and Java 17).")] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Run the pipeline (identity → golden → households → 360 → tags) and publish the marts. 刷新客户视图。"""
    from shouhu.pipeline.refresh import refresh, steps_for

    settings = get_settings()
    day = as_of.date() if as_of else None
    if as_json:
        result = guarded(lambda: refresh(settings, as_of=day, engine=engine))
        print_json(result.to_dict())
        return
    with _progress(True) as progress:
        assert progress is not None
        task = progress.add_task("refresh", total=len(steps_for(engine)))

        def report(step: str, state: str) -> None:
            progress.update(task, description=f"refresh: {step}")
            if state == "done":
                progress.advance(task)

        result = guarded(lambda: refresh(settings, as_of=day, progress=report, engine=engine))
    table = Table(title=f"refresh {result.run_id} as of {result.as_of} (刷新)")
    for col in ("step", "seconds", "result"):
        table.add_column(col)
    for step in result.steps:
        table.add_row(step["step"], f"{step['seconds']:.2f}", json.dumps(step["detail"], ensure_ascii=False,
                                                                            default=str)[:100])
    out.print(table)


@app.command()
def runs(limit: Annotated[int, typer.Option(help="At most this many runs.")] = 10, as_json: JsonOpt = False) -> None:
    """Recent refresh runs: status, timings, errors (刷新记录)."""
    from shouhu.storage.runs import list_runs
    from shouhu.storage.serving import upgrade

    settings = get_settings()
    guarded(lambda: upgrade(settings.serving))
    rows = guarded(lambda: list_runs(settings.serving, limit))
    if as_json:
        print_json(rows)
        return
    table = Table(title="refresh runs 刷新记录")
    for col in ("run", "started", "status", "as of", "seconds", "error"):
        table.add_column(col)
    for r in rows:
        seconds = sum(step["seconds"] for step in r["steps"])
        table.add_row(r["run_id"], f"{r['started_at']:%Y-%m-%d %H:%M:%S}", r["status"], str(r["as_of"]),
                      f"{seconds:.1f}", r["error"] or "")
    out.print(table)


# -- serving database and model docs -------------------------------------------------------------------
def _migrate(settings: Settings, revision: str = "head") -> str:
    from shouhu.storage.serving import upgrade

    return upgrade(settings.serving, revision)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head", as_json: JsonOpt = False) -> None:
    """Apply serving-database migrations (Alembic) up to REVISION."""
    settings = get_settings()
    current = guarded(lambda: _migrate(settings, revision))
    if as_json:
        print_json({"serving": settings.serving, "revision": current})
    else:
        out.print(f"serving database {settings.serving} at revision {current}")


@model_app.command("docs")
def model_docs(
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the canonical data model as Markdown (zh/en names of every field)."""
    from shouhu.model.docs import render_markdown

    text = render_markdown()
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)




if __name__ == "__main__":  # pragma: no cover
    app()
