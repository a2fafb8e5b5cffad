from shouhu.scoring import apply, drift
from shouhu.scoring.train import TrainConfig, train
from tests.scoring.factories import make_frame


def _model(tmp_path):
    return train(make_frame(1500), TrainConfig(target="lapsed", id_column="row_id", rounds=20, folds=3), tmp_path, "d")


def test_shifted_data_warns_on_the_shifted_feature(tmp_path):
    art = _model(tmp_path)
    shifted = make_frame(1500, seed=4, shift=40)
    shifted["channel"] = "web"
    scored = apply.score(art, shifted, with_reasons=False)
    flagged = {d.feature for d in scored.drift if d.drifted}
    assert flagged == {"days_overdue", "channel"}
    assert any("days_overdue" in w for w in scored.warnings)


def test_same_distribution_does_not_warn(tmp_path):
    art = _model(tmp_path)
    scored = apply.score(art, make_frame(1500, seed=8), with_reasons=False)
    assert scored.warnings == [] and max(d.psi for d in scored.drift) < 0.1


def test_threshold_is_configurable(tmp_path):
    art = _model(tmp_path)
    scored = apply.score(art, make_frame(1500, seed=8), threshold=0.0, with_reasons=False)
    assert scored.warnings


def test_psi_of_identical_shares_is_zero():
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0.0
