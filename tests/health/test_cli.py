"""``shouhu health ...`` end to end on an embedded serving database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.settings import get_settings
from shouhu.storage import serving
from tests.health.factories import apple_xml, record


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    monkeypatch.setenv("SHOUHU_SERVING_URL", url)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOUHU_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'w.duckdb'}")
    serving.upgrade(url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_import_run_status_and_fairness_from_the_command_line(env: str, tmp_path: Path) -> None:
    run = CliRunner().invoke
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    stamp = f"{yesterday.isoformat()} 09:00:00 +0800"
    xml = apple_xml(tmp_path / "export.xml", [record("StepCount", "Watch", stamp, stamp, "10200"),
                                              record("StepCount", "Watch", stamp, stamp, "oops")])
    r = run(app, ["health", "import", str(xml), "--customer", "C1", "--format", "apple"])
    assert r.exit_code == 1 and "consent_missing" in r.output and "shouhu consent grant C1" in r.output
    assert run(app, ["consent", "grant", "C1", "--purpose", "health_data"]).exit_code == 0
    r = run(app, ["health", "enrol", "--customer", "C1", "--product", "TL01"])
    assert r.exit_code == 2 and "product with a reward table" in r.output
    assert run(app, ["health", "enrol", "--customer", "C1", "--product", "TL03"]).exit_code == 0
    r = run(app, ["health", "import", str(xml), "--customer", "C1", "--format", "apple"])
    assert r.exit_code == 0, r.output
    assert "1 days · 1 rows quarantined" in r.output and "row 2 · value: not a number" in r.output
    r = run(app, ["health", "import", str(xml), "--customer", "C1", "--format", "apple", "--json"])
    assert json.loads(r.output)["already_imported"] is True
    r = run(app, ["health", "points", "run", "--date", yesterday.isoformat(), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) | {"day": None} == {"day": None, "members": 1, "earning": 1, "expired": 0,
                                                     "reset": 0, "entries": 1, "points": 15}
    r = run(app, ["health", "status", "--customer", "C1", "--json"])
    assert json.loads(r.output)["status_points"] == 15 and json.loads(r.output)["tier"] == "blue"
    r = run(app, ["health", "status", "--json"])
    assert json.loads(r.output)["tiers"]["blue"] == 1
    r = run(app, ["health", "redeem", "--customer", "C1", "--voucher", "coffee", "--key", "k1"])
    assert r.exit_code == 1 and "300 wanted but 15 spendable" in r.output
    r = run(app, ["health", "points", "run", "--date", "2026-02-30"])
    assert r.exit_code == 1 and "date: not a date" in r.output
    r = run(app, ["health", "fairness", "--json"])
    assert r.exit_code == 0 and json.loads(r.output) == []  # no published customers yet
    assert run(app, ["health", "membership", "sync"]).exit_code == 0
