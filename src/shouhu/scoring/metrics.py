"""Model quality measures: AUC, lift, capture, calibration table. Plain numpy, no plotting."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

Array = npt.NDArray[Any]


def auc(y: Array, p: Array) -> float | None:
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None


def _ranked(y: Array, p: Array) -> Array:
    # Stable sort on -p: ties keep the input order, so the measures are reproducible.
    return np.asarray(y)[np.argsort(-np.asarray(p), kind="stable")]


def capture(y: Array, p: Array, share: float) -> float:
    """Share of all positives found in the top ``share`` of rows by score."""
    ys = _ranked(y, p)
    k = max(1, round(len(ys) * share))
    total = ys.sum()
    return float(ys[:k].sum() / total) if total else 0.0


def lift(y: Array, p: Array, share: float = 0.1) -> float:
    """Positive rate in the top ``share`` over the overall positive rate."""
    ys = _ranked(y, p)
    k = max(1, round(len(ys) * share))
    base = ys.mean()
    return float(ys[:k].mean() / base) if base else 0.0


def decile_table(y: Array, p: Array, bins: int = 10) -> list[dict[str, float | int]]:
    """Rows ranked by score into ``bins`` equal groups, highest first: mean predicted vs observed rate."""
    order = np.argsort(-np.asarray(p), kind="stable")
    ys, ps = np.asarray(y)[order], np.asarray(p)[order]
    base = ys.mean() if len(ys) else 0.0
    rows: list[dict[str, float | int]] = []
    total_pos = ys.sum()
    cum = 0
    for i, idx in enumerate(np.array_split(np.arange(len(ys)), bins), start=1):
        if not len(idx):
            continue
        cum += int(ys[idx].sum())
        rows.append({
            "decile": i,
            "rows": len(idx),
            "mean_predicted": round(float(ps[idx].mean()), 4),
            "observed_rate": round(float(ys[idx].mean()), 4),
            "lift": round(float(ys[idx].mean() / base), 3) if base else 0.0,
            "cumulative_capture": round(cum / total_pos, 4) if total_pos else 0.0,
        })
    return rows


def summary(y: Array, p: Array) -> dict[str, Any]:
    a = auc(y, p)
    return {
        "rows": len(y),
        "positives": int(np.sum(y)),
        "positive_rate": round(float(np.mean(y)), 4) if len(y) else 0.0,
        "auc": None if a is None else round(a, 4),
        "top_decile_lift": round(lift(y, p, 0.1), 3),
        "capture_top20": round(capture(y, p, 0.2), 4),
        "brier": round(float(np.mean((np.asarray(p) - np.asarray(y)) ** 2)), 5) if len(y) else None,
    }
