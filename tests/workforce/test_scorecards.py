"""KPI scorecards on a small hand-made book: values, bands, no data, drill-down and scoping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, insert

from shouhu.access.policy import Principal
from shouhu.access.roles import Role
from shouhu.storage import serving
from shouhu.storage import workforce as store
from shouhu.storage.tables import customer_scope, reflected, staff
from shouhu.workforce.scorecard import NotAllowed, scorecards_for

RANGE = {"start": date(2026, 1, 1), "end": date(2026, 6, 30)}


@pytest.fixture
def engine(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    eng = serving.engine_for(serving_url)
    scope = [("C1", "A1", "T1", "B1"), ("C2", "A1", "T1", "B1"), ("C3", "A2", "T1", "B1"), ("C4", "A9", "T9", "B2")]
    policies = [  # policy, holder, seller, issued, status, status date
        ("P1", "C1", "A1", date(2026, 2, 1), "in_force", None),
        ("P2", "C2", "A1", date(2026, 3, 1), "surrendered", date(2026, 3, 10)),   # free-look (9 days)
        ("P3", "C2", "A1", date(2026, 4, 1), "surrendered", date(2026, 6, 1)),    # later surrender: not free-look
        ("P4", "C3", "A2", date(2025, 4, 1), "in_force", None),                   # outside the range
        ("P5", "C4", "A9", date(2026, 5, 1), "in_force", None)]
    with eng.begin() as conn:
        conn.execute(insert(staff), [{"staff_id": s, "role": "agent", "team_id": t, "branch_id": b}
                                     for s, t, b in (("A1", "T1", "B1"), ("A2", "T1", "B1"), ("A9", "T9", "B2"))])
        conn.execute(insert(customer_scope), [{"customer_id": c, "agent_id": a, "team_id": t, "branch_id": b}
                                              for c, a, t, b in scope])
        conn.execute(insert(store.policy_producer), [
            {"policy_no": p, "customer_id": c, "producer_of_record": s, "issue_date": i, "status": st,
             "status_date": sd, "annual_premium": 1000.0} for p, c, s, i, st, sd in policies])
        conn.execute(insert(reflected(eng, "customer_persistency")), [
            {"customer_id": c, "month": 13, "policies": 1, "persisted": int(got == due), "premium_due": due,
             "premium_received": got} for c, due, got in (("C1", 1000, 1000), ("C2", 1000, 700), ("C3", 500, 500))])
    yield eng
    eng.dispose()


def cells(result: dict, row_id: str) -> dict[str, dict]:
    row = next(r for r in result["rows"] if r["id"] == row_id)
    return {m["measure"]: m for m in row["measures"]}


HEAD = Principal("h", Role.HEAD_OFFICE)


def test_agent_scorecard_by_hand(engine: Engine) -> None:
    a1 = cells(scorecards_for(engine, HEAD, "agent", **RANGE), "A1")
    assert a1["conversion"]["value"] == 1.0 and a1["conversion"]["band"] == "healthy"  # C1, C2 both bought
    assert a1["free_look_rate"]["value"] == pytest.approx(1 / 3, abs=1e-4) and a1["free_look_rate"]["band"] == "danger"
    assert a1["persistency_13"]["value"] == pytest.approx(0.85) and a1["persistency_13"]["band"] == "warning"
    assert a1["persistency_25"]["band"] == "no_data"  # nothing measured at 25 months: not 0
    assert a1["sla_hit_rate"]["value"] is None and a1["sla_hit_rate"]["note"]
    a2 = cells(scorecards_for(engine, HEAD, "agent", **RANGE), "A2")
    assert a2["conversion"]["value"] == 0.0 and a2["free_look_rate"]["band"] == "no_data"  # sold nothing in range


def test_drill_down_branch_team_agent(engine: Engine) -> None:
    branches = scorecards_for(engine, HEAD, "branch", **RANGE)
    assert [r["id"] for r in branches["rows"]] == ["B1", "B2"] and branches["rows"][0]["child"] == "team"
    b1 = cells(branches, "B1")
    assert b1["persistency_13"]["value"] == pytest.approx(2200 / 2500, abs=1e-4)
    teams = scorecards_for(engine, HEAD, "team", parent="B1", **RANGE)
    assert [r["id"] for r in teams["rows"]] == ["T1"]
    agents = scorecards_for(engine, HEAD, "agent", parent="T1", **RANGE)
    assert [r["id"] for r in agents["rows"]] == ["A1", "A2"]


def test_scoping(engine: Engine) -> None:
    agent = Principal("u", Role.AGENT, staff_id="A1", branch_id="B1")
    assert [r["id"] for r in scorecards_for(engine, agent, "agent", **RANGE)["rows"]] == ["A1"]
    with pytest.raises(NotAllowed):
        scorecards_for(engine, agent, "team", **RANGE)
    manager = Principal("m", Role.BRANCH_MANAGER, branch_id="B2")
    assert [r["id"] for r in scorecards_for(engine, manager, "agent", **RANGE)["rows"]] == ["A9"]
    assert [r["id"] for r in scorecards_for(engine, manager, "branch", **RANGE)["rows"]] == ["B2"]
    assert scorecards_for(engine, manager, "agent", parent="T1", **RANGE)["rows"] == []  # another branch's team
    with pytest.raises(NotAllowed):
        scorecards_for(engine, Principal("s", Role.SERVICE, team_id="B1-SVC"), "agent", **RANGE)
