"""Renewal collection rules on a hand-made warehouse (not the generator's book): what is due, in the
grace period and reinstatable; outcome checks; the grace-period calendar; the persistency impact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from shouhu.errors import InvalidInput
from shouhu.operations import renewal
from shouhu.storage.warehouse import Warehouse

AS_OF = date(2026, 10, 31)


def _d(s: str) -> date:
    return date.fromisoformat(s)


def _warehouse() -> dict[str, pd.DataFrame]:
    return {
        # agent channel file, as an outside system would give it: mixed payers, a paid one, old lapses
        "src_policy": pd.DataFrame({
            "policy_no": ["G", "U", "PAID", "L", "OLD", "FAR", "G"],   # G twice (a re-sent extract row)
            "_source": "agent", "holder_record_id": ["R1", "R1", "R2", "R1", "R1", "R2", "R1"],
            "agent_id": ["A1", "A1", "A2", "A1", "A1", "A2", "A1"],
            "annual_premium": [4000.0, 1200.0, 500.0, 3000.0, 900.0, 800.0, 4000.0]}),
        "src_premium_payment": pd.DataFrame({
            "policy_no": ["G", "G", "U", "PAID", "L", "L", "FAR"],
            "due_date": [_d(x) for x in ("2026-10-01", "2025-10-01", "2026-11-15", "2026-10-10", "2025-06-01",
                                         "2025-07-01", "2027-03-01")],
            "amount_due": [4000.0, 4000.0, 100.0, 500.0, 250.0, 250.0, 800.0],
            "paid_date": [None, _d("2025-10-03"), None, _d("2026-10-12"), None, None, None],
            "amount_paid": [None, 4000.0, None, 500.0, None, None, None]}),
        "src_policy_status_event": pd.DataFrame({
            "policy_no": ["G", "U", "L", "L", "OLD"],
            "status": ["in_force", "in_force", "in_force", "lapsed", "lapsed"],
            "effective_date": [_d(x) for x in ("2020-10-01", "2024-11-15", "2020-01-01", "2025-08-01", "2023-01-01")]}),
        "identity_cluster": pd.DataFrame({"source": "agent", "record_id": ["R1", "R2"], "customer_id": ["C1", "C2"]}),
    }


def test_premium_due_rows_by_hand(tmp_path: Path) -> None:
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        for name, df in _warehouse().items():
            wh.write_table(name, df)
        tables = {n: wh.table(n) for n in renewal.NEEDS}
        rows = renewal.premium_due_expr(tables, AS_OF).execute().sort_values(["state", "policy_no"])
    got = [(r.policy_no, r.state, str(r.due_date)[:10], r.amount_due, str(r.lapse_date)[:10], r.customer_id,
            r.agent_id) for r in rows.itertuples()]
    assert got == [
        ("G", "grace", "2026-10-01", 4000.0, "2026-11-30", "C1", "A1"),      # due + 60 days (art. 36)
        ("L", "lapsed", "2025-08-01", 500.0, "2025-08-01", "C1", "A1"),      # arrears of the two unpaid premiums
        ("U", "upcoming", "2026-11-15", 100.0, "2027-01-14", "C1", "A1"),
    ]  # PAID was paid, OLD lapsed more than two years ago (art. 37), FAR is due beyond 30 days


def test_policies_in_force_for_anniversaries(tmp_path: Path) -> None:
    """Live policies only: the latest status event decides (L lapsed, OLD lapsed), else the policy's own
    status (SURR surrendered in the extract, no events); a policy issued after the day is not yet in force;
    a re-sent row counts once."""
    data = _warehouse()
    pol = data["src_policy"]
    pol["issue_date"] = [_d(x) for x in ("2020-10-01", "2024-11-15", "2022-02-28", "2020-01-01", "2019-05-05",
                                         "2026-11-20", "2020-10-01")]
    pol["product_code"] = "TERM20"
    pol["status"] = ["in_force", "in_force", "in_force", "in_force", "in_force", "in_force", "in_force"]
    extra = pd.DataFrame({"policy_no": ["SURR"], "_source": "agent", "holder_record_id": ["R2"], "agent_id": ["A2"],
                          "annual_premium": [700.0], "issue_date": [_d("2021-03-03")], "product_code": "WL",
                          "status": ["surrendered"]})
    data["src_policy"] = pd.concat([pol, extra], ignore_index=True)
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        for name, df in data.items():
            wh.write_table(name, df)
        tables = {n: wh.table(n) for n in (*renewal.IN_FORCE_NEEDS, "src_policy_status_event")}
        rows = renewal.in_force_expr(tables, AS_OF).execute().sort_values("policy_no")
        without_events = renewal.in_force_expr({n: wh.table(n) for n in renewal.IN_FORCE_NEEDS}, AS_OF).execute()
    assert [(r.policy_no, r.customer_id, str(r.issue_date)[:10]) for r in rows.itertuples()] == [
        ("G", "C1", "2020-10-01"), ("PAID", "C2", "2022-02-28"), ("U", "C1", "2024-11-15")]
    assert sorted(without_events.policy_no) == ["G", "L", "OLD", "PAID", "U"]  # no events: own status only


def test_outcome_checks_name_the_field() -> None:
    grace = {"state": "grace", "lapse_date": date(2026, 11, 30)}
    today = date(2026, 11, 2)
    assert renewal.check_outcome(grace, "promised", "2026-11-20", today) == "2026-11-20"
    assert renewal.check_outcome(grace, "paid", None, today) is None
    with pytest.raises(InvalidInput, match="promised_date: 2026-12-05 is after the grace period ends"):
        renewal.check_outcome(grace, "promised", "2026-12-05", today)
    with pytest.raises(InvalidInput, match="promised_date: required"):
        renewal.check_outcome(grace, "promised", None, today)
    with pytest.raises(InvalidInput, match="promised_date: 2026-11-01 is in the past"):
        renewal.check_outcome(grace, "promised", "2026-11-01", today)
    with pytest.raises(InvalidInput, match="outcome: must be one of"):
        renewal.check_outcome(grace, "discounted", None, today)
    with pytest.raises(InvalidInput, match="promised_date: only a promise"):
        renewal.check_outcome(grace, "refused", "2026-11-20", today)
    # a reinstatement may be promised after the grace period (there is none left)
    assert renewal.check_outcome({"state": "lapsed", "lapse_date": date(2025, 8, 1)}, "promised", "2027-01-10",
                                 today) == "2027-01-10"


def test_alerts_calendar_and_impact() -> None:
    rows = [
        {"policy_no": "G", "due_date": "2026-10-01", "state": "grace", "amount_due": 4000.0,
         "annual_premium": 4000.0, "lapse_date": date(2026, 11, 30)},
        {"policy_no": "H", "due_date": "2026-10-05", "state": "grace", "amount_due": 100.0,
         "annual_premium": 1200.0, "lapse_date": date(2026, 12, 4)},
        {"policy_no": "H", "due_date": "2026-11-05", "state": "grace", "amount_due": 100.0,   # same policy, monthly
         "annual_premium": 1200.0, "lapse_date": date(2027, 1, 4)},
        {"policy_no": "U", "due_date": "2026-11-15", "state": "upcoming", "amount_due": 100.0,
         "annual_premium": 1200.0, "lapse_date": date(2027, 1, 14)},
        {"policy_no": "L", "due_date": "2025-08-01", "state": "lapsed", "amount_due": 500.0,
         "annual_premium": 3000.0, "lapse_date": date(2025, 8, 1)},
    ]
    today = date(2026, 11, 28)
    assert [renewal.is_alert(r, today) for r in rows] == [True, True, False, False, False]
    cal = renewal.calendar(rows, date(2026, 11, 28), 10)
    assert cal == [{"date": "2026-11-30", "premiums": 1, "amount_due": 4000.0},
                   {"date": "2026-12-04", "premiums": 1, "amount_due": 100.0}]
    out = renewal.impact(rows, 52_000.0, {("G", "2026-10-01"): "promised", ("H", "2026-10-05"): "paid"})
    # H was paid: only G's 4,000 is at risk (each policy once), 4,000 / 52,000 = 7.69 %
    assert out["premium_at_risk"] == 4000.0 and out["share_at_risk"] == 0.0769
    assert out["policies_in_grace"] == 2 and out["at_risk_by_outcome"] == {"paid": 1200.0, "promised": 4000.0}
    assert out["reinstatable_premium"] == 3000.0
    assert renewal.impact([], 0.0, {})["share_at_risk"] == 0.0
