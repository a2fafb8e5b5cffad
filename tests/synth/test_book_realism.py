"""Issue 12 item 11 on a small generated book: lapses off the anniversary for monthly payers, monthly payers
lapsing differently from annual ones, sellers' grades consistent with what they sold; the channel mix by
premium close to the market (see docs/synthetic-book.md)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from shouhu.storage.warehouse import Warehouse
from shouhu.synth import book, policies
from shouhu.synth.config import CHANNELS, SynthConfig

GRADE_NEEDS = {"P1": 1, "P2": 1, "P3": 2, "P4": 3, "P5": 3}  # lowest Q allowed, advice/suitability.py


@pytest.fixture
def wh_url(loaded_book) -> str:
    _, url = loaded_book(customers=1500, seed=42)  # the identity tests' book: built once per session
    return str(url)


def _lapses(wh: Warehouse) -> list[tuple[str, date, date]]:
    rows = wh.query("SELECT p.payment_frequency, p.issue_date, e.effective_date FROM src_policy_status_event e "
                    "JOIN src_policy p ON p.policy_no = e.policy_no WHERE e.status = 'lapsed'")
    return [(r[0], r[1], r[2]) for r in rows]


def _months(issue: date, lapse: date) -> int:
    # the lapse is 60 days after the missed due date; months from issue to that due date
    due = date.fromordinal(lapse.toordinal() - 60)
    return (due.year - issue.year) * 12 + due.month - issue.month - (due.day < issue.day and due.day < 28)


def test_monthly_payers_lapse_in_any_month_mostly_early(wh_url: str) -> None:
    with Warehouse(wh_url) as wh:
        lapses = _lapses(wh)
    monthly = [_months(i, e) for f, i, e in lapses if f == "monthly"]
    annual = [_months(i, e) for f, i, e in lapses if f == "annual"]
    assert len(monthly) >= 20 and len(annual) >= 20
    assert all(m % 12 == 0 for m in annual)  # annual premiums fall due on anniversaries only
    off = [m for m in monthly if m % 12]
    assert len(off) > 0.5 * len(monthly)  # most monthly lapses are not on an anniversary
    # ... and early in the policy year they fall in (the first missed installment is geometric by month)
    assert sum(1 <= m % 12 <= 3 for m in off) > 3 * sum(9 <= m % 12 <= 11 for m in off)
    assert sum(m < 12 for m in monthly) > 0.25 * len(monthly)  # many within the first policy year
    assert sum(m < 12 for m in annual) == 0


def test_sellers_hold_the_grade_for_what_they_sold(wh_url: str) -> None:
    with Warehouse(wh_url) as wh:
        rows = wh.query("SELECT s.qualification_grade, pr.risk_grade FROM src_policy p "
                        "JOIN src_staff s ON s.staff_id = p.agent_id "
                        "JOIN src_product pr ON pr.product_code = p.product_code")
    assert len(rows) > 100
    bad = [(q, g) for q, g in rows if q and int(str(q)[-1]) < GRADE_NEEDS[g]]
    assert not bad, bad[:5]
    assert any(g in ("P4", "P5") for _, g in rows)  # investment-linked sold, by Q3 sellers only


def test_channel_mix_by_premium_is_measured(wh_url: str) -> None:
    with Warehouse(wh_url) as wh:
        rows = wh.query("SELECT channel, SUM(CASE WHEN payment_frequency = 'single' THEN annual_premium * 0.1 "
                        "ELSE annual_premium END) FROM src_policy GROUP BY channel")
    ape = {r[0]: float(r[1]) for r in rows}
    total = sum(ape.values())
    share = {k: v / total for k, v in ape.items()}
    # a 1,500-customer book is noisy: loose bands here, the market bands on a larger draw below
    assert 0.42 <= share["agent"] <= 0.62, share
    assert 0.28 <= share["bancassurance"] <= 0.45, share
    assert 0.02 <= share["broker"] <= 0.10, share


def test_channel_mix_by_premium_matches_the_market(tmp_path, monkeypatch) -> None:
    # new-business APE (single premiums at 10%) by selling channel on a 30,000-customer draw:
    # agent about half, bancassurance 35-40%, intermediaries 5-7% (docs/synthetic-book.md)
    drawn: list[policies.Policies] = []

    def keep(*args, **kwargs):  # the generator's own draw, kept for measuring
        drawn.append(policies.draw_policies(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(book, "draw_policies", keep)
    book.generate_book(tmp_path, SynthConfig(customers=30_000, seed=7))
    pol = drawn[0]
    ape = np.where(pol.frequency == 0, pol.premium * 0.1, pol.premium)
    share = {ch: float(ape[pol.channel == i].sum() / ape.sum()) for i, ch in enumerate(CHANNELS)}
    assert 0.46 <= share["agent"] <= 0.55, share
    assert 0.35 <= share["bancassurance"] <= 0.40, share
    assert 0.05 <= share["broker"] <= 0.07, share
    assert share["internet"] < share["broker"] + 0.03, share
