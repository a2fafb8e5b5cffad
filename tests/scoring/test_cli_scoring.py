import json

import pytest
import typer
from typer.testing import CliRunner

from shouhu.cli.scoring import persistency_app, register
from shouhu.settings import get_settings
from tests.scoring.factories import make_frame


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    app = typer.Typer()
    model_app = typer.Typer()
    register(model_app)
    app.add_typer(model_app, name="model")
    app.add_typer(persistency_app, name="persistency")
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


def test_persistency_fit_prints_the_paper_parameters(cli):
    r = cli("persistency", "fit", "1000,869,743,653,593,551,517,491", "--bootstrap", "0", "--json")
    payload = json.loads(r.output)
    assert round(payload["alpha"], 3) == 0.668 and round(payload["beta"], 3) == 3.806
    assert len(payload["table"]) == 13
    assert "alpha = 0.6681" in cli("persistency", "fit", "1000,869,743,653,593,551,517,491", "--bootstrap", "0").output


def test_persistency_fit_refuses_bad_counts(cli):
    r = cli("persistency", "fit", "10,20,30")
    assert r.exit_code == 1 and "cannot increase" in r.output


def test_model_train_score_list_evaluate_report(cli, tmp_path):
    data, new, scored = tmp_path / "train.csv", tmp_path / "new.parquet", tmp_path / "scored.csv"
    make_frame(800).to_csv(data, index=False)
    make_frame(300, seed=2, shift=50).to_parquet(new)
    r = cli("model", "train", "--data", str(data), "--target", "lapsed", "--id-column", "row_id", "--rounds", "20",
            "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["model"] == "train@1"
    r = cli("model", "score", "--model", "train@1", "--data", str(new), "--out", str(scored), "--json")
    assert r.exit_code == 0, r.output
    assert "days_overdue" in " ".join(json.loads(r.output)["warnings"])
    assert "probability" in scored.read_text().splitlines()[0]
    assert json.loads(cli("model", "list", "--json").output)[0]["name"] == "train"
    r = cli("model", "evaluate", "train", "--data", str(new), "--json")
    assert json.loads(r.output)["metrics"]["rows"] == 300
    assert cli("model", "report", "train", "--out", str(tmp_path / "rep")).exit_code == 0
    assert (tmp_path / "rep" / "train-v1.md").exists()
    assert cli("model", "score", "--model", "nope", "--data", str(new), "--out", str(scored)).exit_code == 2
