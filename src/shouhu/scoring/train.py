"""Generic training on any table: LightGBM, cross-validation, calibration, registry.

Validation is honest by construction: every reported metric comes from predictions on rows the
model did not see. With a time column the folds are out of time (train on earlier values only,
test on the next later block); otherwise stratified k-fold. The calibrator (isotonic by default,
or Platt) is fitted on those held-out predictions, then the final model is trained on all rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from shouhu.errors import InvalidInput
from shouhu.scoring import baseline, drift, frame, metrics, registry

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Folds = list[tuple[IntArray, IntArray]]
EARLY_STOPPING_MIN_CASES = 100  # of the rarer class in a fold's training rows; fewer: the fixed rounds


@dataclass(frozen=True)
class TrainConfig:
    target: str
    id_column: str | None = None
    time_column: str | None = None
    seed: int = 42
    folds: int = 5
    rounds: int = 200  # the most boosting rounds; early stopping inside each fold picks how many are used
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 20
    num_threads: int = 1  # busy shared machines: OpenMP threads spin and run 5-10x slower
    calibration: str = "isotonic"  # or "platt"
    early_stopping: bool = True
    model_kind: str = "booster"  # or "logistic", or "auto": whichever wins the baseline comparison (tie: booster)
    small_data_rows: int = 20_000  # below this, smaller trees and an L2 penalty (see lgb_params)

    def lgb_params(self, rows: int | None = None) -> dict[str, Any]:
        small = rows is not None and rows < self.small_data_rows
        # A few thousand rows with a few hundred positives: 31-leaf trees memorise them.
        return {
            "objective": "binary", "learning_rate": self.learning_rate,
            "num_leaves": min(self.num_leaves, 7) if small else self.num_leaves,
            "min_data_in_leaf": max(self.min_data_in_leaf, min(50, (rows or 0) // 100)) if small
            else self.min_data_in_leaf,
            "lambda_l2": 10.0 if small else 0.0, "feature_fraction": 0.7 if small else 0.9,
            "seed": self.seed, "deterministic": True, "force_col_wise": True, "num_threads": self.num_threads,
            "verbose": -1,
        }


def stratified_folds(y: IntArray, k: int, seed: int) -> Folds:
    k = max(2, min(k, int(np.bincount(y, minlength=2).min())))
    if k < 2 or len(np.unique(y)) < 2:
        raise InvalidInput("cross-validation needs at least two rows of each class")
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.asarray(a, np.int64), np.asarray(b, np.int64)) for a, b in skf.split(np.zeros(len(y)), y)]


def out_of_time_folds(times: pd.Series, k: int) -> Folds:
    """Expanding-window folds: fold i trains on time blocks 0..i and tests on block i+1.

    Blocks are made of whole time values, so a value never sits on both sides: every training row is
    strictly earlier than every test row of its fold.
    """
    values = np.sort(times.dropna().unique())
    if times.isna().any():
        raise InvalidInput("the time column has missing values; every row needs a time for out-of-time validation")
    if len(values) < 2:
        raise InvalidInput("out-of-time validation needs at least two distinct time values")
    blocks = np.array_split(values, min(k + 1, len(values)))
    folds: Folds = []
    t = times.to_numpy()
    for i in range(1, len(blocks)):
        train = np.flatnonzero(t < blocks[i][0])
        test = np.flatnonzero(np.isin(t, blocks[i]))
        folds.append((train.astype(np.int64), test.astype(np.int64)))
    return folds


def fit_booster(x: pd.DataFrame, y: IntArray, cfg: TrainConfig, rounds: int | None = None,
                rows: int | None = None) -> lgb.Booster:
    data = lgb.Dataset(x, label=y, free_raw_data=False)
    return lgb.train(cfg.lgb_params(rows or len(y)), data, num_boost_round=rounds or cfg.rounds)


def _early_stopped(x: pd.DataFrame, y: IntArray, cfg: TrainConfig) -> lgb.Booster:
    """A booster whose rounds were chosen on a stratified fifth of ``x`` it did not train on."""
    # The held-out fifth needs some 20 cases of the rarer class, or the stopping point is noise.
    if not cfg.early_stopping or int(np.bincount(y, minlength=2).min()) < EARLY_STOPPING_MIN_CASES:
        return fit_booster(x, y, cfg)
    fit, stop = stratified_folds(y, 5, cfg.seed)[0]
    data = lgb.Dataset(x.iloc[fit], label=y[fit], free_raw_data=False)
    valid = lgb.Dataset(x.iloc[stop], label=y[stop], reference=data)
    params = {**cfg.lgb_params(len(y)), "metric": "binary_logloss"}
    return lgb.train(params, data, num_boost_round=cfg.rounds, valid_sets=[valid],
                     callbacks=[lgb.early_stopping(max(10, cfg.rounds // 10), verbose=False)])


@dataclass
class Validation:
    rows: IntArray  # rows that were tested, fold after fold
    booster: FloatArray  # their held-out booster probability
    best_rounds: list[int]  # early-stopped rounds per fold


def cross_validate(x: pd.DataFrame, y: IntArray, folds: Folds, cfg: TrainConfig) -> Validation:
    """Held-out predictions; early stopping sees only each fold's training rows, so they stay honest."""
    rows, preds, best = [], [], []
    for train, test in folds:
        if len(np.unique(y[train])) < 2:
            continue
        booster = _early_stopped(x.iloc[train], y[train], cfg)
        best.append(int(booster.best_iteration or booster.current_iteration()))
        rows.append(test)
        preds.append(np.asarray(booster.predict(x.iloc[test], num_iteration=best[-1]), dtype=float))
    if not rows:
        raise InvalidInput("no fold had both classes in its training rows")
    return Validation(np.concatenate(rows), np.concatenate(preds), best)


