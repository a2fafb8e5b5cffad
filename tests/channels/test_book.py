"""On generated books: the planted channel returns are found, the lapsing channel shows in ROI, and the
``shouhu channels`` commands run end to end (--json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shouhu.channels import service
from shouhu.cli.main import app
from shouhu.settings import get_settings
from shouhu.storage.warehouse import Warehouse
from tests.customer360.factories import write_stand_in_marts

PLANTED = {"customers": 10_000, "seed": 11}
runner = CliRunner()


def test_optimiser_finds_the_planted_best_channel(loaded_book) -> None:
    # synth/marketing.py plants the internet far from saturation and the app/group spend as buying nothing
    _, url = loaded_book(**PLANTED)
    with Warehouse(url) as wh:
        report = service.plan(wh, weeks=13)
    change = {r["channel"]: r["change"] for r in report.plan.rows}
    assert max(change, key=change.get) == "internet"
    assert change["direct"] < 0 and change["group"] < 0
    curves = report.curves
    assert curves["internet"].marginal(curves["internet"].mean_spend) > \
        2 * curves["agent"].marginal(curves["agent"].mean_spend)


def test_a_channel_whose_policies_lapse_is_not_a_good_channel(loaded_book) -> None:
    # the same book twice, except that the agency's business lapses in the second
    rows = {}
    for name, lapses in (("keeps", ()), ("lapses", (("agent", 0.55, 0.45),))):
        _, url = loaded_book(customers=3000, seed=5, channel_persistency=lapses)
        with Warehouse(url) as wh:
            rows[name] = {r["channel"]: r for r in service.roi(wh)["by_channel"]}
    keeps, lapses_ = rows["keeps"]["agent"], rows["lapses"]["agent"]
    assert lapses_["premium_per_yuan"] == pytest.approx(keeps["premium_per_yuan"], rel=0.05)  # same sales
    assert lapses_["persistency_13m"] < keeps["persistency_13m"] - 0.25
    assert lapses_["roi"] < keeps["roi"] - 0.5 * abs(keeps["roi"])


@pytest.fixture
def cli_env(loaded_book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _, url = loaded_book(**PLANTED)
    with Warehouse(url) as wh:
        write_stand_in_marts(wh)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOUHU_WAREHOUSE_URL", url)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args: str) -> dict:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_cli_attribute_roi_plan(cli_env: Path) -> None:
    out = cli_env / "report"
    got = run("channels", "attribute", "--json", "--models", "last_touch,markov,shapley", "--order", "1,2",
              "--out", str(out))
    models = {r["model"] for r in got["results"]}
    assert models == {"last_touch", "markov", "markov_2", "shapley"}
    assert got["totals"]["conversions"] > 0 and got["distinct_paths"] > 5
    assert (out / "attribution.png").stat().st_size > 1000
    markov = sum(r["conversions"] for r in got["results"] if r["model"] == "markov")
    assert markov == pytest.approx(got["totals"]["conversions"])
    roi = run("channels", "roi", "--json", "--period", "year")
    assert {r["channel"] for r in roi["by_channel"]} >= {"agent", "internet", "direct"}
    plan = run("channels", "plan", "--budget", "1000000", "--json", "--fixed", "agent", "--max-change", "0.5",
               "--out", str(out))
    rows = {r["channel"]: r for r in plan["channels"]}
    assert sum(r["proposed"] for r in rows.values()) == pytest.approx(1_000_000)
    assert rows["agent"]["change"] == pytest.approx(0.0)
    assert (out / "plan.png").exists() and (out / "response_curves.png").exists()


def test_cli_errors_are_clear(cli_env: Path) -> None:
    result = runner.invoke(app, ["channels", "attribute", "--models", "last_click"])
    assert result.exit_code == 2 and "valid choices" in result.stderr
    result = runner.invoke(app, ["channels", "plan", "--budget", "1e12", "--max-change", "0.1"])
    assert result.exit_code == 1 and "cannot be met" in result.stderr
