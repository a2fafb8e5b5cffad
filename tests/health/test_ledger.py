"""The points ledger: expiry order, redemption, annual reset, and balance invariants (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.health import ledger
from shouhu.health.errors import NotEnoughPoints
from shouhu.health.ledger import Entry

START = date(2026, 1, 1)


def earn(key: str, points: int, day: date, expires: date, year: int = 2026) -> Entry:
    return Entry(key, "C1", "earn", "steps", points, day, year, expires_on=expires)


def test_redemption_takes_the_soonest_expiring_lots_first() -> None:
    book = [earn("late", 500, date(2026, 3, 1), date(2026, 9, 1)),
            earn("soon", 300, date(2026, 2, 1), date(2026, 5, 1)),
            earn("soonest", 100, date(2026, 2, 10), date(2026, 4, 1))]
    draws = ledger.redeem(book, 450, date(2026, 3, 10), "r1", 2026)
    assert [(d.lot, d.points) for d in draws] == [("soonest", -100), ("soon", -300), ("late", -50)]
    after = book + draws
    assert ledger.balance(after) == 450 and ledger.available(after, date(2026, 3, 10)) == 450


def test_expired_points_cannot_be_spent_and_are_closed_on_their_day() -> None:
    book = [earn("a", 300, date(2026, 1, 5), date(2026, 7, 4)), earn("b", 200, date(2026, 3, 1), date(2026, 8, 28))]
    assert ledger.available(book, date(2026, 7, 3)) == 500
    assert ledger.available(book, date(2026, 7, 4)) == 200  # the expiry day is the first day it cannot be spent
    with pytest.raises(NotEnoughPoints, match="300 wanted but 200 spendable"):
        ledger.redeem(book, 300, date(2026, 7, 4), "r", 2026)
    closed = ledger.expire(book, date(2026, 7, 4), 2026)
    assert [(e.kind, e.lot, e.points, e.key) for e in closed] == [("expire", "a", -300, "expire:a")]
    assert ledger.expire(book + closed, date(2026, 7, 4), 2026) == []  # idempotent


def test_annual_reset_carries_a_share_and_closes_the_rest() -> None:
    book = [earn("a", 333, date(2025, 11, 1), date(2026, 4, 30), 2025),
            earn("b", 1000, date(2025, 12, 1), date(2026, 5, 30), 2025),
            earn("gone", 50, date(2025, 6, 1), date(2025, 11, 28), 2025)]
    book += ledger.expire(book, START, 2026)
    book += ledger.redeem(book, 300, date(2025, 12, 20), "r", 2025)
    reset = ledger.annual_reset(book, START, 2026, 0.25, 180)
    closes = [e for e in reset if e.kind == "reset"]
    carry = [e for e in reset if e.kind == "carry"]
    assert sorted((e.lot, e.points) for e in closes) == [("a", -33), ("b", -1000)]
    assert [(c.points, c.expires_on, c.programme_year) for c in carry] == [(258, START + timedelta(days=180), 2026)]
    after = book + reset
    assert ledger.balance(after) == 258 and ledger.status_points(after, 2026) == 0
    assert ledger.status_points(after, 2025) == 1383  # redemption does not lower status; carry does not add
    assert ledger.annual_reset(after, START, 2026, 0.25, 180) == []


# --- invariants ----------------------------------------------------------------------------------------

op = st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 400), st.integers(0, 400), st.integers(1, 300)),
    st.tuples(st.just("redeem"), st.integers(1, 900), st.integers(0, 400), st.just(0)),
    st.tuples(st.just("expire"), st.just(0), st.integers(0, 400), st.just(0)),
    st.tuples(st.just("reset"), st.just(0), st.integers(0, 400), st.sampled_from([0, 10, 25, 50, 100])),
)


def _apply(book: list[Entry], step: int, kind: str, points: int, offset: int, extra: int) -> list[Entry]:
    day = START + timedelta(days=offset)
    if kind == "earn":
        return [earn(f"e{step}", points, day, day + timedelta(days=extra))]
    if kind == "redeem":
        try:
            return ledger.redeem(book, points, day, f"r{step}", 2026)
        except NotEnoughPoints:
            assert ledger.available(book, day) < points
            return []
    if kind == "expire":
        return ledger.expire(book, day, 2026)
    return [e if e.kind != "carry" else Entry(f"{e.key}:{step}", e.customer_id, e.kind, e.category, e.points, e.day,
                                              e.programme_year, e.expires_on)
            for e in ledger.annual_reset(book, day, 2027, extra / 100, 180)]


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=40))
def test_balance_equals_the_lots_remainders_and_never_goes_negative(ops: list[tuple[str, int, int, int]]) -> None:
    book: list[Entry] = []
    for step, (kind, points, offset, extra) in enumerate(ops):
        before = ledger.balance(book)
        new = _apply(book, step, kind, points, offset, extra)
        book += new
        lots = ledger.lots(book)
        assert ledger.balance(book) == sum(lot.remaining for lot in lots) >= 0
        assert all(0 <= lot.remaining <= lot.entry.points for lot in lots)
        assert len({e.key for e in book}) == len(book)
        if kind == "redeem" and new:
            assert ledger.balance(book) == before - points


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.integers(0, 200), st.integers(1, 300)), min_size=1, max_size=15),
       st.integers(1, 2000), st.integers(0, 250))
def test_no_later_lot_is_drawn_while_a_sooner_one_keeps_points(lots: list[tuple[int, int, int]], want: int,
                                                               on_offset: int) -> None:
    book = [earn(f"e{i}", p, START + timedelta(days=d), START + timedelta(days=d + life))
            for i, (p, d, life) in enumerate(lots)]
    on = START + timedelta(days=on_offset)
    if ledger.available(book, on) < want:
        return
    draws = ledger.redeem(book, want, on, "r", 2026)
    order = [lot.entry.key for lot in ledger.spendable(book, on)]
    drawn = [d.lot for d in draws]
    assert drawn == order[:len(drawn)]                                 # a prefix of the expiry order
    remaining = {lot.entry.key: lot.remaining for lot in ledger.lots(book + draws)}
    assert all(remaining[k] == 0 for k in drawn[:-1])                  # every lot before the last is emptied
    assert sum(-d.points for d in draws) == want
