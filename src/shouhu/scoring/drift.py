"""Population stability index (PSI) between the training data and new data, per feature.

At training time each feature gets a compact profile: for numbers (and dates), the inner edges of
up to 10 quantile bins and the share of rows in each bin; for categories, the share of each training
category; both with the share missing. New data is binned the same way and compared:

    PSI = Σ_bins (actual - expected) · ln(actual / expected)     (shares floored at 1e-4)

Rule of thumb: < 0.1 stable, 0.1–0.2 watch, > 0.2 shifted (the default warning threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_THRESHOLD = 0.2
BINS = 10
FLOOR = 1e-4


@dataclass(frozen=True)
class DriftResult:
    feature: str
    psi: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "psi": round(self.psi, 4), "drifted": self.drifted}


def _numeric_shares(values: pd.Series, edges: list[float]) -> list[float]:
    v = values.to_numpy(dtype="float64")
    present = v[~np.isnan(v)]
    counts = np.bincount(np.searchsorted(np.asarray(edges), present, side="right"), minlength=len(edges) + 1)
    shares = list(counts / max(len(v), 1))
    return [*shares, float(np.isnan(v).mean()) if len(v) else 0.0]


def _categorical_shares(values: pd.Series, categories: list[str]) -> list[float]:
    n = max(len(values), 1)
    text = values.astype("string")
    counts = text.value_counts(dropna=True)
    known = [float(counts.get(c, 0)) / n for c in categories]
    other = float(text.notna().sum()) / n - sum(known)
    return [*known, max(other, 0.0), float(text.isna().sum()) / n]


def profile_column(values: pd.Series) -> dict[str, Any]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in values.cat.categories]
        return {"kind": "categorical", "categories": cats, "shares": _categorical_shares(values, cats)}
    v = values.to_numpy(dtype="float64")
    present = v[~np.isnan(v)]
    qs = np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)[1:-1])) if len(present) else np.array([])
    edges = [float(x) for x in qs]
    return {"kind": "numeric", "edges": edges, "shares": _numeric_shares(values, edges)}


def profile(x: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per-feature binning profile of a model input frame (see :func:`shouhu.scoring.frame.matrix`)."""
    return {name: profile_column(x[name]) for name in x.columns}


def psi(expected: list[float], actual: list[float]) -> float:
    e = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def compare(prof: dict[str, dict[str, Any]], x: pd.DataFrame,
            threshold: float = DEFAULT_THRESHOLD) -> list[DriftResult]:
    """PSI of every profiled feature present in ``x``, largest first."""
    out = []
    for name, p in prof.items():
        if name not in x.columns:
            continue
        if p["kind"] == "categorical":
            shares = _categorical_shares(x[name], p["categories"])
        else:
            shares = _numeric_shares(x[name].astype("float64"), p["edges"])
        value = psi(p["shares"], shares)
        out.append(DriftResult(name, value, value > threshold))
    return sorted(out, key=lambda r: -r.psi)


def warnings(results: list[DriftResult]) -> list[str]:
    return [f"drift: {r.feature} PSI = {r.psi:.3f} (population has shifted since training)"
            for r in results if r.drifted]