def fit_calibrator(p: FloatArray, y: IntArray, method: str) -> dict[str, Any]:
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
        return {"method": "isotonic", "x": [float(v) for v in iso.X_thresholds_],
                "y": [float(v) for v in iso.y_thresholds_]}
    if method == "platt":
        lr = LogisticRegression().fit(_logit(p).reshape(-1, 1), y)
        return {"method": "platt", "a": float(lr.coef_[0][0]), "b": float(lr.intercept_[0])}
    raise InvalidInput(f"unknown calibration {method!r}; valid choices: isotonic, platt", method=method)


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)))


def calibrate(cal: dict[str, Any], p: FloatArray) -> FloatArray:
    if cal["method"] == "isotonic":
        return np.asarray(np.interp(p, cal["x"], cal["y"]))
    return np.asarray(1.0 / (1.0 + np.exp(-(cal["a"] * _logit(p) + cal["b"]))))


def _folds(df: pd.DataFrame, y: IntArray, cfg: TrainConfig) -> tuple[Folds, str]:
    if cfg.time_column:
        if cfg.time_column not in df.columns:
            raise InvalidInput(f"no time column {cfg.time_column!r}", column=cfg.time_column)
        return out_of_time_folds(df[cfg.time_column], cfg.folds), "out_of_time"
    return stratified_folds(y, cfg.folds, cfg.seed), "stratified_kfold"


