"""``shouhu persistency fit|kpi|cohorts`` and the scoring commands of ``shouhu model``
(``train``, ``score``, ``evaluate``, ``list``, ``report``, ``lapse train|score``).

Wiring (main.py): ``app.add_typer(persistency_app, name="persistency")`` and ``register(model_app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, err, guarded, out, print_json
from shouhu.settings import get_settings

persistency_app = typer.Typer(help="Persistency KPIs and retention curves. 继续率与留存曲线。", no_args_is_help=True)
lapse_app = typer.Typer(help="Lapse-risk model on the warehouse. 退保/失效风险模型。", no_args_is_help=True)
Threshold = Annotated[float, typer.Option(help="Warn when a feature's PSI passes this.")]


def _models_root() -> Path:
    return get_settings().data_dir / "models"


def _rows_table(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for col in rows[0] if rows else []:
        table.add_column(str(col))
    for r in rows:
        table.add_row(*("" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v) for v in r.values()))
    out.print(table)


@persistency_app.command("fit")
def fit(counts: Annotated[str, typer.Argument(help="Survivors per period, comma separated: 1000,869,743,...")],
        horizon: Annotated[int, typer.Option(help="Project up to this many periods.")] = 12,
        bootstrap: Annotated[int, typer.Option(help="Bootstrap rounds for 95% intervals (0 = none).")] = 200,
        as_json: JsonOpt = False) -> None:
    """Fit the shifted-beta-geometric model to one cohort's survivor counts and project retention."""
    from shouhu.scoring.retention import fit_sbg, parse_counts

    result = guarded(lambda: fit_sbg(parse_counts(counts), bootstrap=bootstrap))
    payload = {"alpha": result.alpha, "beta": result.beta, "log_likelihood": result.log_likelihood,
               "alpha_ci95": result.alpha_ci, "beta_ci95": result.beta_ci, "table": result.table(horizon)}
    if as_json:
        print_json(payload)
        return
    ci = (f"  95% CI α {result.alpha_ci[0]:.3f}–{result.alpha_ci[1]:.3f}, β {result.beta_ci[0]:.3f}–"
          f"{result.beta_ci[1]:.3f}" if result.alpha_ci and result.beta_ci else "")
    out.print(f"sBG fit: alpha = {result.alpha:.4f}, beta = {result.beta:.4f}, LL = {result.log_likelihood:.2f}{ci}")
    _rows_table("fitted vs actual, then projection (拟合与预测)", result.table(horizon))


@persistency_app.command("kpi")
def kpi(by: Annotated[str, typer.Option(help="Comma-separated: channel, branch, agent, product, product_type, "
                                            "cohort_month, cohort_quarter, cohort_year")] = "",
        month: Annotated[str, typer.Option(help="Persistency months, comma separated.")] = "13,25",
        as_json: JsonOpt = False) -> None:
    """13- and 25-month premium and policy-count persistency from the warehouse."""
    from shouhu.scoring import persistency
    from shouhu.storage.warehouse import Warehouse

    groups = [b.strip() for b in by.split(",") if b.strip()]
    months = [int(m) for m in month.split(",") if m.strip()]

    def run() -> list[dict[str, Any]]:
        with Warehouse(get_settings().warehouse) as wh:
            return persistency.compute(persistency.warehouse_tables(wh), months=months, by=groups)

    rows = guarded(run)
    if as_json:
        print_json(rows)
        return
    _rows_table("persistency 继续率", rows)


@persistency_app.command("cohorts")
def cohorts(as_json: JsonOpt = False) -> None:
    """Fit the sBG retention model per issue-year cohort of regular-premium policies."""
    from shouhu.scoring import cohorts as co
    from shouhu.scoring import lapse
    from shouhu.storage.warehouse import Warehouse

    def run() -> list[dict[str, Any]]:
        with Warehouse(get_settings().warehouse) as wh:
            return co.fit_cohorts(lapse.load_tables(wh))

    rows = guarded(run)
    if as_json:
        print_json(rows)
        return
    _rows_table("sBG per issue-year cohort 按承保年度", [{**r, "counts": ",".join(map(str, r["counts"]))}
                                                          for r in rows])


