"""Model evaluation report: Markdown plus PNG charts (lift, calibration, top features).

Charts use English titles so they render on machines without a CJK font; Chinese stays in the
Markdown text, which any viewer renders with its own fonts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from shouhu.scoring import registry

TOP_FEATURES = 15


def _lift_chart(table: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([r["decile"] for r in table], [r["lift"] for r in table], color="#3b7dd8")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="decile (1 = highest score)", ylabel="lift", title="Lift by decile (held-out predictions)")
    ax.set_xticks([r["decile"] for r in table])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _calibration_chart(raw: list[dict[str, Any]], calibrated: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    top = max([r["mean_predicted"] for r in raw + calibrated] + [r["observed_rate"] for r in raw] + [0.01])
    ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect")
    ax.plot([r["mean_predicted"] for r in raw], [r["observed_rate"] for r in raw], "o-", label="raw model")
    ax.plot([r["mean_predicted"] for r in calibrated], [r["observed_rate"] for r in calibrated], "s-",
            label="calibrated")
    ax.set(xlabel="mean predicted", ylabel="observed rate", title="Calibration by decile")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _importance_chart(importance: list[dict[str, Any]], path: Path) -> None:
    top = importance[:TOP_FEATURES][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(top) + 1.2))
    key = "gain" if not top or "gain" in top[0] else "abs_coefficient"  # booster or logistic model
    ax.barh([r["feature"] for r in top], [r[key] for r in top], color="#4c9a6a")
    ax.set(xlabel="total gain" if key == "gain" else "|coefficient| (standardised)", title="Top features")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(none)"]
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return lines


def _baseline(meta: dict[str, Any]) -> list[str]:
    b = meta.get("baseline")
    if not b:  # models trained before the baseline existed
        return []
    verdict = {"booster": "the booster captures more", "logistic": "logistic regression captures more; prefer it "
               "or simplify the booster", "tie": "the booster only matches logistic regression"}[b["winner"]]
    pick = ("auc", "capture_top20", "top_decile_lift", "brier")
    return ["## Logistic baseline (逻辑回归基准)", "", f"Same folds, {b['model']}. Winner on top-20% capture: "
            f"**{b['winner']}** ({verdict}; gap {b['capture_gap']:+.4f}).", "",
            *_table([{"model": "booster", **{k: b["booster_metrics"][k] for k in pick}},
                     {"model": "logistic", **{k: b["metrics"][k] for k in pick}}]), "",
            "Logistic baseline by decile:", "", *_table(b["calibration_table"]), ""]


def _markdown(art: registry.Artifact, stem: str) -> str:
    m, meta = art.meta["metrics"], art.meta
    lines = [
        f"# Model report: {art.ref} (模型评估报告)", "",
        f"- target: `{meta['target']}`; training rows: {meta['training_rows']}; created {meta['created_at']}",
        f"- validation: **{meta['validation']}** ({len(meta['folds'])} fold(s)); calibration: "
        f"{meta['calibration']['method']}; seed {meta['seed']}",
        f"- data fingerprint (SHA-256): `{meta['data_fingerprint']}`", "",
        "## Held-out metrics (验证集指标)", "",
        *_table([{"rows": m["rows"], "positives": m["positives"], "positive rate": m["positive_rate"],
                  "AUC": m["auc"], "top-decile lift": m["top_decile_lift"],
                  "captured in top 20%": m["capture_top20"], "Brier": m["brier"]}]), "",
        *_baseline(meta), "## Folds", "", *_table(meta["folds"]), "",
        "## Lift and calibration (提升度与校准)", "",
        f"![lift]({stem}-lift.png) ![calibration]({stem}-calibration.png)", "",
        "Raw model, held-out predictions ranked into deciles:", "", *_table(meta["calibration_table"]), "",
        "After calibration (fitted on these same held-out predictions, so slightly optimistic):", "",
        *_table(meta["calibrated_table"]), "",
        "## Top features (重要特征)", "", f"![features]({stem}-features.png)", "",
        *_table(meta["feature_importance"][:TOP_FEATURES]), "",
    ]
    return "\n".join(lines)


def write_report(art: registry.Artifact, out_dir: Path) -> Path:
    """Write ``<name>-v<version>.md`` and its three PNG charts into ``out_dir``; return the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{art.name}-v{art.version}"
    _lift_chart(art.meta["calibration_table"], out_dir / f"{stem}-lift.png")
    _calibration_chart(art.meta["calibration_table"], art.meta["calibrated_table"], out_dir / f"{stem}-calibration.png")
    _importance_chart(art.meta["feature_importance"], out_dir / f"{stem}-features.png")
    md = out_dir / f"{stem}.md"
    md.write_text(_markdown(art, stem), encoding="utf-8")
    return md
