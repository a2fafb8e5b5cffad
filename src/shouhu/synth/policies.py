"""New business: who bought which product, for whom, when, and at what premium.

Policies are drawn per holder record of each selling channel with that channel's product mix.
The insured is the holder or, in the household's primary channel, a relative (parent insures a
child, spouse insures spouse). Premiums come from :mod:`shouhu.reference.products` pricing at the
insured's age at issue (周岁), so the book's premiums equal the rate book.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shouhu.reference.products import INTEREST_CAPS, SHELF, rate_table
from shouhu.synth.config import CHANNELS
from shouhu.synth.people import People, day_number, years_between
from shouhu.synth.records import ChannelRecords
from shouhu.synth.text import cat, num

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
FREQUENCIES = ("single", "annual", "semi_annual", "quarterly", "monthly")
PER_YEAR = np.array([1, 1, 2, 4, 12])
CODES = [p.code for p in SHELF]
# Product mix per selling channel, in SHELF order:
#  TL01 TL02 TL03 WL01 WL02 IW01 IW02 CI01 CI02 CI03 MD01 MD02 AC01 AC02 AN01 AN02 EN01 EN02 EN03 UL01 IL01 IL02 PA01
MIX = {
    "agent": (6, 4, 0, 6, 4, 5, 2, 16, 6, 0, 6, 0, 6, 4, 8, 1, 5, 6, 0, 4, 0, 1, 4),
    "bancassurance": (0, 0, 0, 2, 2, 14, 14, 2, 0, 0, 0, 0, 3, 0, 6, 14, 2, 6, 16, 6, 4, 1, 6),
    "broker": (10, 6, 0, 4, 2, 6, 3, 12, 4, 4, 10, 2, 8, 4, 4, 2, 3, 2, 2, 4, 2, 2, 1),
    "internet": (0, 0, 14, 0, 0, 2, 1, 0, 2, 14, 22, 18, 18, 2, 0, 0, 0, 0, 0, 2, 0, 0, 0),
}
POLICIES_PER_HOLDER = {"agent": 1.25, "bancassurance": 1.29, "broker": 0.61, "internet": 1.1}
FALLBACK = CODES.index("AC01")
RATE_BOOK_DATES = tuple(d for d, _ in INTEREST_CAPS)


def rate_book_version(issue: IntArray) -> IntArray:
    """Index into RATE_BOOK_DATES of the interest cap in force on each issue day."""
    starts = np.array([day_number(d) for d in RATE_BOOK_DATES])
    return np.asarray(np.searchsorted(starts, issue, side="right") - 1, dtype=np.int64).clip(0)


@dataclass
class Policies:
    channel: IntArray
    holder_rec: IntArray  # row in that channel's records
    insured_rec: IntArray
    holder: IntArray  # true person
    insured: IntArray
    product: IntArray
    issue: IntArray
    issue_age: IntArray
    sum_assured: FloatArray
    premium: FloatArray
    frequency: IntArray  # index into FREQUENCIES
    pay_years: IntArray
    cover_years: IntArray
    policy_no: Any = None

    def __len__(self) -> int:
        return len(self.channel)


def _shelf(attr: str) -> IntArray:
    return np.array([getattr(p, attr) for p in SHELF], dtype=np.int64)


def _eligible(product: IntArray, age: IntArray, issue: IntArray) -> npt.NDArray[np.bool_]:
    launched = np.array([day_number(p.launched_on) for p in SHELF])
    return (_shelf("min_age")[product] <= age) & (age <= _shelf("max_age")[product]) & (issue >= launched[product])


def _draw_for_channel(
    rng: np.random.Generator, people: People, recs: ChannelRecords, rec_of: IntArray, start: int, end: int
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """(holder record, insured record, issue day, earliest and latest possible issue day) for one channel."""
    adult = (end - people.birth[recs.person]) >= 19 * 366
    lam = POLICIES_PER_HOLDER[recs.channel] * np.where(recs.primary, 1.0, 0.7)
    k = np.where(adult, rng.poisson(lam), 0)
    holder_rec = np.repeat(np.arange(len(recs)), k)
    holder = recs.person[holder_rec]
    n = len(holder)
    size, pos = people.hh_size[holder], holder - people.hh_start[holder]
    other = people.hh_start[holder] + (pos + 1 + rng.integers(0, 1 << 30, n) % np.maximum(size - 1, 1)) % size
    relative = recs.primary[holder_rec] & (size > 1) & (rng.random(n) < 0.4)
    insured = np.where(relative, other, holder)
    too_old = years_between(people.birth[insured], np.full(n, end)) > 72
    insured = np.where(too_old, holder, insured)
    lb = np.maximum.reduce([np.full(n, start), people.birth[holder] + 18 * 366, people.birth[insured] + 30])
    ub = np.minimum.reduce([np.full(n, end - 1), people.death[holder] - 30, people.death[insured] - 30])
    ok = lb <= ub
    issue = lb + ((ub - lb) * rng.random(n) ** 0.85).astype(np.int64)
    return holder_rec[ok], rec_of[insured[ok]], issue[ok], lb[ok], ub[ok]


def _sum_assured(
    rng: np.random.Generator, product: IntArray, income: FloatArray, age: IntArray, n: int
) -> FloatArray:
    child = age < 18
    basis = np.array([p.basis for p in SHELF])[product]
    pay = _shelf("pay_years")[product]
    factor = np.array([p.sa_factor for p in SHELF])[product]
    inc = np.where(income > 0, income, 80_000.0)
    life = np.clip(np.round(inc * rng.uniform(2, 10, n), -4), 100_000, 5_000_000)
    life = np.where(child, np.round(rng.uniform(10, 50, n)) * 10_000, life)
    ci = np.clip(np.round(inc * rng.uniform(1, 4, n), -4), 100_000, 1_000_000)
    ci = np.where(child, np.round(rng.uniform(20, 50, n)) * 10_000, ci)
    accident = np.round(rng.uniform(10, 100, n)) * 10_000
    # minors' death-benefit cap (保监发〔2015〕90号): 200,000 under 10, 500,000 at 10-17, per policy here
    pays_death = np.array([any(c.value in ("life", "accident") for c in p.coverages) for p in SHELF])[product]
    cap = np.where(age < 10, 200_000.0, 500_000.0)
    minor = child & pays_death
    life, ci, accident = (np.where(minor, np.minimum(a, cap), a) for a in (life, ci, accident))
    yearly = np.maximum(3000.0, np.round(inc * rng.uniform(0.05, 0.25, n), -3))
    single = np.maximum(10_000.0, np.round(inc * rng.uniform(0.5, 3.0, n), -4))
    savings = np.where(pay == 1, single, yearly) * pay * factor
    return np.select(
        [basis == "mortality", basis == "critical_illness", basis == "medical", basis == "accident"],
        [life, ci, np.full(n, 2_000_000.0), accident],
        np.round(savings, 2),
    )


def _frequency(rng: np.random.Generator, channel: IntArray, product: IntArray) -> IntArray:
    n = len(channel)
    internet = channel == CHANNELS.index("internet")
    regular = np.where(
        internet, rng.choice(5, size=n, p=[0, 0.55, 0, 0, 0.45]), rng.choice(5, size=n, p=[0, 0.86, 0.03, 0.03, 0.08])
    )
    one_year = (_shelf("pay_years")[product] == 1) & (_shelf("cover_years")[product] == 1)
    single = (_shelf("pay_years")[product] == 1) & ~one_year
    return np.where(single, 0, np.where(one_year & (regular != 4), 1, regular)).astype(np.int64)


def draw_policies(
    rng: np.random.Generator, people: People, records: dict[str, ChannelRecords], start: int, end: int,
    timing: Callable[[str, IntArray, IntArray, IntArray], IntArray] | None = None,
) -> Policies:
    """All new business over the window, priced from the rate book, in a stable order.

    ``timing(channel, issue, earliest, latest)`` may move issue days (the planted response to marketing
    spend, :mod:`shouhu.synth.marketing`) before products are chosen and priced at the issue age."""
    parts = []
    for ch in ("agent", "bancassurance", "broker", "internet"):
        recs = records[ch]
        rec_of = np.full(len(people), -1, dtype=np.int64)
        rec_of[recs.person] = np.arange(len(recs))
        h, i, d, lb, ub = _draw_for_channel(rng, people, recs, rec_of, start, end)
        if timing is not None:
            d = timing(ch, d, lb, ub)
        parts.append((np.full(len(h), CHANNELS.index(ch)), h, i, d, recs.person[h], recs.person[i], ch))
    channel = np.concatenate([p[0] for p in parts])
    holder_rec, insured_rec, issue = (np.concatenate([p[k] for p in parts]) for k in (1, 2, 3))
    holder, insured = (np.concatenate([p[k] for p in parts]) for k in (4, 5))
    n = len(channel)
    age = years_between(people.birth[insured], issue)
    product = np.zeros(n, dtype=np.int64)
    todo = np.ones(n, dtype=bool)
    for ch in ("agent", "bancassurance", "broker", "internet"):
        w = np.array(MIX[ch], dtype=float)
        sel = channel == CHANNELS.index(ch)
        for _ in range(10):
            m = sel & todo
            product[m] = rng.choice(len(SHELF), size=int(m.sum()), p=w / w.sum())
            todo[m] = ~_eligible(product[m], age[m], issue[m])
    product[todo] = FALLBACK
    keep = _eligible(product, age, issue)
    channel, holder_rec, insured_rec, issue, holder, insured, product, age = (
        a[keep] for a in (channel, holder_rec, insured_rec, issue, holder, insured, product, age)
    )
    n = len(channel)
    sa = _sum_assured(rng, product, people.income[holder], age, n)
    sex = people.sex[insured]
    rate = np.zeros(n)
    version = rate_book_version(issue)
    for j, p in enumerate(SHELF):
        for v, since in enumerate(RATE_BOOK_DATES):
            m = (product == j) & (version == v)
            if m.any():  # the rate book in force at issue: re-filed at each interest cap change
                rate[m] = rate_table(p.code, max(since, p.launched_on))[sex[m], age[m]]
    premium = np.round(rate * sa / 1000.0, 2)
    year = issue.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    policy_no = cat("P", num(year), num(channel + 1), num(rng.permutation(n).astype(np.int64) + 10_000_000, 9))
    return Policies(
        channel,
        holder_rec,
        insured_rec,
        holder,
        insured,
        product,
        issue,
        age,
        sa,
        premium,
        _frequency(rng, channel, product),
        _shelf("pay_years")[product],
        _shelf("cover_years")[product],
        policy_no,
    )
