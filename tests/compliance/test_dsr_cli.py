"""``shouhu dsr / hold / retention`` on an embedded serving database (SQLite) with no warehouse built."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.settings import get_settings
from shouhu.storage import serving
from tests.journeys.conftest import add_customer


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    monkeypatch.setenv("SHOUHU_SERVING_URL", url)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOUHU_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'w.duckdb'}")
    serving.upgrade(url)
    engine = serving.engine_for(url)
    add_customer(engine, "CX1")
    engine.dispose()
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_requests_holds_and_the_retention_job_from_the_command_line(env: str) -> None:
    run = CliRunner().invoke
    r = run(app, ["dsr", "submit", "CX1", "--kind", "access", "--by", "counter-7", "--json"])
    assert r.exit_code == 0, r.output
    rid = json.loads(r.output)["id"]
    r = run(app, ["dsr", "list", "--json"])
    assert [x["id"] for x in json.loads(r.output)] == [rid]
    r = run(app, ["dsr", "complete", str(rid), "--by", "compliance-1", "--json"])
    assert r.exit_code == 0, r.output
    done = json.loads(r.output)
    assert done["status"] == "done" and done["outcome"]["file"] == f"dsr/CX1/request-{rid}.json"
    r = run(app, ["dsr", "submit", "CX1", "--kind", "correction", "--field", "salary", "--value", "1"])
    assert r.exit_code != 0 and "detail.field" in r.output
    r = run(app, ["hold", "place", "CX1", "--reason", "监管问询 2026-12", "--json"])
    hold = json.loads(r.output)["hold"]
    r = run(app, ["dsr", "plan", "CX1", "--json"])
    assert json.loads(r.output)["reason"] == "legal_hold"
    assert run(app, ["hold", "release", str(hold)]).exit_code == 0
    r = run(app, ["dsr", "plan", "CX1", "--json"])
    plan = json.loads(r.output)
    assert plan["action"] == "erase" and plan["would_delete"]["serving"]["customer"] == 1
    r = run(app, ["retention", "run", "--dry-run", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["restricted"] == 0
