"""``shouhu model train`` on a small tabular set versus the logistic baseline, before and after early stopping.

    python bench/bench_trainer_small.py --rows 6000

The data (tests/scoring/small_tabular.py) has logistic regression as its true model. Prints JSON:
held-out AUC, top-20% capture and decile-1 predicted vs observed for the booster with the old fixed
settings (200 rounds, 31 leaves, no early stopping) and the current ones, and for the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _figures(m: dict[str, Any], table: list[dict[str, Any]]) -> dict[str, Any]:
    return {"auc": m["auc"], "capture_top20": m["capture_top20"],
            "decile1_predicted": table[0]["mean_predicted"], "decile1_observed": table[0]["observed_rate"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=6000)
    args = ap.parse_args()
    from tests.scoring.small_tabular import small_logistic

    from shouhu.scoring.train import TrainConfig, train

    df = small_logistic(args.rows)
    report: dict[str, Any] = {"rows": len(df), "positive_rate": round(float(df["target"].mean()), 4)}
    with tempfile.TemporaryDirectory() as tmp:
        old = train(df, TrainConfig(target="target", early_stopping=False, small_data_rows=0), Path(tmp), "old")
        new = train(df, TrainConfig(target="target"), Path(tmp), "new")
    report["booster_fixed_200_rounds"] = _figures(old.meta["metrics"], old.meta["calibration_table"])
    report["booster_now"] = _figures(new.meta["metrics"], new.meta["calibration_table"])
    report["booster_now"]["rounds"] = new.meta["params"]["num_boost_round"]
    b = new.meta["baseline"]
    report["logistic_baseline"] = _figures(b["metrics"], b["calibration_table"])
    report["winner"] = b["winner"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
