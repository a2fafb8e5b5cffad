"""What happened to each policy after issue: payments, lapses, reinstatements, surrenders,
maturities, claims and deaths, up to ``as_of``.

Lapse model (by design it reproduces the configured persistency): a policy misses the premium of
policy year 2 with probability 1 - p13, that of year 3 with probability p13 - p25, and later ones
at 4% a year; it lapses when the premium is still unpaid 60 days after the due date (grace
period). Monthly payers (issue 12 item 11) do not wait for an anniversary: the first installment
they miss falls in any month of the lapse year, mostly early in it (geometric, 25% a month), so
monthly payers lapse earlier than annual ones. A share of lapsed policies is
reinstated within two years, paying the arrears. Savings
and whole-life policies are surrendered at 3.5% a year from year 3. Deaths come from the people's
CL-driven death dates; critical illness strikes at 2.5 x qx a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shouhu.reference.mortality import MAX_AGE, qx_matrix
from shouhu.reference.products import SHELF
from shouhu.synth.config import CHANNELS, SynthConfig
from shouhu.synth.people import NEVER, People
from shouhu.synth.policies import PER_YEAR, Policies
from shouhu.synth.render import MISSING

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
GRACE_DAYS = 60
SAVINGS = np.array([p.basis == "savings" or p.type.value == "whole_life" for p in SHELF])
COVERS_DEATH = np.array([any(c.value == "life" for c in p.coverages) for p in SHELF])
BASIS = np.array([p.basis for p in SHELF])


def add_months(days: IntArray, months: IntArray) -> IntArray:
    """Calendar month arithmetic on day numbers; the 31st becomes the month's last day."""
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    target = m + months.astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return np.asarray((target.astype("datetime64[D]") + np.minimum(dom, length - 1)).astype(np.int64))


@dataclass
class Lifecycle:
    status: IntArray  # index into STATUSES
    status_day: IntArray
    events_policy: IntArray
    events_status: IntArray
    events_day: IntArray
    events_reason: IntArray  # index into REASONS
    pay_policy: IntArray
    pay_due: IntArray
    pay_amount: FloatArray
    pay_paid: IntArray  # MISSING = unpaid
    claim_policy: IntArray
    claim_type: IntArray  # index into CLAIM_TYPES
    claim_incident: IntArray
    claim_report: IntArray
    claim_amount: FloatArray
    claim_paid: FloatArray  # NaN = not settled
    claim_status: IntArray  # index into CLAIM_STATUSES


STATUSES = ("in_force", "lapsed", "reinstated", "surrendered", "matured", "claimed")
REASONS = (
    "新契约承保",
    "宽限期满未缴费",
    "补缴保费复效",
    "客户申请退保",
    "保险期间届满",
    "理赔给付终止",
    "被保险人身故终止",
)
CLAIM_TYPES = ("death", "critical_illness", "medical", "accident", "disability")
CLAIM_STATUSES = ("reported", "paid", "declined", "pending")


def _lapse_year(rng: np.random.Generator, pol: Policies, cfg: SynthConfig) -> IntArray:
    n = len(pol)
    p13 = np.array([cfg.persistency(c)[0] for c in CHANNELS])[pol.channel]
    p25 = np.array([cfg.persistency(c)[1] for c in CHANNELS])[pol.channel]
    u = rng.random(n)
    later = 3 + rng.geometric(0.04, n) - 1
    return np.where(u < 1 - p13, 1, np.where(u < 1 - p25, 2, later)).astype(np.int64)


