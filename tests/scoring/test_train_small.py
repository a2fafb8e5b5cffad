"""Training on a small tabular set: early stopping inside CV, and the logistic baseline in the report."""

from __future__ import annotations

from pathlib import Path

from shouhu.scoring.report import write_report
from shouhu.scoring.train import TrainConfig, train
from tests.scoring.small_tabular import small_logistic


def test_logistic_truth_is_reported_as_winning_or_matched(tmp_path: Path) -> None:
    df = small_logistic(rows=4000, seed=2)
    assert 0.03 < df["target"].mean() < 0.10
    art = train(df, TrainConfig(target="target", rounds=300), tmp_path / "models", "small")
    b = art.meta["baseline"]
    assert b["winner"] in ("logistic", "tie"), b
    assert b["metrics"]["auc"] >= b["booster_metrics"]["auc"] - 0.01
    assert len(b["calibration_table"]) == 10 and b["metrics"]["rows"] == len(df)
    es = art.meta["early_stopping"]
    assert len(es["best_rounds_per_fold"]) == 5 and all(1 <= r <= 300 for r in es["best_rounds_per_fold"])
    assert art.meta["params"]["num_leaves"] == 7 and art.meta["params"]["lambda_l2"] > 0  # small-data settings
    md = write_report(art, tmp_path / "report").read_text(encoding="utf-8")
    assert "Logistic baseline" in md and f"**{b['winner']}**" in md


def test_noise_stops_early(tmp_path: Path) -> None:
    df = small_logistic(rows=3000, seed=3)
    df["target"] = df["target"].sample(frac=1.0, random_state=0).to_numpy()  # no signal left
    art = train(df, TrainConfig(target="target", rounds=400), tmp_path, "noise")
    assert max(art.meta["early_stopping"]["best_rounds_per_fold"]) < 200
    assert art.meta["params"]["num_boost_round"] < 200


def test_auto_saves_the_logistic_winner_and_it_scores_with_reasons(tmp_path: Path) -> None:
    from shouhu.scoring import apply, registry

    df = small_logistic(rows=6000, seed=1)  # the bench's set: logistic ahead by more than the tie margin
    art = train(df, TrainConfig(target="target", model_kind="auto"), tmp_path, "auto")
    assert art.meta["baseline"]["winner"] == "logistic" and art.meta["kind"] == "logistic"
    assert art.meta["metrics"] == art.meta["baseline"]["metrics"]  # the saved model's own held-out figures
    assert art.meta["feature_importance"][0]["feature"] in {f"f{i:02d}" for i in range(10)}
    loaded = registry.load(tmp_path, "auto")
    scored = apply.score(loaded, df.drop(columns="target").head(50))
    assert scored.frame["probability"].between(0, 1).all()
    assert all(len(r) == 3 for r in scored.frame["reasons"])
    assert apply.evaluate(loaded, df)["metrics"]["auc"] > 0.85
    write_report(loaded, tmp_path / "r")  # the feature chart reads coefficients, not gain


def test_unknown_model_kind(tmp_path: Path) -> None:
    import pytest

    from shouhu.errors import InvalidInput

    with pytest.raises(InvalidInput, match="valid choices: auto, booster, logistic"):
        train(small_logistic(rows=600, seed=4), TrainConfig(target="target", model_kind="forest"), tmp_path, "x")
