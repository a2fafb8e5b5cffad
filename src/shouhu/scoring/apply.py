"""Applying a registered model: calibrated probabilities, plain-language reasons, evaluation, drift."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from shouhu.scoring import baseline, drift, frame, metrics, registry
from shouhu.scoring.train import calibrate

FloatArray = npt.NDArray[np.float64]
TOP_REASONS = 3


@dataclass
class Scored:
    frame: pd.DataFrame  # input columns + probability + reasons
    drift: list[drift.DriftResult]
    artifact: registry.Artifact

    @property
    def warnings(self) -> list[str]:
        return drift.warnings(self.drift)


def load_booster(art: registry.Artifact) -> Any:
    """The LightGBM booster, or for a logistic model (``meta["kind"]``) its saved weights."""
    text = art.model_file.read_text(encoding="utf-8")
    if art.meta.get("kind") == "logistic":
        return json.loads(text)
    return lgb.Booster(model_str=text)


def features_of(art: registry.Artifact) -> list[frame.Feature]:
    return [frame.Feature.from_dict(d) for d in art.meta["features"]]


def predict(art: registry.Artifact, x: pd.DataFrame, booster: Any = None) -> FloatArray:
    booster = booster or load_booster(art)
    if isinstance(booster, dict):
        return calibrate(art.meta["calibration"], baseline.predict_logistic(booster, x))
    raw = np.asarray(booster.predict(x, num_threads=art.meta["params"].get("num_threads", 0)), dtype=float)
    return calibrate(art.meta["calibration"], raw)


def reasons(booster: Any, x: pd.DataFrame, top: int = TOP_REASONS) -> list[list[str]]:
    """Per row, the ``top`` features that moved the score most (SHAP values, or a logistic model's
    coefficient × standardised value), in plain words."""
    if isinstance(booster, dict):
        contrib = baseline.contributions(booster, x).to_numpy()
    else:
        contrib = np.asarray(booster.predict(x, pred_contrib=True))[:, :-1]  # last column: the base value
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :top]
    names = list(x.columns)
    values = x.astype(object).to_numpy()
    out = []
    for i in range(len(x)):
        row = []
        for j in order[i]:
            c = contrib[i, j]
            if c == 0:
                continue
            verb = "raises" if c > 0 else "lowers"
            row.append(f"{names[j]} = {frame.display_value(values[i, j])} {verb} the risk")
        out.append(row)
    return out


def score(art: registry.Artifact, df: pd.DataFrame, *, threshold: float = drift.DEFAULT_THRESHOLD,
          with_reasons: bool = True, reasons_top_share: float | None = None) -> Scored:
    """Probabilities for every row; reasons for every row, or only for the riskiest ``reasons_top_share``
    (SHAP contributions cost about 1 ms a row: 20 minutes for a million, when agents act on the top deciles)."""
    x = frame.matrix(df, features_of(art))
    booster = load_booster(art)
    result = df.copy()
    result["probability"] = predict(art, x, booster)
    if with_reasons:
        explain = np.ones(len(x), dtype=bool)
        if reasons_top_share is not None:
            explain = result["probability"].rank(pct=True, method="first").to_numpy() > 1 - reasons_top_share
        found = iter(reasons(booster, x[explain]) if explain.any() else [])
        result["reasons"] = [next(found) if e else [] for e in explain]
    return Scored(result, drift.compare(art.meta["drift_profile"], x, threshold), art)


def evaluate(art: registry.Artifact, df: pd.DataFrame, *,
             threshold: float = drift.DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Metrics of a saved model on new labelled data, with the drift check."""
    y = frame.binary_target(df, art.meta["target"])
    x = frame.matrix(df, features_of(art))
    p = predict(art, x)
    checks = drift.compare(art.meta["drift_profile"], x, threshold)
    return {"model": art.ref, "metrics": metrics.summary(y, p), "calibration_table": metrics.decile_table(y, p),
            "drift": [d.to_dict() for d in checks], "warnings": drift.warnings(checks)}


def score_file(root: Path, ref: str, data: Path, out: Path, *,
               threshold: float = drift.DEFAULT_THRESHOLD) -> Scored:
    art = registry.load(root, ref)
    scored = score(art, frame.read_table(data), threshold=threshold)
    written = scored.frame.copy()
    written["reasons"] = written["reasons"].map(lambda r: "; ".join(r))
    frame.write_table(written, out)
    return scored