def _print_metrics(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(payload)
        return
    out.print(f"model {payload['model']}: {payload['metrics']}")
    if "baseline" in payload:
        b = payload["baseline"]
        out.print(f"saved: {payload['kind']}; vs logistic baseline, winner on top-20% capture: {b['winner']} "
                  f"(booster {b['booster']['capture_top20']}, logistic {b['logistic']['capture_top20']})")
    _rows_table("calibration by decile (校准表)", payload["calibration_table"])
    for w in payload.get("warnings", []):
        err.print(w, style="yellow", markup=False)


def register(model_app: typer.Typer) -> None:
    """Add the scoring commands to the ``model`` sub-app."""
    from shouhu.scoring.drift import DEFAULT_THRESHOLD

    @model_app.command("train")
    def train_cmd(data: Annotated[Path, typer.Option(help="CSV or Parquet file.")],
                  target: Annotated[str, typer.Option(help="Binary target column.")],
                  name: Annotated[str | None, typer.Option(help="Model name (default: the file's stem).")] = None,
                  id_column: Annotated[str | None, typer.Option(help="Row id, not a feature.")] = None,
                  time_column: Annotated[str | None, typer.Option(help="Validate out of time on it.")] = None,
                  seed: int = 42, rounds: int = 200, calibration: str = "isotonic",
                  model_kind: Annotated[str, typer.Option(
                      "--model-kind", help="booster, logistic, or auto (whichever wins the baseline comparison)")]
                  = "booster",
                  as_json: JsonOpt = False) -> None:
        """Train LightGBM on any table, validate, calibrate and save a new registry version."""
        from shouhu.scoring import frame
        from shouhu.scoring.train import TrainConfig, train

        cfg = TrainConfig(target=target, id_column=id_column, time_column=time_column, seed=seed, rounds=rounds,
                          calibration=calibration, model_kind=model_kind)
        art = guarded(lambda: train(frame.read_table(data), cfg, _models_root(), name or data.stem))
        b = art.meta["baseline"]
        _print_metrics({"model": art.ref, "kind": art.meta["kind"], "validation": art.meta["validation"],
                        "baseline": {"winner": b["winner"], "logistic": b["metrics"], "booster": b["booster_metrics"]},
                        "metrics": art.meta["metrics"],
                        "calibration_table": art.meta["calibration_table"], "path": str(art.path)}, as_json)

    @model_app.command("score")
    def score_cmd(model: Annotated[str, typer.Option(help="NAME or NAME@VERSION.")],
                  data: Annotated[Path, typer.Option(help="CSV or Parquet to score.")],
                  out_file: Annotated[Path, typer.Option("--out", help="Where to write the scored rows.")],
                  threshold: Threshold = DEFAULT_THRESHOLD, as_json: JsonOpt = False) -> None:
        """Add ``probability`` and top-3 ``reasons`` to every row; warn on drift."""
        from shouhu.scoring.apply import score_file

        scored = guarded(lambda: score_file(_models_root(), model, data, out_file, threshold=threshold))
        payload = {"model": scored.artifact.ref, "rows": len(scored.frame), "out": str(out_file),
                   "drift": [d.to_dict() for d in scored.drift], "warnings": scored.warnings}
        if as_json:
            print_json(payload)
            return
        out.print(f"scored {payload['rows']} rows with {payload['model']} → {out_file}")
        for w in scored.warnings:
            err.print(w, style="yellow", markup=False)

    @model_app.command("evaluate")
    def evaluate_cmd(model: str, data: Annotated[Path, typer.Option(help="Labelled CSV or Parquet.")],
                     threshold: Threshold = DEFAULT_THRESHOLD, as_json: JsonOpt = False) -> None:
        """Metrics of a saved model on new labelled data, with the drift check."""
        from shouhu.scoring import apply, frame, registry

        payload = guarded(lambda: apply.evaluate(registry.load(_models_root(), model), frame.read_table(data),
                                                 threshold=threshold))
        _print_metrics(payload, as_json)

    @model_app.command("list")
    def list_cmd(as_json: JsonOpt = False) -> None:
        """Every model version in the registry."""
        from shouhu.scoring import registry

        rows = registry.list_models(_models_root())
        if as_json:
            print_json(rows)
            return
        _rows_table(f"models in {_models_root()}", rows)

    @model_app.command("report")
    def report_cmd(model: str, out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report.")],
                   as_json: JsonOpt = False) -> None:
        """Markdown + PNG evaluation report of a saved model."""
        from shouhu.scoring import registry, report

        path = guarded(lambda: report.write_report(registry.load(_models_root(), model), out_dir))
        print_json({"report": str(path)}) if as_json else out.print(f"report → {path}")

    model_app.add_typer(lapse_app, name="lapse")


@lapse_app.command("train")
def lapse_train(seed: int = 42, rounds: int = 200, as_json: JsonOpt = False) -> None:
    """Train on snapshots T-24 and T-12 months (T = the data's horizon), validate out of time."""
    from shouhu.scoring import lapse
    from shouhu.storage.warehouse import Warehouse

    def run() -> Any:
        with Warehouse(get_settings().warehouse) as wh:
            return lapse.train_lapse(lapse.load_tables(wh), _models_root(), seed=seed, rounds=rounds)

    art = guarded(run)
    _print_metrics({"model": art.ref, "validation": art.meta["validation"], "folds": art.meta["folds"],
                    "metrics": art.meta["metrics"], "calibration_table": art.meta["calibration_table"]}, as_json)


@lapse_app.command("score")
def lapse_score(model: str = "lapse", as_json: JsonOpt = False) -> None:
    """Score the policies in force at the data's horizon into the ``lapse_score`` warehouse table."""
    from shouhu.scoring import lapse
    from shouhu.storage.warehouse import Warehouse

    def run() -> dict[str, Any]:
        with Warehouse(get_settings().warehouse) as wh:
            return lapse.score_warehouse(wh, _models_root(), model)

    payload = guarded(run)
    if as_json:
        print_json(payload)
        return
    out.print(f"lapse_score: {payload['rows']} policies scored with {payload['model']} at {payload['snapshot']}")
    for w in payload["warnings"]:
        err.print(w, style="yellow", markup=False)
