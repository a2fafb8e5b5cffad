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
    """Hand-computed: month-13 due = 1200 + 100 + 600 + 1000 = 2900; received = 1200 + 500 = 1700."""
    policies = [
        _policy("A", "annual", 1200.0),                        # paid 5 days late: received 1200
        _policy("B", "monthly", 1200.0),                       # month-13 installment paid 76 days late: 0
        _policy("C", "quarterly", 2400.0, channel="bank"),     # nothing paid: 0 (lapse stays in)
        _policy("D", "single", 9000.0),                        # single premium: out
        _policy("E", "annual", 1000.0),                        # claimed before month 13: out
        _policy("F", "annual", 3000.0, term=1),                # premium term 1 year: nothing due
        _policy("G", "annual", 1200.0, issue=date(2025, 12, 1)),  # not yet observable: out
        _policy("H", "semi_annual", 2000.0, channel="bank"),   # half of the 1000 paid on time: 500
    ]
    payments = [
        _pay("A", date(2024, 1, 15), 1200.0, date(2024, 1, 15), 1200.0),
        _pay("A", date(2025, 1, 15), 1200.0, date(2025, 1, 20), 1200.0),
        _pay("B", date(2025, 1, 15), 100.0, date(2025, 4, 1), 100.0),
        _pay("B", date(2025, 2, 15), 100.0, date(2025, 2, 15), 100.0),  # month 14: outside the window
        _pay("H", date(2025, 1, 15), 1000.0, date(2025, 1, 15), 500.0),
    ]
    events = [{"policy_no": "E", "status": "claimed", "effective_date": date(2024, 6, 1)}]
    staff = [{"staff_id": "S1", "branch_id": "BR1"}]
    product = [{"product_code": "TL01", "product_type": "term_life"}]
    return {"src_policy": ibis.memtable(policies), "src_premium_payment": ibis.memtable(payments),
            "src_policy_status_event": ibis.memtable(events), "src_staff": ibis.memtable(staff),
            "src_product": ibis.memtable(product)}


def test_hand_computed_13_month_persistency():
    [row] = persistency.compute(small_book(), months=[13], as_of=AS_OF)
    assert row["policies"] == 4 and row["persisted"] == 1
    assert row["premium_due"] == pytest.approx(2900.0)
    assert row["premium_received"] == pytest.approx(1700.0)
    assert row["premium_persistency"] == pytest.approx(1700 / 2900)
    assert row["count_persistency"] == pytest.approx(0.25)


def test_grouped_by_channel_and_cohort():
    rows = persistency.compute(small_book(), months=[13], as_of=AS_OF, by=["channel", "cohort_quarter"])
    got = {r["channel"]: r for r in rows}
    assert got["agent"]["premium_persistency"] == pytest.approx(1200 / 1300)
    assert got["bank"]["premium_persistency"] == pytest.approx(500 / 1600)
    assert {r["cohort_quarter"] for r in rows} == {"2024Q1"}


def test_25_month_needs_the_window_observed():
    [row] = persistency.compute(small_book(), months=[25], as_of=AS_OF)
    assert row["policies"] == 4 and row["premium_received"] == 0  # nothing paid in month 25


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
