"""Training and scoring time of the generic trainer at 1M policies (one row per in-force policy).

    python bench/bench_scoring.py [--rows 1000000] [--rounds 200]

Uses a synthesised feature table shaped like the lapse model's (numbers, strings, a snapshot
column for out-of-time validation), so it needs no warehouse. Prints JSON: rows, seconds for
train (validation fold + final model + calibration + registry), score without reasons, and
score with SHAP reasons on a sample (extrapolated), peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shouhu.scoring import apply
from shouhu.scoring.train import TrainConfig, train


def feature_table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "policy_no": np.arange(rows),
        "snapshot_date": pd.to_datetime(np.where(rng.random(rows) < 0.5, "2024-10-31", "2025-10-31")),
        "days_overdue_now": np.where(rng.random(rows) < 0.05, rng.integers(1, 60, rows), 0),
        "on_time_ratio": rng.beta(5, 1.5, rows),
        "max_days_late": rng.integers(0, 90, rows),
        "payments_count": rng.integers(1, 120, rows),
        "policy_age_months": rng.integers(1, 120, rows),
        "annual_premium": rng.lognormal(8.5, 0.9, rows),
        "sum_assured": rng.lognormal(12.5, 0.8, rows),
        "holder_age": rng.integers(18, 70, rows),
        "holder_income": rng.lognormal(11.8, 0.6, rows),
        "touchpoints_90d": rng.poisson(2, rows),
        "agent_tenure_years": rng.exponential(4, rows),
        "channel": rng.choice(["agent", "bancassurance", "broker", "internet"], rows),
        "payment_frequency": rng.choice(["annual", "monthly", "quarterly", "semi_annual"], rows),
        "product_type": rng.choice(["term_life", "critical_illness", "whole_life", "annuity", "medical"], rows),
    })
    logit = -3.4 + 0.05 * df.days_overdue_now - 1.5 * (df.on_time_ratio - 0.8) - 0.004 * df.policy_age_months
    df["lapsed_12m"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--reason-rows", type=int, default=20_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = feature_table(args.rows)
    result: dict[str, object] = {"rows": args.rows, "rounds": args.rounds,
                                 "synthesise_s": round(time.perf_counter() - t0, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(target="lapsed_12m", id_column="policy_no", time_column="snapshot_date",
                          rounds=args.rounds)
        t0 = time.perf_counter()
        art = train(df, cfg, Path(tmp), "bench")
        result["train_s"] = round(time.perf_counter() - t0, 1)
        result["oot_auc"] = art.meta["metrics"]["auc"]
        new = df.drop(columns=["lapsed_12m"])
        t0 = time.perf_counter()
        apply.score(art, new, with_reasons=False)
        result["score_s_no_reasons"] = round(time.perf_counter() - t0, 1)
        # SHAP reasons (TreeSHAP) cost far more than the prediction: time them on a sample and extrapolate.
        sample = new.head(args.reason_rows)
        t0 = time.perf_counter()
        apply.score(art, sample)
        spent = time.perf_counter() - t0
        result["reasons_sample_rows"] = len(sample)
        result["score_s_with_reasons_sample"] = round(spent, 1)
        result["score_s_with_reasons_extrapolated"] = round(spent * args.rows / max(len(sample), 1))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
