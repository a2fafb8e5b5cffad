"""The programme on a real serving database (SQLite and PostgreSQL): consent gating, idempotent imports,
quarantine, the points run (steps, events, caps, expiry, reset), redemptions, membership, erasure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from shouhu.compliance import erasure
from shouhu.errors import InvalidInput, UnknownName
from shouhu.health import service
from shouhu.health.errors import ConsentMissing, NotAMember, NotEnoughPoints
from shouhu.health.run import points_run
from shouhu.storage import health as store
from shouhu.storage import serving
from shouhu.storage.journeys import record_consent
from shouhu.storage.tables import reflected
from tests.health.factories import write

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    try:
        yield engine
    finally:
        engine.dispose()


def consent(engine: Engine, customer_id: str, granted: bool = True) -> None:
    record_consent(engine, [{"customer_id": customer_id, "purpose": "health_data", "channel": "any",
                             "granted": granted, "source": "h5", "actor": customer_id}], NOW)


def member(engine: Engine, customer_id: str, product: str = "CI03", age: int | None = 40) -> None:
    consent(engine, customer_id)
    service.enrol(engine, customer_id, product, date(2026, 1, 1), NOW)
    if age is not None:
        with engine.begin() as conn:
            conn.execute(insert(reflected(engine, "customer_360")).values(customer_id=customer_id, age=age,
                                                                        province="广东省"))


def steps_csv(tmp_path: Path, rows: dict[str, int], name: str = "steps.csv") -> Path:
    return write(tmp_path / name, "日期,步数\n" + "".join(f"{d},{s}\n" for d, s in rows.items()), "gbk")


def test_health_data_needs_its_own_consent(db: Engine, tmp_path: Path) -> None:
    path = steps_csv(tmp_path, {"2026-03-01": 8000})
    with pytest.raises(ConsentMissing, match="health_data"):
        service.import_file(db, path, "C1", "csv", NOW)
    record_consent(db, [{"customer_id": "C1", "purpose": "marketing", "channel": "any", "granted": True,
                         "source": "h5", "actor": "C1"}], NOW)
    with pytest.raises(ConsentMissing):
        service.enrol(db, "C1", "CI03", date(2026, 1, 1), NOW)
    consent(db, "C1")
    assert service.import_file(db, path, "C1", "csv", NOW)["days_stored"] == 1
    consent(db, "C1", granted=False)  # withdrawn
    with pytest.raises(ConsentMissing):
        service.record_event(db, "C1", "quiz", "q1", date(2026, 3, 1), "C1", NOW)


def test_reimport_is_idempotent_and_bad_rows_are_quarantined(db: Engine, tmp_path: Path) -> None:
    consent(db, "C1")
    path = write(tmp_path / "华为.csv", "日期,步数,中高强度(分钟)\n2026/3/1,8000,20\n2026/3/2,abc,5\n"
                 "2026/3/3,6000,\n", "gbk")
    first = service.import_file(db, path, "C1", "csv", NOW)
    again = service.import_file(db, path, "C1", "csv", NOW + timedelta(hours=1))
    assert (first["already_imported"], again["already_imported"]) == (False, True)
    assert again["import_id"] == first["import_id"]
    assert [(q["file_name"], q["row_no"], q["field"]) for q in again["issues"]] == [("华为.csv", 3, "steps")]
    assert "not a number" in again["issues"][0]["reason"]
    resent = steps_csv(tmp_path, {"2026-03-01": 9000}, "resent.csv")  # another file for the same source and day
    service.import_file(db, resent, "C1", "csv", NOW, source="huawei")
    days = store.days_of(db, "C1", "2026-03-01", "2026-03-31")
    assert [(d["day"], d["steps"]) for d in days] == [("2026-03-01", 9000), ("2026-03-03", 6000)]
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(store.daily)).scalar() == 2


def test_two_sources_of_one_day_never_count_twice(db: Engine, tmp_path: Path) -> None:
    member(db, "C1")
    service.import_file(db, steps_csv(tmp_path, {"2026-03-01": 7600}, "a.csv"), "C1", "csv", NOW, source="xiaomi")
    service.import_payload(db, {"source": "band", "days": [{"date": "2026-03-01", "steps": 5200}]}, "C1", NOW)
    result = points_run(db, date(2026, 3, 1), NOW)
    assert (result.earning, result.points) == (1, 10)  # 7,600 steps: the 7,500 band, not 12,800 steps


def test_points_run_awards_steps_and_events_once(db: Engine, tmp_path: Path) -> None:
    member(db, "C1", age=40)
    member(db, "C2", age=66)
    member(db, "C3", age=40)
    consent(db, "C3", granted=False)  # withdrew after enrolling: no earning
    for cid in ("C1", "C2"):
        service.import_file(db, steps_csv(tmp_path, {"2026-03-01": 5600}, f"{cid}.csv"), cid, "csv", NOW)
    db_rows = store.daily.insert().values(customer_id="C3", day="2026-03-01", source="csv", steps=20000,
                                          import_id="x", updated_at="t")
    with db.begin() as conn:
        conn.execute(db_rows)
    assert service.record_event(db, "C1", "health_check", "hc-1", date(2026, 3, 1), "nurse", NOW)
    assert not service.record_event(db, "C1", "health_check", "hc-1", date(2026, 3, 1), "nurse", NOW)
    with pytest.raises(UnknownName, match="event kind"):
        service.record_event(db, "C1", "marathon", "m1", date(2026, 3, 1), "x", NOW)
    result = points_run(db, date(2026, 3, 1), NOW)
    assert (result.members, result.earning, result.points) == (3, 2, 5 + 10 + 3000)  # C2: the 60+ band
    again = points_run(db, date(2026, 3, 1), NOW)
    assert (again.entries, again.points) == (0, 0)
    assert store.status_totals(db, 2026) == {"C1": 3005, "C2": 10}
    s = service.summary(db, "C1", date(2026, 3, 2))
    assert (s["balance"], s["available"], s["status_points"], s["tier"].code) == (3005, 3005, 3005, "blue")
    assert s["points_to_next"] == 495 and s["reward"].premium_discount_pct == 0


def test_late_data_is_scored_when_the_day_is_run_again(db: Engine, tmp_path: Path) -> None:
    member(db, "C1")
    points_run(db, date(2026, 3, 1), NOW)
    service.import_file(db, steps_csv(tmp_path, {"2026-03-01": 10500}), "C1", "csv", NOW)
    assert points_run(db, date(2026, 3, 1), NOW).points == 15


def _lot(db: Engine, customer_id: str, key: str, points: int, day: str, expires: str, year: int) -> None:
    with db.begin() as conn:
        store.append(conn, [{"entry_key": key, "customer_id": customer_id, "kind": "earn", "category": "steps",
                             "points": points, "day": day, "programme_year": year, "expires_on": expires,
                             "lot_key": None, "note": None, "created_at": "t"}])
        store.add_year_totals(conn, year, {(customer_id, "steps"): points})


def test_redemption_is_soonest_first_idempotent_and_bounded(db: Engine) -> None:
    member(db, "C1")
    _lot(db, "C1", "late", 400, "2026-02-20", "2026-08-19", 2026)
    _lot(db, "C1", "soon", 200, "2026-01-10", "2026-07-09", 2026)
    done = service.redeem(db, "C1", "coffee", "req-1", date(2026, 3, 5), NOW)
    assert (done["points"], done["already_done"]) == (300, False)
    assert service.redeem(db, "C1", "coffee", "req-1", date(2026, 3, 5), NOW)["already_done"] is True
    draws = [e for e in store.entries_of(db, "C1") if e["kind"] == "redeem"]
    assert [(d["lot_key"], d["points"]) for d in draws] == [("soon", -200), ("late", -100)]
    assert service.redeem(db, "C1", "coffee", "req-2", date(2026, 3, 5), NOW)["points"] == 300  # exactly enough
    with pytest.raises(NotEnoughPoints, match="300 wanted but 0 spendable"):  # ... and then nothing is left
        service.redeem(db, "C1", "coffee", "req-3", date(2026, 3, 5), NOW)
    with pytest.raises(InvalidInput, match="not in the blue row"):
        service.redeem(db, "C1", "gym_month", "req-4", date(2026, 3, 5), NOW)
    with pytest.raises(NotAMember):
        service.redeem(db, "C9", "coffee", "req-5", date(2026, 3, 5), NOW)
    assert len(store.redemptions(db, "C1")) == 2


def test_the_run_expires_lots_and_resets_the_year_with_a_carry(db: Engine) -> None:
    member(db, "C1")
    _lot(db, "C1", "old", 100, "2025-06-01", "2025-11-28", 2025)
    _lot(db, "C1", "dec", 1000, "2025-12-01", "2026-05-30", 2025)
    assert points_run(db, date(2025, 11, 28), NOW).expired == 1
    result = points_run(db, date(2026, 1, 1), NOW)
    assert result.reset == 1
    rows = store.entries_of(db, "C1")
    carry = [r for r in rows if r["kind"] == "carry"]
    assert [(c["points"], c["expires_on"], c["programme_year"]) for c in carry] == [(250, "2026-06-30", 2026)]
    assert sum(r["points"] for r in rows) == 250
    assert points_run(db, date(2026, 1, 1), NOW).entries == 0
    prog = service.tier_in_force(db, service.shipped(), "C1", date(2026, 1, 2))
    assert prog.tier.code == "blue"


def test_status_reached_last_year_is_held_and_changes_the_reward(db: Engine) -> None:
    member(db, "C1")
    with db.begin() as conn:
        store.add_year_totals(conn, 2025, {("C1", "steps"): 3300, ("C1", "quiz"): 400})
    s = service.summary(db, "C1", date(2026, 2, 1))
    assert s["tier"].code == "bronze" and s["reward"].premium_discount_pct == 5
    assert [v.code for v in s["vouchers"]] == ["coffee", "dental_clean"]


def test_membership_follows_the_value_tier_and_logs_reasons(db: Engine) -> None:
    cv = reflected(db, "customer_value")
    with db.begin() as conn:
        conn.execute(insert(cv), [{"customer_id": c, "value": v, "tier": t, "tier_zh": "-", "tier_en": "-",
                                   "policies": 1} for c, v, t in (("C1", 9e4, "gold"), ("C2", 10.0, "standard"))])
    assert len(service.sync_membership(db, NOW)) == 2
    assert service.sync_membership(db, NOW) == []
    with db.begin() as conn:
        conn.execute(cv.update().where(cv.c.customer_id == "C1").values(tier="platinum"))
    changes = service.sync_membership(db, NOW + timedelta(days=1))
    assert [(c.customer_id, c.from_tier, c.to_tier) for c in changes] == [("C1", "gold", "platinum")]
    log = store.changes_of(db, "C1")
    assert [r["to_tier"] for r in log] == ["platinum", "gold"] and "升级为白金会员" in log[0]["reason_zh"]
    assert store.tier_counts(db) == {"platinum": 1, "standard": 1}


def test_fairness_report_flags_a_group_that_cannot_earn(db: Engine, tmp_path: Path) -> None:
    c360 = reflected(db, "customer_360")
    with db.begin() as conn:
        conn.execute(insert(c360), [{"customer_id": f"Y{i}", "age": 35, "province": "广东省", "has_wearable": True}
                                    for i in range(25)] +
                     [{"customer_id": f"O{i}", "age": 72, "province": "广东省", "has_wearable": False}
                      for i in range(25)])
    for i in range(25):
        consent(db, f"Y{i}")
        service.enrol(db, f"Y{i}", "CI03", date(2026, 1, 1), NOW)
        service.import_payload(db, {"days": [{"date": "2026-03-01", "steps": 9000}]}, f"Y{i}", NOW)
    points_run(db, date(2026, 3, 1), NOW)
    groups = {(g.dimension, g.group): g for g in service.fairness_report(db, date(2026, 3, 5))}
    young, old = groups[("age_band", "30–44")], groups[("age_band", "70+")]
    assert (young.earning, old.earning, old.flagged, young.flagged) == (1.0, 0.0, True, False)
    assert groups[("device", "no_device")].can_earn == 0.0 and groups[("region", "广东省")].population == 50


def test_every_health_table_is_classified_for_erasure(db: Engine) -> None:
    assert erasure.unclassified(db) == []
    assert all(erasure.SERVING[t] for t in ("health_daily", "points_ledger", "membership_change"))
