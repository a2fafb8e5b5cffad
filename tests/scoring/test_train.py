import numpy as np
import pandas as pd
import pytest

from shouhu.errors import InvalidInput, UnknownName
from shouhu.scoring import apply, registry
from shouhu.scoring.train import TrainConfig, out_of_time_folds, train
from tests.scoring.factories import make_frame

CFG = TrainConfig(target="lapsed", id_column="row_id", rounds=30, folds=3)


def test_stratified_training_reports_metrics_and_saves(tmp_path):
    art = train(make_frame(), CFG, tmp_path, "demo")
    m = art.meta["metrics"]
    assert art.ref == "demo@1" and art.model_file.exists()
    assert m["auc"] > 0.65 and m["top_decile_lift"] > 1.3 and 0.2 < m["capture_top20"] <= 1
    assert len(art.meta["calibration_table"]) == 10
    assert [f["name"] for f in art.meta["features"]] == ["days_overdue", "premium", "channel", "month"]
    assert len(art.meta["data_fingerprint"]) == 64 and art.meta["validation"] == "stratified_kfold"


def test_out_of_time_folds_never_leak():
    times = pd.Series(np.random.default_rng(1).integers(1, 13, 500))
    folds = out_of_time_folds(times, 4)
    assert len(folds) == 4
    for tr, te in folds:
        assert times.iloc[tr].max() < times.iloc[te].min()


def test_out_of_time_training_tests_only_later_rows(tmp_path):
    cfg = TrainConfig(target="lapsed", id_column="row_id", time_column="month", rounds=30, folds=2)
    art = train(make_frame(), cfg, tmp_path, "oot")
    assert art.meta["validation"] == "out_of_time"
    assert "month" not in [f["name"] for f in art.meta["features"]]
    for fold in art.meta["folds"]:
        assert int(fold["train_until"]) < int(fold["test_from"])


def test_same_data_and_seed_reproduce_metrics_and_predictions(tmp_path):
    df = make_frame()
    a, b = train(df, CFG, tmp_path, "r"), train(df, CFG, tmp_path, "r")
    assert (a.version, b.version) == (1, 2)
    assert a.meta["metrics"] == b.meta["metrics"]
    assert a.meta["data_fingerprint"] == b.meta["data_fingerprint"]
    pa_, pb = apply.score(a, df).frame["probability"], apply.score(b, df).frame["probability"]
    assert np.array_equal(pa_.to_numpy(), pb.to_numpy())


def test_registry_round_trip_and_listing(tmp_path):
    art = train(make_frame(), CFG, tmp_path, "rt")
    loaded = registry.load(tmp_path, "rt@1")
    assert loaded.meta == art.meta and registry.load(tmp_path, "rt").version == 1
    assert [r["name"] for r in registry.list_models(tmp_path)] == ["rt"]
    with pytest.raises(UnknownName):
        registry.load(tmp_path, "rt@7")
    with pytest.raises(UnknownName):
        registry.load(tmp_path, "nope")


def test_scoring_adds_probability_and_three_plain_reasons(tmp_path):
    art = train(make_frame(), CFG, tmp_path, "s")
    new = make_frame(50, seed=3).drop(columns=["lapsed"])
    new.loc[0, "channel"] = "never-seen"  # unseen category: scored as missing, not an error
    scored = apply.score(art, new)
    p = scored.frame["probability"]
    assert p.between(0, 1).all()
    assert all(len(r) <= 3 for r in scored.frame["reasons"])
    assert any("days_overdue = " in r and ("raises the risk" in r or "lowers the risk" in r)
               for r in scored.frame["reasons"][1])


def test_platt_calibration_and_evaluate(tmp_path):
    cfg = TrainConfig(target="lapsed", id_column="row_id", rounds=30, folds=3, calibration="platt")
    art = train(make_frame(), cfg, tmp_path, "platt")
    result = apply.evaluate(art, make_frame(600, seed=9))
    assert result["metrics"]["auc"] > 0.65 and result["warnings"] == []


@pytest.mark.parametrize("target", ["premium", "missing_col"])
def test_non_binary_target_is_refused(tmp_path, target):
    with pytest.raises(InvalidInput):
        train(make_frame(200), TrainConfig(target=target), tmp_path, "bad")


def test_reasons_can_be_limited_to_the_riskiest_share(tmp_path) -> None:
    from shouhu.scoring import apply
    from shouhu.scoring.train import TrainConfig, train

    df = make_frame(500)
    art = train(df, TrainConfig(target="lapsed", id_column="row_id", rounds=20, folds=3), tmp_path, "m")
    scored = apply.score(art, df, reasons_top_share=0.2).frame
    explained = scored[scored.reasons.map(len) > 0]
    assert 0 < len(explained) <= 100
    assert explained.probability.min() >= scored[scored.reasons.map(len) == 0].probability.max()
