from shouhu.scoring.report import write_report
from shouhu.scoring.train import TrainConfig, train
from tests.scoring.factories import make_frame


def test_report_writes_markdown_and_charts(tmp_path):
    art = train(make_frame(600), TrainConfig(target="lapsed", id_column="row_id", rounds=20, folds=3),
                tmp_path / "models", "rep")
    md = write_report(art, tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    assert "AUC" in text and "top-decile lift" in text and "rep-v1-lift.png" in text
    for chart in ("lift", "calibration", "features"):
        png = tmp_path / "out" / f"rep-v1-{chart}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"
