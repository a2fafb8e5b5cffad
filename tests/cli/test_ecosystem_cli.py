"""``shouhu ecosystem`` on embedded defaults (SQLite in a temp data dir): seeding again updates, bad
outside catalogues are refused naming the file, entry and field, orders list by status, the SLA sweep
marks a breach once, settling a month twice gives one unchanged statement, and the funnel counts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.partners import ecosystem as eco
from shouhu.settings import get_settings
from shouhu.storage import serving

runner = CliRunner()
NOV = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 2 November 2026, 10:00 in Shanghai
GOOD_PROVIDER = """
[providers.p1]
name_zh = "测试服务商"
name_en = "Test provider"
categories = ["family_doctor"]
contact = "客服热线 400-000-0000"
settlement_cycle = "monthly"
payment_days = 30
breach_deduction_pct = 15
contract_start = 2026-01-01
"""
SERVICE = """
[services.s1]
category = "{category}"
name_zh = "问诊"
name_en = "Consultation"
provider = "p1"
unit_price_fen = 3333
{extra}sla_hours = 4
"""


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    code, _, err = run("ecosystem", "seed")
    assert code == 0, err
    db = serving.engine_for(get_settings().serving)
    yield db
    db.dispose()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_seed_twice_updates_and_lists_the_catalogue(data_dir: Path) -> None:
    code, out, err = run("ecosystem", "seed", "--json")
    assert code == 0, err
    assert json.loads(out)["services_inserted"] == 10 and json.loads(out)["providers_inserted"] == 6
    code, out, _ = run("ecosystem", "seed", "--json")
    again = json.loads(out)
    assert (again["services_inserted"], again["services_updated"], again["providers_updated"]) == (0, 10, 6)
    code, out, _ = run("ecosystem", "services", "--json")
    rows = {r["service_code"]: r for r in json.loads(out)}
    assert rows["family_doctor_consult"]["entitlements"] == {"platinum": "unlimited", "gold": "unlimited",
                                                             "silver": 6, "standard": 2, "eco": 1}
    assert rows["finance_planning"]["retail_price_fen"] is None
    code, out, _ = run("ecosystem", "services", "--category", "legal")
    assert code == 0 and "legal_consult" in out and "checkup_standard" not in out
    code, _, err = run("ecosystem", "services", "--category", "massage")
    assert code == 2 and "unknown service category 'massage'" in err


@pytest.mark.parametrize(("body", "entry", "field", "problem"), [
    (GOOD_PROVIDER + SERVICE.format(category="family_doctor", extra="").replace('name_en = "Consultation"\n', ""),
     "services.s1", "name_en", "required text"),
    (GOOD_PROVIDER + SERVICE.format(category="massage", extra=""), "services.s1", "category", "'massage'"),
    (GOOD_PROVIDER + SERVICE.format(category="family_doctor", extra="unit_price_fen = 4000\n"), "services.s1",
     "unit_price_fen", "given twice (line 18; first at line 17)"),
    (GOOD_PROVIDER + GOOD_PROVIDER, "providers.p1", "(entry)", "declared twice (line 12; first at line 2)"),
])
def test_a_messy_catalogue_is_refused_naming_file_entry_and_field(data_dir: Path, tmp_path: Path, body: str,
                                                                  entry: str, field: str, problem: str) -> None:
    path = tmp_path / "outside-catalogue.toml"
    path.write_text(body, encoding="utf-8")
    code, out, err = run("ecosystem", "seed", "--catalogue", str(path))
    assert code == 2, (out, err)
    message = " ".join(err.split())
    assert f"{path} [{entry}] {field}:" in message and problem in message, message
    code, out, _ = run("ecosystem", "services", "--json")
    assert json.loads(out) == []  # nothing was written


def _completed(engine: Engine, code: str, at: datetime, *, late: bool = False) -> str:
    row = eco.order(engine, code, at, customer_id="CU000000000001", tier="platinum", pay=True)
    done_at = at + (timedelta(days=10) if late else timedelta(hours=1))
    eco.transition(engine, row["order_id"], "accepted", done_at)
    eco.transition(engine, row["order_id"], "completed", done_at)
    return str(row["order_id"])


def test_orders_sweep_and_settlement_are_safe_to_run_again(engine: Engine) -> None:
    on_time = _completed(engine, "checkup_premium", NOV)
    _completed(engine, "checkup_standard", NOV, late=True)   # 3 working days: breached, 20 % off
    waiting = eco.order(engine, "checkup_standard", NOV, customer_id="CU000000000002", tier="gold")

    code, out, _ = run("ecosystem", "orders", "--status", "completed", "--json")
    assert code == 0 and {o["status"] for o in json.loads(out)} == {"completed"} and len(json.loads(out)) == 2
    code, out, _ = run("ecosystem", "orders", "--status", "requested")
    assert waiting["order_id"] in out and on_time not in out and "1 orders" in out
    code, _, err = run("ecosystem", "orders", "--status", "lost")
    assert code == 1 and "--status: one of requested" in err

    code, out, _ = run("ecosystem", "sweep", "--json")
    assert code == 0 and json.loads(out) == {"due_set": 0, "breached": 1}   # the waiting order
    code, out, _ = run("ecosystem", "sweep", "--json")
    assert json.loads(out) == {"due_set": 0, "breached": 0}

    code, first, err = run("ecosystem", "settle", "--provider", "kangtai_checkup", "--month", "2026-11", "--json")
    assert code == 0, err
    statement = json.loads(first)
    # 168000 on time + 45000 less 20 % (9000) for the breach
    assert (statement["orders"], statement["gross_fen"], statement["deduction_fen"], statement["amount_fen"]) == (
        2, 213000, 9000, 204000)
    assert {line["order_id"] for line in statement["lines"]} >= {on_time}
    code, second, _ = run("ecosystem", "settle", "--provider", "kangtai_checkup", "--month", "2026-11", "--json")
    assert json.loads(second) == statement  # nothing new, nothing changed, nothing counted twice
    code, text, _ = run("ecosystem", "settle", "--provider", "kangtai_checkup", "--month", "2026-11")
    assert statement["settlement_id"] in text and "amount=¥2,040.00" in text and "deduction=¥90.00" in text

    code, _, err = run("ecosystem", "settle", "--provider", "nobody", "--month", "2026-11")
    assert code == 2 and "unknown provider 'nobody'" in err
    code, _, err = run("ecosystem", "settle", "--provider", "kangtai_checkup", "--month", "2026-13")
    assert code == 1 and "YYYY-MM" in err
    this_month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    code, _, err = run("ecosystem", "settle", "--provider", "kangtai_checkup", "--month", this_month)
    assert code == 1 and "not over" in " ".join(err.split())


def test_funnel_counts_ecosystem_users(engine: Engine) -> None:
    now = datetime.now(UTC)
    a = eco.register_eco_user(engine, "partner-a", now, source_ref="u1")["eco_user_id"]
    eco.register_eco_user(engine, "partner-a", now, source_ref="u2")
    eco.convert(engine, a, "CU000000000009", now)
    code, out, err = run("ecosystem", "funnel", "--json")
    assert code == 0, err
    [group] = json.loads(out)
    assert group["group"] == "partner-a" and [s["users"] for s in group["steps"]] == [2, 0, 0, 1]
    code, out, _ = run("ecosystem", "funnel", "--by", "all")
    assert code == 0 and "all" in out and "converted" in out
    code, _, err = run("ecosystem", "funnel", "--by", "city")
    assert code == 1 and "--by: source, scene or all" in err
