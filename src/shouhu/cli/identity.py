"""``shouhu identity``: resolve, evaluate and link person records. Thin: parse, call, shape."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, guarded, out, print_json

identity_app = typer.Typer(help="Identity resolution: one customer per person. 客户身份识别与归并。",
                           no_args_is_help=True)
ThresholdOpt = Annotated[float, typer.Option(help="Match probability at or above which a pair is linked.")]

METRIC_ROWS = (
    ("pairwise_precision", "pairwise precision 成对精确率"), ("pairwise_recall", "pairwise recall 成对召回率"),
    ("pairwise_f1", "pairwise F1"), ("bcubed_precision", "B-cubed precision"),
    ("bcubed_recall", "B-cubed recall"), ("bcubed_f1", "B-cubed F1"),
    ("exact_cluster_share", "persons resolved exactly 完全正确归并的人"),
)


def _metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label in METRIC_ROWS:
        table.add_row(label, f"{metrics[key]:.4f}")
    for key in ("records", "true_clusters", "predicted_clusters", "true_pairs", "predicted_pairs"):
        table.add_row(key.replace("_", " "), f"{metrics[key]:,}")
    return table


def _result_table(result: Any) -> Table:
    table = Table(title="identity resolution 身份归并")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("records", "candidate_pairs", "pairs", "links", "reviews", "blocked_by_guard", "clusters",
                "multi_record_clusters"):
        table.add_row(key.replace("_", " "), f"{getattr(result, key):,}")
    for kind, n in result.decided_by.items():
        table.add_row(f"clusters decided by {kind}", f"{n:,}")
    table.add_row("seconds", ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    return table


@identity_app.command()
def resolve(link_threshold: ThresholdOpt = 0.95, as_json: JsonOpt = False) -> None:
    """Resolve src_party into identity_pair and identity_cluster in the configured warehouse."""
    from shouhu.identity import resolve_identities
    from shouhu.settings import get_settings
    from shouhu.storage.warehouse import Warehouse

    def run() -> Any:
        with Warehouse(get_settings().warehouse) as wh:
            return resolve_identities(wh, link_threshold=link_threshold,
                                      review_band=(min(0.5, link_threshold), link_threshold))

    result = guarded(run)
    if as_json:
        print_json(result.to_dict())
    else:
        out.print(_result_table(result))


@identity_app.command()
def evaluate(
    book_dir: Annotated[Path, typer.Argument(help="A synthetic book folder (holds ground_truth.parquet).")],
    as_json: JsonOpt = False,
) -> None:
    """Score identity_cluster against the book's ground truth: pairwise and B-cubed precision/recall/F1."""
    from shouhu.errors import InvalidInput
    from shouhu.identity import evaluate as evaluate_clusters
    from shouhu.settings import get_settings
    from shouhu.storage.warehouse import Warehouse

    def run() -> dict[str, Any]:
        truth = book_dir / "ground_truth.parquet"
        if not truth.exists():
            raise InvalidInput(f"{truth} does not exist; pass a book folder made by 'shouhu synth'")
        with Warehouse(get_settings().warehouse) as wh:
            if not wh.has_table("identity_cluster"):
                raise InvalidInput("no identity_cluster yet: run 'shouhu identity resolve' first")
            return evaluate_clusters(wh, truth)

    metrics = guarded(run)
    if as_json:
        print_json(metrics)
    else:
        out.print(_metrics_table(f"identity evaluation vs {book_dir} ground truth", metrics))


def _read_records(path: Path, columns: dict[str, str], truth_column: str | None) -> Any:
    import pandas as pd

    from shouhu.errors import MappingError
    from shouhu.ingest.mapping import file_format
    from shouhu.ingest.readers import read_file

    frames = [chunk.records for chunk in read_file(path, file_format(path))]
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    wanted = {**columns, **({truth_column: truth_column} if truth_column else {})}
    missing = sorted(c for c in wanted.values() if c not in data.columns)
    if missing:
        found = ", ".join(map(str, data.columns))
        raise MappingError(f"{path}: no column(s) {', '.join(missing)}; the file has: {found}")
    return data[list(wanted.values())].set_axis(list(wanted), axis=1)


@identity_app.command()
def link(
    file: Annotated[Path, typer.Argument(help="CSV, Excel, JSON lines or Parquet file of person records.")],
    mapping: Annotated[Path, typer.Option("--mapping", help="TOML naming your columns: name = \"姓名\" …")],
    truth_column: Annotated[str | None, typer.Option(help="Column holding the true person, to score the result.")]
    = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for clusters.csv and pairs.csv.")] = Path("."),
    link_threshold: ThresholdOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Link any person file with the same rules and model; writes clusters.csv and pairs.csv."""
    from shouhu.identity import link_person_table, load_link_mapping

    def run() -> Any:
        records = _read_records(file, load_link_mapping(mapping), truth_column)
        return link_person_table(records, out_dir, truth_column=truth_column, link_threshold=link_threshold,
                                 review_band=(min(0.5, link_threshold), link_threshold))

    outcome = guarded(run)
    payload = {"result": outcome.result.to_dict(), "clusters_csv": str(outcome.clusters_csv),
               "pairs_csv": str(outcome.pairs_csv), "metrics": outcome.metrics}
    if as_json:
        print_json(payload)
        return
    out.print(_result_table(outcome.result))
    out.print(f"wrote {outcome.clusters_csv} and {outcome.pairs_csv}")
    if outcome.metrics:
        out.print(_metrics_table(f"against column {truth_column}", outcome.metrics))
