"""The plain logistic-regression baseline every trained booster is compared with, on the same folds.

On small tabular sets a regularised logistic regression is hard to beat; a booster that does not
beat it is not worth its opacity. The baseline imputes medians, one-hot encodes categories,
standardises and fits an L2 logistic regression (C = 1) per fold; the report shows both models'
held-out AUC, top-20% capture and calibration by decile, and names the winner.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shouhu.scoring import metrics

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# Capture differences smaller than this are noise on a few hundred positives: call it a tie.
TIE = 0.01


def _categorical(x: pd.DataFrame) -> list[str]:
    return [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]


def design(x: pd.DataFrame) -> pd.DataFrame:
    """Numbers as they are, categories one-hot (a missing category is its own column)."""
    cats = _categorical(x)
    out = pd.get_dummies(x, columns=cats, dummy_na=True, dtype=float) if cats else x
    # A column missing everywhere in a fold would be dropped by the imputer and shift the others.
    return out.astype(float).fillna(out.astype(float).median()).fillna(0.0)


def fit_logistic(x: pd.DataFrame, y: IntArray) -> dict[str, Any]:
    """The baseline fitted on all rows, as JSON-able numbers (what the registry saves for a logistic model)."""
    cats = _categorical(x)
    d = pd.get_dummies(x, columns=cats, dummy_na=True, dtype=float) if cats else x.astype(float)
    fill = d.astype(float).median().fillna(0.0)
    m = d.astype(float).fillna(fill)
    mean, scale = m.mean(), m.std(ddof=0).replace(0.0, 1.0)
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(((m - mean) / scale).to_numpy(), y)
    source = [next((c for c in cats if col.startswith(f"{c}_")), col) for col in d.columns]
    return {"kind": "logistic", "columns": list(map(str, d.columns)), "source": source, "categorical": cats,
            "fill": fill.tolist(), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0])}


def contributions(params: dict[str, Any], x: pd.DataFrame) -> pd.DataFrame:
    """Per row and feature, its share of the logit: coefficient × standardised value (one-hot columns summed)."""
    cats = params["categorical"]
    d = pd.get_dummies(x, columns=cats, dummy_na=True, dtype=float) if cats else x.astype(float)
    m = d.reindex(columns=params["columns"], fill_value=0.0).astype(float)  # unseen categories: no column
    m = m.fillna(pd.Series(params["fill"], index=params["columns"]))
    z = (m - np.asarray(params["mean"])) / np.asarray(params["scale"])
    c = z * np.asarray(params["coef"])
    by_feature: pd.DataFrame = c.T.groupby(np.asarray(params["source"])).sum().T
    return by_feature.reindex(columns=list(x.columns), fill_value=0.0)


def predict_logistic(params: dict[str, Any], x: pd.DataFrame) -> FloatArray:
    logit = contributions(params, x).sum(axis=1).to_numpy() + params["intercept"]
    return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=float)


def held_out(x: pd.DataFrame, y: IntArray, folds: list[tuple[IntArray, IntArray]], rows: IntArray) -> FloatArray:
    """Held-out logistic probabilities for ``rows`` (the booster's tested rows, in the same order)."""
    m = design(x).to_numpy()
    pred = np.full(len(y), np.nan)
    for train, test in folds:
        if len(np.unique(y[train])) < 2:
            continue
        model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                              LogisticRegression(C=1.0, max_iter=2000))
        model.fit(m[train], y[train])
        pred[test] = model.predict_proba(m[test])[:, 1]
    return np.asarray(pred[rows], dtype=float)


def compare(x: pd.DataFrame, y: IntArray, folds: list[tuple[IntArray, IntArray]], rows: IntArray,
            booster: FloatArray) -> dict[str, Any]:
    """Both models' held-out metrics and decile tables, and which wins on top-20% capture (AUC breaks ties)."""
    logistic = held_out(x, y, folds, rows)
    yb = y[rows]
    ours, theirs = metrics.summary(yb, booster), metrics.summary(yb, logistic)
    gap = ours["capture_top20"] - theirs["capture_top20"]
    winner = "booster" if gap > TIE else "logistic" if gap < -TIE else "tie"
    return {"held_out": logistic, "model": "logistic regression (L2, C=1; median-imputed, one-hot, standardised)",
            "metrics": theirs, "booster_metrics": ours, "calibration_table": metrics.decile_table(yb, logistic),
            "capture_gap": round(gap, 4), "winner": winner}
