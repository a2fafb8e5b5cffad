from datetime import date

import ibis
import pytest

from shouhu.errors import UnknownName
from shouhu.scoring import persistency
from shouhu.storage.warehouse import Warehouse

AS_OF = date(2026, 6, 30)
ISSUE = date(2024, 1, 15)


def _policy(no, freq, premium, channel="agent", term=10, issue=ISSUE, agent="S1"):
    return {"policy_no": no, "product_code": "TL01", "channel": channel, "agent_id": agent, "issue_date": issue,
            "annual_premium": premium, "payment_frequency": freq, "premium_term_years": term}


def _pay(no, due, amount_due, paid=None, amount=None):
    return {"policy_no": no, "due_date": due, "amount_due": amount_due, "paid_date": paid, "amount_paid": amount}


def small_book():
    """Hand-computed, weighted by annualised premium: month-13 due = 1200 + 1200 + 2400 + 2000 = 6800 (A, B, C, H);
    received = 1200 (A) + 0 (B) + 0 (C) + 2000 × 500/1000 (H) = 2200. I was cancelled in its cool-off: out."""
    policies = [
        _policy("A", "annual", 1200.0),                        # paid 5 days late: received 1200
        _policy("B", "monthly", 1200.0),                       # month-13 installment paid 76 days late: 0
        _policy("C", "quarterly", 2400.0, channel="bank"),     # nothing paid: 0 (lapse stays in)
        _policy("D", "single", 9000.0),                        # single premium: out
        _policy("E", "annual", 1000.0),                        # claimed before month 13: out
        _policy("F", "annual", 3000.0, term=1),                # premium term 1 year: nothing due
        _policy("G", "annual", 1200.0, issue=date(2025, 12, 1)),  # not yet observable: out
        _policy("H", "semi_annual", 2000.0, channel="bank"),   # half of the 1000 paid on time: 500
        _policy("I", "monthly", 2400.0),                       # cancelled on day 10 (犹豫期): out
        _policy("J", "annual", 1800.0),                        # surrendered on day 40: a lapse, stays in (0)
    ]
    payments = [
        _pay("A", date(2024, 1, 15), 1200.0, date(2024, 1, 15), 1200.0),
        _pay("A", date(2025, 1, 15), 1200.0, date(2025, 1, 20), 1200.0),
        _pay("B", date(2025, 1, 15), 100.0, date(2025, 4, 1), 100.0),
        _pay("B", date(2025, 2, 15), 100.0, date(2025, 2, 15), 100.0),  # month 14: outside the window
        _pay("H", date(2025, 1, 15), 1000.0, date(2025, 1, 15), 500.0),
    ]
    events = [{"policy_no": "E", "status": "claimed", "effective_date": date(2024, 6, 1)},
              {"policy_no": "I", "status": "surrendered", "effective_date": date(2024, 1, 25)},
              {"policy_no": "J", "status": "surrendered", "effective_date": date(2024, 2, 24)}]
    staff = [{"staff_id": "S1", "branch_id": "BR1"}]
    product = [{"product_code": "TL01", "product_type": "term_life"}]
    return {"src_policy": ibis.memtable(policies), "src_premium_payment": ibis.memtable(payments),
            "src_policy_status_event": ibis.memtable(events), "src_staff": ibis.memtable(staff),
            "src_product": ibis.memtable(product)}


def test_hand_computed_13_month_persistency():
    [row] = persistency.compute(small_book(), months=[13], as_of=AS_OF)
    assert row["policies"] == 5 and row["persisted"] == 1
    assert row["premium_due"] == pytest.approx(6800.0 + 1800.0)
    assert row["premium_received"] == pytest.approx(2200.0)
    assert row["premium_persistency"] == pytest.approx(2200 / 8600)
    assert row["count_persistency"] == pytest.approx(0.2)


def test_monthly_payer_counts_by_its_annual_premium():
    rows = {r["policy_no"]: r for r in persistency.per_policy(small_book(), 13, AS_OF).to_pyarrow().to_pylist()}
    assert rows["B"]["modal_due"] == pytest.approx(100.0) and rows["B"]["due"] == pytest.approx(1200.0)
    assert rows["H"]["modal_received"] == pytest.approx(500.0) and rows["H"]["received"] == pytest.approx(1000.0)
    assert "I" not in rows and "J" in rows


def test_grouped_by_channel_and_cohort():
    rows = persistency.compute(small_book(), months=[13], as_of=AS_OF, by=["channel", "cohort_quarter"])
    got = {r["channel"]: r for r in rows}
    assert got["agent"]["premium_persistency"] == pytest.approx(1200 / (1200 + 1200 + 1800))  # A, B, J
    assert got["bank"]["premium_persistency"] == pytest.approx(1000 / (2400 + 2000))  # C, H
    assert {r["cohort_quarter"] for r in rows} == {"2024Q1"}


def test_25_month_needs_the_window_observed():
    [row] = persistency.compute(small_book(), months=[25], as_of=AS_OF)
    assert row["policies"] == 5 and row["premium_received"] == 0  # nothing paid in month 25 (J lapsed stays in)


def test_unknown_grouping_lists_choices():
    with pytest.raises(UnknownName, match="channel"):
        persistency.compute(small_book(), months=[13], as_of=AS_OF, by=["colour"])


def test_generated_book_is_near_its_targets(loaded_book):
    _, url = loaded_book(customers=800, seed=5)
    with Warehouse(url) as wh:
        rows = persistency.compute(persistency.warehouse_tables(wh))
    by_month = {r["month"]: r for r in rows}
    assert by_month[13]["premium_persistency"] == pytest.approx(0.90, abs=0.05)
    assert by_month[25]["premium_persistency"] == pytest.approx(0.85, abs=0.06)
    assert by_month[13]["count_persistency"] == pytest.approx(0.90, abs=0.05)