def train(df: pd.DataFrame, cfg: TrainConfig, root: Path, name: str) -> registry.Artifact:
    """Validate, calibrate, fit on everything and save a new version of ``name`` in the registry."""
    registry.check_name(name)
    df = df.reset_index(drop=True)
    y = frame.binary_target(df, cfg.target)
    exclude = {cfg.target, *(c for c in (cfg.id_column, cfg.time_column) if c)}
    features = frame.infer_features(df, exclude)
    x = frame.matrix(df, features)
    folds, validation = _folds(df, y, cfg)
    cv = cross_validate(x, y, folds, cfg)
    rows, raw = cv.rows, cv.booster
    cal = fit_calibrator(raw, y[rows], cfg.calibration)
    rounds = int(np.median(cv.best_rounds)) if cfg.early_stopping else cfg.rounds
    booster = fit_booster(x, y, cfg, rounds=max(1, rounds))
    meta = _meta(df, cfg, features, x, booster, validation, folds)
    meta["params"]["num_boost_round"] = max(1, rounds)
    meta["early_stopping"] = {"enabled": cfg.early_stopping, "max_rounds": cfg.rounds,
                              "best_rounds_per_fold": cv.best_rounds}
    meta["baseline"] = baseline.compare(x, y, folds, rows, raw)
    model_text = booster.model_to_string()
    kind = _kind(cfg, meta["baseline"]["winner"])
    if kind == "logistic":  # the baseline is the model: its own held-out scores, calibrator and weights
        raw = meta["baseline"]["held_out"]
        cal = fit_calibrator(raw, y[rows], cfg.calibration)
        params = baseline.fit_logistic(x, y)
        model_text = json.dumps(params)
        meta["feature_importance"] = _logistic_importance(params)
    meta["baseline"].pop("held_out")
    meta["kind"] = kind
    meta["metrics"] = metrics.summary(y[rows], raw)
    meta["calibration_table"] = metrics.decile_table(y[rows], raw)
    meta["calibrated_table"] = metrics.decile_table(y[rows], calibrate(cal, raw))
    meta["calibration"] = cal
    return registry.save(root, name, model_text, meta)


def _kind(cfg: TrainConfig, winner: str) -> str:
    if cfg.model_kind not in ("booster", "logistic", "auto"):
        raise InvalidInput(f"unknown model kind {cfg.model_kind!r}; valid choices: auto, booster, logistic",
                           model_kind=cfg.model_kind)
    if cfg.model_kind == "auto":
        return "logistic" if winner == "logistic" else "booster"
    return cfg.model_kind


def _logistic_importance(params: dict[str, Any]) -> list[dict[str, Any]]:
    weight: dict[str, float] = {}
    for src, c in zip(params["source"], params["coef"], strict=True):
        weight[src] = weight.get(src, 0.0) + abs(float(c))
    return [{"feature": f, "abs_coefficient": round(w, 4)} for f, w in sorted(weight.items(), key=lambda t: -t[1])]


def _meta(df: pd.DataFrame, cfg: TrainConfig, features: list[frame.Feature], x: pd.DataFrame,
          booster: lgb.Booster, validation: str, folds: Folds) -> dict[str, Any]:
    gain = booster.feature_importance(importance_type="gain")
    importance = sorted(zip(booster.feature_name(), (float(g) for g in gain), strict=True), key=lambda t: -t[1])
    return {
        "target": cfg.target,
        "id_column": cfg.id_column,
        "time_column": cfg.time_column,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "shouhu_version": pkg_version("shouhu"),
        "lightgbm_version": lgb.__version__,
        "data_fingerprint": frame.fingerprint(df),
        "training_rows": len(df),
        "features": [f.to_dict() for f in features],
        "params": {**cfg.lgb_params(len(df)), "num_boost_round": cfg.rounds},
        "config": asdict(cfg),
        "seed": cfg.seed,
        "validation": validation,
        "folds": [_fold_info(df, cfg, tr, te) for tr, te in folds],
        "feature_importance": [{"feature": f, "gain": round(g, 3)} for f, g in importance],
        "drift_profile": drift.profile(x),
    }


def _fold_info(df: pd.DataFrame, cfg: TrainConfig, train: IntArray, test: IntArray) -> dict[str, Any]:
    info: dict[str, Any] = {"train_rows": len(train), "test_rows": len(test)}
    if cfg.time_column:
        t = df[cfg.time_column]
        info |= {"train_until": str(t.iloc[train].max()), "test_from": str(t.iloc[test].min()),
                 "test_until": str(t.iloc[test].max())}
    return info
