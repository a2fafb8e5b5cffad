"""Pure workforce rules on small hand-made inputs: balance, orphans, plans, simulator, KPI bands."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shouhu.errors import ConfigError, UnknownName
from shouhu.workforce import kpi, pods, simulator
from shouhu.workforce.incentives import PolicyFacts, bonus_entries, commission_entries, get_plan, load_plans

M = pods.Member


def test_balance_fills_least_utilised_first_within_capacity_and_branch() -> None:
    members = [M("S1", "service", "B1", capacity=4), M("S2", "service", "B1", capacity=2, load=1),
               M("S3", "service", "B2", capacity=10), M("S4", "service", "B1", capacity=9, active=False)]
    needs = [pods.Need(f"C{i}", "B1") for i in range(6)] + [pods.Need("X1", "B2"), pods.Need("Y1", "B9")]
    out = {d.customer_id: d for d in pods.balance(members, needs, "service")}
    load = {"S1": 0, "S2": 1}
    for i in range(6):
        sid = out[f"C{i}"].staff_id
        if sid:
            load[sid] += 1
    # capacities 4 and 2 (1 used): 4 + 1 = 5 places for 6 customers; the last one is refused
    assert load == {"S1": 4, "S2": 2}
    assert out["C5"].staff_id is None and "no active service with room" in out["C5"].reason
    assert out["X1"].staff_id == "S3" and out["Y1"].staff_id is None   # other branch, unknown branch
    assert "S4" not in {d.staff_id for d in out.values()}              # inactive members get nobody
    assert out["C0"].staff_id == "S1" and "0/4" in out["C0"].reason    # S1 at 0% beats S2 at 50%


def test_balance_keeps_utilisation_level_and_is_deterministic() -> None:
    members = [M(f"A{i}", "agent", "B", capacity=c) for i, c in enumerate((100, 50, 200))]
    needs = [pods.Need(f"C{i:03d}", "B") for i in range(175)]
    first = pods.balance(members, needs, "agent")
    assert first == pods.balance(members, list(reversed(needs)), "agent")
    counts = {m.staff_id: sum(d.staff_id == m.staff_id for d in first) for m in members}
    assert counts == {"A0": 50, "A1": 25, "A2": 100}  # 175 over capacity 350: everyone at 50%


def test_orphans_go_to_the_team_first_then_the_branch() -> None:
    members = [M("OLD", "agent", "B", "T1", 10, 3, active=False), M("T1A", "agent", "B", "T1", 2, 1),
               M("T2A", "agent", "B", "T2", 10, 0), M("FAR", "agent", "Z", "T1", 10, 0)]
    needs = [pods.Need(c, "B", "T1") for c in ("C1", "C2", "C3")]
    out = pods.orphan_targets(members, needs, "OLD")
    assert [d.staff_id for d in out] == ["T1A", "T2A", "T2A"]  # T1A has one place left
    assert out[0].reason.startswith("OLD left; team T1") and "branch B" in out[1].reason


def test_unknown_pod_role_lists_choices() -> None:
    with pytest.raises(UnknownName, match="health_manager"):
        pods.balance([], [], "nurse")


def _policy(no: str, issued: date, status: str = "in_force", ended: date | None = None, premium: float = 1000.0,
            ptype: str = "critical_illness", service: str = "A1") -> PolicyFacts:
    return PolicyFacts(no, "A1", service, ptype, issued, status, ended, premium)


def test_commission_renewal_and_clawback_by_hand() -> None:
    plan = get_plan("balanced")
    pols = [_policy("P1", date(2026, 3, 5)),                                            # new: 35% of 1000
            _policy("P2", date(2024, 3, 9), premium=2000, ptype="medical", service="B2"),  # year 3: 8% to B2
            _policy("P3", date(2026, 2, 20), "surrendered", date(2026, 3, 3)),          # free-look: all back
            _policy("P4", date(2025, 9, 1), "lapsed", date(2026, 3, 2)),               # 6 months: 100% back
            _policy("P5", date(2024, 1, 1), "lapsed", date(2026, 3, 2))]               # 26 months: kept
    paid = {"P3": 35_000, "P4": 35_000, "P5": 35_000}
    got = {(e.policy_no, e.kind): (e.agent_id, e.amount_fen) for e in commission_entries(plan, pols, "2026-03", paid)}
    assert got == {("P1", "first_year"): ("A1", 35_000), ("P2", "renewal"): ("B2", 16_000),
                   ("P3", "clawback"): ("A1", -35_000), ("P4", "clawback"): ("A1", -35_000)}


def test_persistency_bonus_needs_the_threshold() -> None:
    plan = get_plan("balanced")  # bonus 15% when ≥ 85%
    good = [_policy(f"G{i}", date(2025, 4, 10)) for i in range(7)]
    bad = [PolicyFacts(f"B{i}", "A2", "A2", "term_life", date(2025, 4, 3), "lapsed" if i < 2 else "in_force",
                       date(2025, 9, 1) if i < 2 else None, 500.0) for i in range(5)]
    entries = bonus_entries(plan, good + bad, "2026-04")
    assert [(e.agent_id, e.amount_fen) for e in entries] == [("A1", 105_000)]  # 15% × 7000; A2 at 60%


def test_simulator_matches_hand_arithmetic() -> None:
    plan = get_plan("balanced")
    rows = simulator.simulate(plan, simulator.get_profile("steward"), years=2)
    # P = 25 × 8000 = 200000; f = 30%; free-look 1%; lapse 5%; unsuitable 1% (half withheld)
    assert rows[0]["first_year"] == 60000 and rows[0]["clawback"] == pytest.approx(-600 - 2970)
    assert rows[0]["withheld"] == pytest.approx(-300) and rows[0]["total"] == pytest.approx(56130)
    # year 2: a new cohort again, the first cohort's bonus 15% × 200000 × 0.9405 and renewal 10% × 0.9405
    assert rows[1]["persistency_bonus"] == pytest.approx(28215) and rows[1]["renewal"] == pytest.approx(18810)
    assert rows[1]["cumulative"] == pytest.approx(56130 * 2 + 28215 + 18810)


def test_balanced_plan_pays_the_steward_more_and_the_volume_plan_does_not() -> None:
    profiles = dict(simulator.PROFILES)
    balanced = simulator.compare(get_plan("balanced"), profiles, years=5)
    volume = simulator.compare(get_plan("volume"), profiles, years=5)
    assert balanced["leader"] == "steward" and volume["leader"] == "churner"
    churn, steward = (balanced["profiles"][n]["rows"] for n in ("churner", "steward"))
    assert all(s["cumulative"] > c["cumulative"] for s, c in zip(steward[1:], churn[1:], strict=True))


def test_bad_plan_file_names_the_field(tmp_path: Path) -> None:
    f = tmp_path / "plans.toml"
    f.write_text("[plan.x]\nfirst_year = { default = 1.5 }\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"plans.toml: plan.x.first_year.default"):
        load_plans(f)
    f.write_text("[plan.x]\nrenewl = {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown field"):
        load_plans(f)


def test_kpi_bands_and_no_data() -> None:
    measures = kpi.load_measures()
    card = {r["measure"]: r for r in kpi.scorecard(measures, {
        "persistency_13": kpi.Count(45, 50),             # 0.90: healthy (≥ 0.90)
        "persistency_25": kpi.Count(31, 40),             # 0.775: warning
        "free_look_rate": kpi.Count(7, 100),             # 0.07: danger (lower is better)
        "conversion": kpi.Count(0, 0),                   # nothing sold in range
        "sla_hit_rate": kpi.Count(missing="table service_case not built yet")})}
    assert card["persistency_13"]["band"] == "healthy" and card["persistency_25"]["band"] == "warning"
    assert card["free_look_rate"]["band"] == "danger"
    assert card["conversion"]["value"] is None and card["conversion"]["band"] == "no_data"
    assert card["sla_hit_rate"]["note"] == "table service_case not built yet"
    assert card["csat"]["band"] == "no_data"  # not measured is not zero


def test_kpi_band_file_is_checked(tmp_path: Path) -> None:
    f = tmp_path / "bands.toml"
    f.write_text("[measure.x]\nhealthy = 0.5\nwarning = 0.7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="healthy"):
        kpi.load_measures(f)
