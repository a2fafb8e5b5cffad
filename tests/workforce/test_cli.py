"""``shouhu workforce`` end to end on a SQLite serving database under a temporary data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.settings import get_settings
from shouhu.storage import serving
from shouhu.storage import workforce as store
from shouhu.storage.tables import customer_scope, staff

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["workforce", *args])
    return result.exit_code, result.stdout + result.stderr


def test_simulate_names_the_steward_under_the_balanced_plan() -> None:
    code, text = run("simulate", "--plan", "balanced", "--years", "4", "--json")
    assert code == 0 and json.loads(text)["leader"] == "steward"
    code, text = run("simulate", "--plan", "nope")
    assert code == 2 and "balanced" in text and "volume" in text  # the valid choices


def test_post_is_idempotent_and_clawback_follows(data_dir: Path) -> None:
    url = get_settings().serving
    serving.upgrade(url)
    engine = serving.engine_for(url)
    with engine.begin() as conn:
        conn.execute(insert(staff).values(staff_id="A1", role="agent", team_id="T1", branch_id="B1"))
        conn.execute(insert(customer_scope).values(customer_id="C1", agent_id="A1", team_id="T1", branch_id="B1"))
        conn.execute(insert(store.policy_producer).values(
            policy_no="P1", customer_id="C1", producer_of_record="A1", product_type="critical_illness",
            issue_date=date(2026, 10, 20), status="surrendered", status_date=date(2026, 11, 2),
            annual_premium=3000.0))
    engine.dispose()
    code, text = run("ledger", "post", "2026-10", "--json")
    assert code == 0 and json.loads(text)["fen_by_kind"] == {"first_year": 105_000}  # 35% × 3000
    assert json.loads(run("ledger", "post", "2026-10", "--json")[1])["entries"] == 0
    # cancelled 13 days after issue: the whole first-year commission comes back, as a new entry
    assert json.loads(run("ledger", "post", "2026-11", "--json")[1])["fen_by_kind"] == {"clawback": -105_000}
    entries = json.loads(run("ledger", "list", "--agent", "A1", "--json")[1])["entries"]
    assert [e["kind"] for e in entries] == ["clawback", "first_year"]
    assert run("ledger", "verify")[0] == 0
    assert run("ledger", "post", "2026-13")[0] == 1  # a bad period is refused with a message
