"""The ecosystem service catalogue: catalogue checks, entitlements by tier, the order lifecycle, SLA clocks
and the breach sweep, provider settlement, and the ecosystem-user funnel (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from shouhu.errors import ConfigError, InvalidInput, UnknownName
from shouhu.operations.calendar import load_calendar
from shouhu.partners import ecosystem as eco
from shouhu.storage import ecosystem as store
from shouhu.storage import serving
from shouhu.storage.tables import reflected

MON = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
TINY = """
[providers.p1]
name_zh = "测试服务商"
name_en = "Test provider"
categories = ["family_doctor"]
contact = "客服热线 400-000-0000"
settlement_cycle = "monthly"
payment_days = 30
breach_deduction_pct = 15
contract_start = 2026-01-01

[services.s1]
category = "family_doctor"
name_zh = "问诊"
name_en = "Consultation"
provider = "p1"
unit_price_fen = 3333
retail_price_fen = 5000
sla_hours = 4

[entitlements.platinum]
s1 = "unlimited"
"""


@pytest.fixture
def db(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    eco.seed_catalogue(engine, MON)
    try:
        yield engine
    finally:
        engine.dispose()


def set_tier(engine: Engine, customer_id: str, tier: str) -> None:
    table = reflected(engine, "customer_value")
    with engine.begin() as conn:
        conn.execute(insert(table).values(customer_id=customer_id, value=1.0, tier=tier, tier_zh=tier, tier_en=tier,
                                          policies=1))


def done(engine: Engine, order_id: str, at: datetime) -> dict[str, Any]:
    eco.transition(engine, order_id, "accepted", at)
    return eco.transition(engine, order_id, "completed", at)


# --- the catalogue (no database) ---------------------------------------------------------------------


def test_shipped_catalogue_covers_every_category_and_tier() -> None:
    from shouhu.scoring.value import TIERS

    cat = eco.load_catalogue()
    assert {s.category for s in cat.services.values()} >= {"health_checkup", "family_doctor", "elderly_care", "legal",
                                                           "finance"}
    assert set(eco.TIERS) == {t.code for t in TIERS} | {"eco"}
    assert set(cat.entitlements) == set(eco.TIERS)
    platinum = eco.entitlements("platinum")
    assert platinum["checkup_premium"] == 1 and platinum["family_doctor_consult"] is None
    assert eco.entitlements("silver")["family_doctor_consult"] == 6
    assert "checkup_premium" not in eco.entitlements("gold")
    with pytest.raises(UnknownName, match="valid choices: eco, gold"):
        eco.entitlements("diamond")


@pytest.mark.parametrize(("fragment", "entry", "field"), [
    ("unit_price_fen = 45.5", "services.s1", "unit_price_fen"),
    ('unit_price_fen = "3333"', "services.s1", "unit_price_fen"),
    ("sla_hour = 4", "services.s1", "sla_hour"),
    ("sla_working_days = 3", "services.s1", "sla_hours"),
    ('provider = "nobody"', "services.s1", "provider"),
    ('category = "legal"', "services.s1", "category"),
])
def test_a_bad_service_row_names_file_entry_and_field(tmp_path: Path, fragment: str, entry: str, field: str) -> None:
    key = fragment.split(" = ")[0]
    lines = [line for line in TINY.splitlines() if not (line.startswith(f"{key} =") and "[services" not in line)]
    at = lines.index("[services.s1]") + 1
    path = tmp_path / "messy.toml"
    path.write_text("\n".join([*lines[:at], fragment, *lines[at:]]), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        eco.load_catalogue(path)
    assert str(path) in str(caught.value) and f"[{entry}] {field}:" in str(caught.value)
    assert caught.value.data == {"file": str(path), "entry": entry, "field": field}


@pytest.mark.parametrize(("extra", "where"), [
    ("\n[entitlements.gold]\ns1 = 0\n", "[entitlements.gold] s1:"),
    ("\n[entitlements.gold]\nnope = 1\n", "[entitlements.gold] nope: unknown service"),
    ("\n[entitlements.diamond]\ns1 = 1\n", "[entitlements.diamond] (name): unknown tier"),
    ('\n[providers.p2]\nname_zh = "x"\n', "[providers.p2] name_en:"),
    ("\n[settings]\nx = 1\n", "[settings]: unknown section"),
    ("\n[services.s2\n", "not valid TOML"),
])
def test_other_catalogue_mistakes_say_where(tmp_path: Path, extra: str, where: str) -> None:
    path = tmp_path / "messy.toml"
    path.write_text(TINY + extra, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"messy\.toml") as caught:
        eco.load_catalogue(path)
    assert where in str(caught.value)


def test_sla_due_in_clock_hours_and_on_the_business_calendar() -> None:
    assert eco.sla_due({"sla_hours": 2}, MON) == ("2026-12-07T04:00:00Z", None)
    before_national_day = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # Wednesday; 1-7 October are off, 10 is worked
    assert eco.sla_due({"sla_working_days": 3}, before_national_day) == ("2026-10-10T10:00:00Z", None)
    due, note = eco.sla_due({"sla_working_days": 5}, datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    assert due is None and note is not None and "2027" in note


def test_periods_are_china_months() -> None:
    assert eco.period_bounds("2026-12") == ("2026-11-30T16:00:00Z", "2026-12-31T16:00:00Z")
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        eco.period_bounds("2026-13")


# --- the database (SQLite and PostgreSQL) ------------------------------------------------------------


def test_entitlements_by_tier_run_out_then_refuse_or_charge(db: Engine) -> None:
    set_tier(db, "C1", "silver")
    first = eco.order(db, "checkup_standard", MON, customer_id="C1")
    assert (first["basis"], first["charge_fen"], first["tier"], first["programme_year"]) == ("entitlement", 0,
                                                                                             "silver", 2026)
    with pytest.raises(eco.NotEntitled, match=r"customer C1 has used all 1 checkup_standard .*silver.*¥680\.00"):
        eco.order(db, "checkup_standard", MON, customer_id="C1")
    paid = eco.order(db, "checkup_standard", MON, customer_id="C1", pay=True)
    assert (paid["basis"], paid["charge_fen"], paid["price_fen"]) == ("paid", 68000, 45000)
    with pytest.raises(eco.NotEntitled, match="benefit only"):
        eco.order(db, "finance_planning", MON, customer_id="C1", pay=True)
    left = eco.remaining(db, "C1", None, 2026)
    assert left["checkup_standard"] == {"quantity": 1, "used": 1, "remaining": 0}
    assert left["family_doctor_consult"] == {"quantity": 6, "used": 0, "remaining": 6}

    eco.transition(db, first["order_id"], "cancelled", MON, reason="customer is travelling")
    assert eco.remaining(db, "C1", "silver", 2026)["checkup_standard"]["remaining"] == 1
    assert eco.order(db, "checkup_standard", MON, customer_id="C1")["basis"] == "entitlement"
    next_year = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
    assert eco.remaining(db, "C1", "silver", 2027)["checkup_standard"]["remaining"] == 1
    assert eco.order(db, "family_doctor_consult", next_year, customer_id="C1")["programme_year"] == 2027

    assert eco.tier_of(db, "C-NO-VALUE") == "standard"  # no customer_value row
    for _ in range(5):  # gold: unlimited consultations
        assert eco.order(db, "family_doctor_consult", MON, customer_id="C2", tier="gold")["basis"] == "entitlement"
    assert eco.remaining(db, "C2", "gold", 2026)["family_doctor_consult"] == {"quantity": None, "used": 5,
                                                                               "remaining": None}
    retry = eco.order(db, "legal_consult", MON, customer_id="C2", tier="gold", request_key="req-1")
    assert eco.order(db, "legal_consult", MON, customer_id="C2", tier="gold", request_key="req-1") == retry
    with pytest.raises(InvalidInput, match="either customer_id or eco_user_id"):
        eco.order(db, "legal_consult", MON)
    with pytest.raises(UnknownName, match="unknown ecosystem service 'massage'"):
        eco.order(db, "massage", MON, customer_id="C2")


def test_transitions_follow_the_lifecycle_and_refuse_the_rest(db: Engine) -> None:
    row = eco.order(db, "checkup_premium", MON, customer_id="C3", tier="platinum", actor="agent-7")
    oid = row["order_id"]
    with pytest.raises(eco.InvalidTransition, match=rf"service order {oid} is requested: it cannot become completed"):
        eco.transition(db, oid, "completed", MON)
    eco.transition(db, oid, "accepted", MON + timedelta(hours=1), actor="provider")
    with pytest.raises(InvalidInput, match="scheduled_for"):
        eco.transition(db, oid, "scheduled", MON + timedelta(hours=2))
    eco.transition(db, oid, "scheduled", MON + timedelta(hours=2), scheduled_for=MON + timedelta(days=3))
    moved = eco.transition(db, oid, "scheduled", MON + timedelta(hours=3), scheduled_for=MON + timedelta(days=4))
    assert moved["scheduled_for"] == "2026-12-11T02:00:00Z"
    completed = eco.transition(db, oid, "completed", MON + timedelta(days=4))
    assert completed["status"] == "completed" and completed["breached"] is False
    with pytest.raises(eco.InvalidTransition, match="it is final") as caught:
        eco.transition(db, oid, "cancelled", MON + timedelta(days=5), reason="too late")
    assert caught.value.data == {"order_id": oid, "status": "completed", "to": "cancelled"}
    with pytest.raises(UnknownName, match="order status"):
        eco.transition(db, oid, "lost", MON)
    other = eco.order(db, "legal_consult", MON, customer_id="C3", tier="platinum")["order_id"]
    with pytest.raises(InvalidInput, match="needs a reason"):
        eco.transition(db, other, "cancelled", MON)
    history = eco.order_detail(db, oid)["events"]
    assert [(e["from_status"], e["to_status"]) for e in history] == [
        (None, "requested"), ("requested", "accepted"), ("accepted", "scheduled"), ("scheduled", "scheduled"),
        ("scheduled", "completed")]
    assert [e["actor"] for e in history][:2] == ["agent-7", "provider"]


def test_sla_sweep_marks_each_breach_once_and_fills_calendar_gaps(db: Engine, tmp_path: Path) -> None:
    consult = eco.order(db, "family_doctor_consult", MON, customer_id="C4", tier="gold")   # due in 2 h
    quick = eco.order(db, "family_doctor_consult", MON, customer_id="C4", tier="gold")
    eco.transition(db, quick["order_id"], "accepted", MON + timedelta(minutes=30))
    eco.transition(db, quick["order_id"], "completed", MON + timedelta(hours=1))
    legal = eco.order(db, "legal_consult", MON, customer_id="C4", tier="gold")              # 1 working day
    assert consult["due_at"] == "2026-12-07T04:00:00Z" and legal["due_at"] == "2026-12-08T10:00:00Z"

    assert eco.sla_sweep(db, MON + timedelta(hours=1)) == {"due_set": 0, "breached": 0}
    eco.transition(db, consult["order_id"], "accepted", MON + timedelta(hours=1))  # accepted is not enough
    assert eco.sla_sweep(db, MON + timedelta(hours=3)) == {"due_set": 0, "breached": 1}
    assert eco.sla_sweep(db, MON + timedelta(hours=4)) == {"due_set": 0, "breached": 0}
    late = store.get_order(db, consult["order_id"])
    assert late is not None and late["breached"] and late["breached_at"] == "2026-12-07T04:00:00Z"
    assert store.get_order(db, quick["order_id"])["breached"] is False  # type: ignore[index]

    scheduled = eco.transition(db, legal["order_id"], "accepted", MON + timedelta(days=2))
    assert scheduled["breached"] is False  # still running: the sweep will see it
    done_late = eco.transition(db, legal["order_id"], "completed", MON + timedelta(days=2))
    assert done_late["breached"] and done_late["breached_at"] == "2026-12-08T10:00:00Z"
    assert [e["kind"] for e in eco.order_detail(db, legal["order_id"])["events"]][-1] == "breach"

    year_end = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)
    gap = eco.order(db, "checkup_standard", year_end, customer_id="C4", tier="gold")
    assert gap["due_at"] is None and "2027" in gap["sla_note"]
    cal_2027 = tmp_path / "calendar.toml"
    cal_2027.write_text('[years.2027]\nholidays = ["2027-01-01"]\nworkdays = []\n', encoding="utf-8")
    assert eco.sla_sweep(db, year_end, load_calendar(cal_2027)) == {"due_set": 1, "breached": 0}
    assert store.get_order(db, gap["order_id"])["due_at"] == "2027-01-05T10:00:00Z"  # type: ignore[index]


def test_settlement_sums_exactly_and_settles_an_order_once(db: Engine, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(TINY, encoding="utf-8")
    counts = eco.seed_catalogue(db, MON, tiny)
    assert counts["providers_inserted"] == 1 and counts["services_paused"] == 10 and counts["providers_suspended"] == 6
    with pytest.raises(InvalidInput, match="is paused"):
        eco.order(db, "legal_consult", MON, customer_id="C5", tier="platinum")

    def place() -> str:
        return str(eco.order(db, "s1", MON, customer_id="C5", tier="platinum")["order_id"])

    on_time = [place() for _ in range(3)]
    for oid in on_time:
        done(db, oid, MON + timedelta(hours=1))
    breached = place()
    eco.sla_sweep(db, MON + timedelta(hours=5))
    done(db, breached, MON + timedelta(hours=6))
    cancelled, open_ = place(), place()
    eco.transition(db, cancelled, "cancelled", MON, reason="duplicate")
    eco.transition(db, open_, "accepted", MON)
    january = place()
    done(db, january, datetime(2026, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 January in Shanghai

    with pytest.raises(InvalidInput, match="not over"):
        eco.settle(db, "p1", "2026-12", datetime(2026, 12, 31, 15, 0, tzinfo=UTC))
    after = datetime(2027, 1, 3, 2, 0, tzinfo=UTC)
    first = eco.settle(db, "p1", "2026-12", after)
    assert first is not None
    # 3333 x 4 orders; the breached one loses 15 % rounded down to the fen: 3333 * 15 // 100 = 499
    assert (first["orders"], first["gross_fen"], first["deduction_fen"], first["amount_fen"]) == (4, 13332, 499,
                                                                                                 12833)
    assert (first["seq"], first["status"]) == (1, "draft")
    assert eco.settle(db, "p1", "2026-12", after) == first  # re-run: nothing new, nothing changed
    assert store.get_order(db, breached)["settled_fen"] == 2834  # type: ignore[index]
    assert store.get_order(db, january)["settlement_id"] is None  # type: ignore[index]
    with db.begin() as conn:  # a racing run that lost still finds nothing to take
        assert store.settle_orders(conn, "p1", *eco.period_bounds("2026-12"), "ES-other") == 0

    confirmed = eco.confirm_settlement(db, first["settlement_id"], after, actor="finance-1")
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_by"] == "finance-1"
    assert eco.confirm_settlement(db, first["settlement_id"], after + timedelta(days=1), actor="x") == confirmed
    eco.transition(db, open_, "completed", datetime(2026, 12, 31, 10, 0, tzinfo=UTC))  # reported late
    second = eco.settle(db, "p1", "2026-12", after)
    # it was still accepted when the sweep ran past its due time: breached too
    assert second is not None and (second["seq"], second["orders"], second["amount_fen"]) == (2, 1, 2834)
    assert eco.settlements(db, "p1", "2026-12")[0] == confirmed
    assert eco.settle(db, "p1", "2026-11", after) is None
    with pytest.raises(UnknownName, match="unknown provider 'p9'"):
        eco.settle(db, "p9", "2026-12", after)


def test_ecosystem_users_convert_and_the_funnel_counts_each_step(db: Engine) -> None:
    def user(source: str, ref: str, scene: str | None = None, at: datetime = MON) -> str:
        return str(eco.register_eco_user(db, source, at, source_ref=ref, scene=scene)["eco_user_id"])

    a1, a2, a3 = user("partner-a", "u1", "travel"), user("partner-a", "u2", "travel"), user("partner-a", "u3", "shop")
    b1 = user("campaign-x", "v1")
    user("partner-a", "early", at=MON - timedelta(days=40))  # outside the window
    assert user("partner-a", "u1", "travel") == a1  # same source user: same row
    with pytest.raises(InvalidInput, match="never a phone"):
        eco.register_eco_user(db, "partner-a", MON, source_ref="13912345678")

    trial = eco.order(db, "family_doctor_consult", MON, eco_user_id=a1)
    assert (trial["tier"], trial["basis"]) == ("eco", "entitlement")
    with pytest.raises(eco.NotEntitled, match=f"ecosystem user {a1} has used all 1"):
        eco.order(db, "family_doctor_consult", MON, eco_user_id=a1)
    done(db, trial["order_id"], MON + timedelta(hours=1))
    assert eco.record_step(db, a1, "quoted", MON, ref="Q1") is True
    assert eco.record_step(db, a1, "quoted", MON, ref="Q2") is False  # first time only
    eco.record_step(db, a2, "quoted", MON, ref="Q3")
    converted = eco.convert(db, a1, "C100", MON + timedelta(days=1))
    assert converted["customer_id"] == "C100" and eco.convert(db, a1, "C100", MON)["converted_at"] == \
        converted["converted_at"]
    with pytest.raises(InvalidInput, match=f"{a1} became customer C100"):
        eco.convert(db, a1, "C200", MON)
    with pytest.raises(InvalidInput, match="order as the customer"):
        eco.order(db, "family_doctor_consult", MON, eco_user_id=a1, pay=True)
    eco.convert(db, a3, "C300", MON)  # won offline: no service, no quote

    by_source = {g["group"]: g for g in eco.funnel(db, MON - timedelta(days=1), MON + timedelta(days=1))}
    assert set(by_source) == {"campaign-x", "partner-a"}
    steps = {s["step"]: s for s in by_source["partner-a"]["steps"]}
    assert [steps[k]["users"] for k in ("registered", "service_used", "quoted", "converted")] == [3, 1, 2, 2]
    assert steps["converted"]["rate_from_registered"] == round(2 / 3, 4)
    assert steps["service_used"]["rate_from_previous"] == round(1 / 3, 4)
    assert steps["quoted"]["rate_from_previous"] == 1.0    # the one who used a service got a quote
    assert steps["converted"]["rate_from_previous"] == 0.5  # of two quoted, one converted (a3 came offline)
    assert steps["registered"]["rate_from_previous"] is None
    assert [s["users"] for s in by_source["campaign-x"]["steps"]] == [1, 0, 0, 0]
    assert by_source["campaign-x"]["steps"][2]["rate_from_previous"] is None  # nobody used a service
    scenes = {g["group"]: g["registered"] for g in eco.funnel(db, MON - timedelta(days=1), MON + timedelta(days=1),
                                                              by="scene")}
    assert scenes == {"travel": 2, "shop": 1, "(none)": 1}
    total = eco.funnel(db, MON - timedelta(days=60), MON + timedelta(days=1), by=None)
    assert [g["registered"] for g in total] == [5] and b1


def test_concurrent_orders_and_settlements_never_double_count(serving_url: str, request: pytest.FixtureRequest) -> None:
    if serving_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time; concurrency is PostgreSQL's to prove")
    from concurrent.futures import ThreadPoolExecutor

    db: Engine = request.getfixturevalue("db")

    set_tier(db, "C6", "silver")  # one check-up a year

    def try_order(_: int) -> str:
        try:
            return str(eco.order(db, "checkup_standard", MON, customer_id="C6")["basis"])
        except eco.NotEntitled:
            return "refused"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(try_order, range(4)))
    assert outcomes == ["entitlement", "refused", "refused", "refused"]

    for _ in range(6):
        done(db, str(eco.order(db, "checkup_standard", MON, customer_id="C6", pay=True)["order_id"]), MON)
    after = datetime(2027, 1, 3, tzinfo=UTC)
    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda _: eco.settle(db, "kangtai_checkup", "2026-12", after), range(3)))
    assert {r["settlement_id"] for r in runs if r} == {runs[0]["settlement_id"]}  # type: ignore[index]
    assert runs[0] is not None and (runs[0]["orders"], runs[0]["amount_fen"]) == (6, 6 * 45000)
