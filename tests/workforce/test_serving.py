"""Pods and the incentive ledger in the serving database, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from shouhu.storage import audit, ledger, serving
from shouhu.storage import workforce as store
from shouhu.storage.publish import publish_tables
from shouhu.storage.tables import app_user, customer_scope, staff
from shouhu.workforce import service

STAFF = [  # staff_id, role, team, branch
    ("A1", "agent", "T1", "B1"), ("A2", "agent", "T1", "B1"), ("A3", "team_leader", "T2", "B1"),
    ("A9", "agent", "T9", "B2"), ("S1", "service", None, "B1"), ("S2", "service", None, "B1"),
    ("H1", "health_manager", None, "B1"), ("Y1", "bank_seller", "X", "B1"),
]
SCOPE = [("C1", "A1", "T1", "B1"), ("C2", "A1", "T1", "B1"), ("C3", "A1", "T1", "B1"), ("C4", "A2", "T1", "B1"),
         ("C5", None, None, "B1"), ("C6", "A9", "T9", "B2"), ("C7", "Y1", "X", "B1")]


@pytest.fixture
def engine(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    eng = serving.engine_for(serving_url)
    with eng.begin() as conn:
        conn.execute(insert(staff), [{"staff_id": s, "name": s, "role": r, "team_id": t, "branch_id": b}
                                     for s, r, t, b in STAFF])
        conn.execute(insert(customer_scope), [{"customer_id": c, "agent_id": a, "team_id": t, "branch_id": b,
                                               "service_team_id": f"{b}-SVC"} for c, a, t, b in SCOPE])
        conn.execute(insert(store.policy_producer), [
            {"policy_no": "P1", "customer_id": "C1", "producer_of_record": "A1", "issue_date": date(2025, 1, 1),
             "status": "in_force", "annual_premium": 1000.0},
            {"policy_no": "P6", "customer_id": "C6", "producer_of_record": "A1", "issue_date": date(2025, 2, 1),
             "status": "in_force", "annual_premium": 2000.0}])
    yield eng
    eng.dispose()


def scope_of(engine: Engine) -> dict[str, tuple[Any, Any]]:
    with engine.connect() as conn:
        return {r.customer_id: (r.agent_id, r.team_id) for r in conn.execute(select(customer_scope))}


def test_sync_and_balanced_service_assignment(engine: Engine) -> None:
    assert service.sync(engine) == {"added": 7, "retired": 0}  # the bank seller serves in no pod role
    assert service.sync(engine)["added"] == 0
    store.set_member(engine, "S2", capacity=2)
    result = service.assign(engine, "service", actor="tester")
    by_staff: dict[str, list[str]] = {}
    for m in result["moves"]:
        by_staff.setdefault(m["to_staff"], []).append(m["customer_id"])
    # six B1 customers by utilisation: C1 → S1 (tie at 0, by id), C2 → S2 (0% < 0.1%), then S2 is at
    # 50% and S1 at 0.1%, so S1 takes the rest; C6 (B2) has no service staff in its branch
    assert by_staff == {"S1": ["C1", "C3", "C4", "C5", "C7"], "S2": ["C2"]}
    assert [u["customer_id"] for u in result["unassigned"]] == ["C6"]
    assert service.assign(engine, "service")["assigned"] == 0  # nothing left to do
    # the unassigned agentless customer gets an agent of its branch, the least loaded one (A3: 0)
    agents = service.assign(engine, "agent", actor="tester")
    assert [(m["customer_id"], m["to_staff"]) for m in agents["moves"]] == [("C5", "A3")]
    assert scope_of(engine)["C5"] == ("A3", "T2")
    assert audit.read(engine, action="pod.assign")[0]["actor"] == "tester"


def test_orphan_reassignment_keeps_the_record_and_survives_a_refresh(engine: Engine, serving_url: str) -> None:
    service.sync(engine)
    store.set_member(engine, "A2", capacity=2)  # A2 has C4: room for one more in the team
    result = service.leave(engine, "A1", actor="boss", reason="resigned 2026-12-01")
    targets = {m["customer_id"]: m["to_staff"] for m in result["moves"]}
    assert targets == {"C1": "A2", "C2": "A3", "C3": "A3"}  # team T1 first (A2 full after one), then branch
    assert "team T1" in result["moves"][0]["reason"] and "resigned" in result["moves"][0]["reason"]
    with engine.connect() as conn:
        pods = {p: store.pod_of(conn, c)["policies"][0] for p, c in (("P1", "C1"), ("P6", "C6"))}
        handover = store.moves(conn, to_staff="A3", kind="orphan")
    assert pods["P1"]["producer_of_record"] == "A1" and pods["P1"]["producer_of_service"] == "A2"
    assert pods["P6"]["producer_of_service"] == "A9"  # sold by A1 to A9's customer: service follows A9
    assert {m["customer_id"] for m in handover} == {"C2", "C3"}
    assert audit.read(engine, action="pod.orphan")[0]["detail"]["customers_moved"] == 3
    assert scope_of(engine)["C1"] == ("A2", "T1")
    # a refresh republishes customer_scope from the source data (A1 again) and re-applies the moves
    rows = pa.Table.from_pylist([{"customer_id": c, "agent_id": a, "team_id": t, "branch_id": b,
                                  "service_team_id": f"{b}-SVC"} for c, a, t, b in SCOPE])
    publish_tables(serving_url, {"customer_scope": rows}, finish=store.overlay_scope)
    after = scope_of(engine)
    assert after["C1"] == ("A2", "T1") and after["C3"] == ("A3", "T2") and after["C4"] == ("A2", "T1")
    assert after["C6"] == ("A9", "T9")
    # a new customer of A1 arriving with the refresh is picked up by the next assignment run
    with engine.begin() as conn:
        conn.execute(insert(customer_scope).values(customer_id="C8", agent_id="A1", team_id="T1", branch_id="B1"))
    assert [m["customer_id"] for m in service.assign(engine, "agent")["moves"]] == ["C5", "C8"]  # C5 had none


def test_a_deactivated_account_retires_the_member(engine: Engine) -> None:
    service.sync(engine)
    with engine.begin() as conn:
        conn.execute(insert(app_user).values(user_id="u-a2", display_name="A2", role="agent", staff_id="A2",
                                             branch_id="B1", can_reveal=False, password_hash="x", active=False,
                                             created_at="2026-01-01", updated_at="2026-01-01"))
    assert service.sync(engine)["retired"] == 1
    assert [m["customer_id"] for m in service.assign(engine, "agent")["moves"]] == ["C4", "C5"]


def entry(agent: str, amount: int, kind: str = "first_year", policy: str | None = "P1") -> dict[str, Any]:
    return {"agent_id": agent, "branch_id": "B1", "plan_id": "balanced", "kind": kind, "policy_no": policy,
            "period": "2026-11", "amount_fen": amount, "memo": "test"}


def test_ledger_refuses_update_and_delete_and_detects_tampering(engine: Engine) -> None:
    rows = ledger.append(engine, [entry("A1", 35_000), entry("A1", 12_000, "renewal")], actor="t")
    assert [r["seq"] for r in rows] == [1, 2] and ledger.verify(engine).ok
    t = ledger.incentive_ledger
    for statement in (update(t).where(t.c.seq == 1).values(amount_fen=1), t.delete().where(t.c.seq == 2)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    assert ledger.read(engine)[-1]["amount_fen"] == 35_000
    back = ledger.reverse(engine, 1, actor="t", reason="wrong product type")
    assert back["amount_fen"] == -35_000 and back["reverses_seq"] == 1
    with pytest.raises(ValueError, match="reversed already"):
        ledger.reverse(engine, 1, actor="t", reason="again")
    assert ledger.paid_first_year(engine, "balanced") == {"P1": 0}
    assert {(r["kind"], r["amount_fen"]) for r in ledger.totals(engine, agent_id="A1")} == {
        ("first_year", 35_000), ("renewal", 12_000), ("reversal", -35_000)}
    _tamper(engine)
    check = ledger.verify(engine)
    assert not check.ok and check.broken_at == 2 and "changed" in check.problem


def _tamper(engine: Engine) -> None:
    """What someone with the owner's rights could do: drop the guard, edit, put it back."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE incentive_ledger DISABLE TRIGGER incentive_ledger_append_only"))
            conn.execute(text("UPDATE incentive_ledger SET amount_fen = 99 WHERE seq = 2"))
            conn.execute(text("ALTER TABLE incentive_ledger ENABLE TRIGGER incentive_ledger_append_only"))
        else:
            conn.execute(text("DROP TRIGGER incentive_ledger_no_update"))
            conn.execute(text("UPDATE incentive_ledger SET amount_fen = 99 WHERE seq = 2"))


def test_pod_moves_are_append_only(engine: Engine) -> None:
    service.sync(engine)
    service.assign(engine, "health_manager")
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(store.pod_move.delete())