def _ci_day(rng: np.random.Generator, people: People, pol: Policies, end: int) -> IntArray:
    q = np.minimum(1.0, 2.5 * qx_matrix("nonpension1") * 0.85)
    out = np.full(len(pol), NEVER, dtype=np.int64)
    ci = np.flatnonzero(BASIS[pol.product] == "critical_illness")
    sex = people.sex[pol.insured[ci]]
    for y in range(int((end - pol.issue[ci].min()) // 365) + 1 if len(ci) else 0):
        t = pol.issue[ci] + 365 * y
        hit = (
            (out[ci] == NEVER) & (t <= end) & (rng.random(len(ci)) < q[sex, np.minimum(pol.issue_age[ci] + y, MAX_AGE)])
        )
        out[ci[hit]] = t[hit] + rng.integers(0, 365, int(hit.sum()))
    out[out > end] = NEVER
    return out


def simulate(rng: np.random.Generator, people: People, pol: Policies, cfg: SynthConfig, end: int) -> Lifecycle:
    """Run every policy from issue to ``end`` (as_of) and collect events, payments and claims."""
    n = len(pol)
    f = PER_YEAR[pol.frequency]
    single = pol.frequency == 0
    installments = np.where(single, 1, pol.pay_years * f)
    lapse_year = _lapse_year(rng, pol, cfg)
    monthly = f == 12
    # months from issue to the first missed installment: the anniversary, or for monthly payers any
    # month of the lapse year, mostly early (module docstring)
    early = np.minimum(rng.geometric(0.25, n), 12)
    lapse_month = np.where(monthly, (np.minimum(lapse_year, 200) - 1) * 12 + early, np.minimum(lapse_year, 200) * 12)
    can_lapse = ~single & (lapse_year < pol.pay_years) & (lapse_month < installments * (12 // f))
    lapse_k = np.where(can_lapse, lapse_month // (12 // f), NEVER // 2)
    lapse_due = np.where(can_lapse, add_months(pol.issue, lapse_month), NEVER)
    t_lapse = np.where(can_lapse, lapse_due + GRACE_DAYS, NEVER)
    surrender = np.where(SAVINGS[pol.product], pol.issue + 365 * (3 + rng.geometric(0.035, n) - 1), NEVER)
    death = people.death[pol.insured]
    ci = _ci_day(rng, people, pol, end)
    maturity = np.where(pol.cover_years > 0, add_months(pol.issue, pol.cover_years * 12), NEVER)
    term = np.minimum.reduce([surrender, death, ci, maturity])
    why = np.select([term == ci, term == death, term == maturity], [5, 6, 4], 3)
    lapsed = (t_lapse < term) & (t_lapse <= end)
    reinstate = lapsed & (rng.random(n) < cfg.reinstatement_share)
    t_re = np.where(reinstate, t_lapse + rng.integers(30, 700, n), NEVER)
    reinstated = reinstate & (t_re <= end) & (t_re < term)
    stuck = lapsed & ~reinstated  # lapsed for good: nothing after the lapse counts
    ended = ~stuck & (term <= end)
    death_claim = (
        ended & (why == 6) & (COVERS_DEATH[pol.product] | ((BASIS[pol.product] == "accident") & (rng.random(n) < 0.07)))
    )
    why = np.where(death_claim, 5, why)
    term_status = np.select([why == 5, why == 4], [5, 4], 3)
    # events: issue, [lapse], [reinstate], [termination]
    ev = [(np.arange(n), np.zeros(n, np.int64), pol.issue, np.zeros(n, np.int64))]
    lp = np.flatnonzero(lapsed)
    ev.append((lp, np.full(len(lp), 1), t_lapse[lp], np.full(len(lp), 1)))
    rp = np.flatnonzero(reinstated)
    ev.append((rp, np.full(len(rp), 2), t_re[rp], np.full(len(rp), 2)))
    tp = np.flatnonzero(ended)
    ev.append((tp, term_status[tp], term[tp], why[tp]))
    e_pol, e_status, e_day, e_reason = (np.concatenate([e[k] for e in ev]).astype(np.int64) for k in range(4))
    order = np.lexsort((e_day, e_pol))
    e_pol, e_status, e_day, e_reason = e_pol[order], e_status[order], e_day[order], e_reason[order]
    last = np.r_[e_pol[1:] != e_pol[:-1], True]
    status = np.zeros(n, np.int64)
    status_day = np.zeros(n, np.int64)
    status[e_pol[last]], status_day[e_pol[last]] = e_status[last], e_day[last]
    stop = np.where(stuck, lapse_due + 1, term)
    pending = can_lapse & ~lapsed & (lapse_due <= end) & (lapse_due < term)  # in grace at as_of
    pays = _payments(rng, pol, f, installments, stop, lapse_k, stuck | pending, t_re, reinstated, end)
    claims = _claims(rng, pol, death_claim, ended & (why == 5) & ~death_claim, term, np.minimum(stop, term), end)
    p_pol, p_due, p_amount, p_paid = pays
    c_pol, c_type, c_inc, c_rep, c_amt, c_paid, c_status = claims
    return Lifecycle(
        status,
        status_day,
        e_pol,
        e_status,
        e_day,
        e_reason,
        p_pol,
        p_due,
        p_amount,
        p_paid,
        c_pol,
        c_type,
        c_inc,
        c_rep,
        c_amt,
        c_paid,
        c_status,
    )


def _payments(
    rng: np.random.Generator,
    pol: Policies,
    f: IntArray,
    installments: IntArray,
    stop: IntArray,
    lapse_k: IntArray,
    stuck: npt.NDArray[np.bool_],
    t_re: IntArray,
    reinstated: npt.NDArray[np.bool_],
    end: int,
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Premium due rows up to as_of; the lapse installment stays unpaid, arrears paid on reinstatement."""
    step = 12 // f
    elapsed_months = ((end - pol.issue) * 12) // 365 + 2
    k_max = np.minimum(installments, elapsed_months // step + 1)
    idx = np.repeat(np.arange(len(pol)), k_max)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(k_max) - k_max, k_max)
    due = add_months(pol.issue[idx], k * step[idx])
    keep = (due <= end) & (due < stop[idx])
    idx, k, due = idx[keep], k[keep], due[keep]
    amount = np.round(pol.premium[idx] / f[idx], 2)
    delay = np.select(
        [rng.random(len(idx)) < 0.7, rng.random(len(idx)) < 0.65],
        [0, -rng.integers(1, 15, len(idx))],
        rng.integers(1, 45, len(idx)),
    )
    paid = np.maximum(due + delay, pol.issue[idx])
    in_arrears = k >= lapse_k[idx]
    paid = np.where(in_arrears & reinstated[idx] & (due < t_re[idx]), t_re[idx], paid)
    paid = np.where(in_arrears & stuck[idx], MISSING, paid)
    paid = np.where(paid > end, MISSING, paid)
    return idx, due, amount, paid


def _claims(
    rng: np.random.Generator,
    pol: Policies,
    death_claim: npt.NDArray[np.bool_],
    ci_claim: npt.NDArray[np.bool_],
    term: IntArray,
    cover_end: IntArray,
    end: int,
) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray, FloatArray, IntArray]:
    """Death and CI claims that ended policies, plus medical and accident claims while in force."""
    parts: list[tuple[Any, ...]] = []
    for mask, ctype in ((death_claim, 0), (ci_claim, 1)):
        p = np.flatnonzero(mask)
        parts.append((p, np.full(len(p), ctype), term[p], pol.sum_assured[p]))
    for basis, ctype, rate, median in (("medical", 2, 0.07, 16_000.0), ("accident", 3, 0.03, 3_000.0)):
        p = np.flatnonzero(BASIS[pol.product] == basis)
        years = np.maximum(0, (np.minimum(cover_end[p], end) - pol.issue[p]) // 365 + 1)
        years = np.minimum(years, 12)
        hits = rng.binomial(years, rate)
        pp = np.repeat(p, hits)
        day = pol.issue[pp] + (
            rng.random(len(pp)) * np.maximum(1, np.minimum(cover_end[pp], end) - pol.issue[pp])
        ).astype(np.int64)
        amount = np.round(np.minimum(rng.lognormal(np.log(median), 0.9, len(pp)), pol.sum_assured[pp]), 2)
        ctypes = np.full(len(pp), ctype)
        if ctype == 3:
            disab = rng.random(len(pp)) < 0.05
            ctypes[disab] = 4
            amount[disab] = np.round(pol.sum_assured[pp][disab] * rng.uniform(0.1, 0.5, int(disab.sum())), 2)
        parts.append((pp, ctypes, day, amount))
    c_pol, c_type, c_day = (np.concatenate([x[k] for x in parts]).astype(np.int64) for k in range(3))
    c_amount = np.concatenate([x[3] for x in parts])
    report = c_day + rng.integers(1, 40, len(c_pol))
    keep = report <= end
    c_pol, c_type, c_day, c_amount, report = c_pol[keep], c_type[keep], c_day[keep], c_amount[keep], report[keep]
    waiting = np.array([p.waiting_days for p in SHELF])[pol.product[c_pol]]
    declined = (c_day < pol.issue[c_pol] + waiting) | (rng.random(len(c_pol)) < 0.03)
    paid = np.where(c_type == 2, np.maximum(0.0, c_amount - 10_000.0), np.where(c_type == 3, c_amount * 0.9, c_amount))
    declined |= paid <= 0
    status = np.select([report > end - 15, report > end - 45, declined], [0, 3, 2], 1)
    settled = (status == 1) | (status == 2)
    paid = np.where(status == 1, np.round(paid, 2), np.where(status == 2, 0.0, np.nan))
    return c_pol, c_type, c_day, report, c_amount, np.where(settled, paid, np.nan), status
