"""Survivor counts per issue-year cohort from the warehouse, for the sBG retention model.

A regular-premium policy "survives" policy year t when it has no lapse or surrender event before
its t-th anniversary (the first such event ends it; a later reinstatement does not bring it back,
as in a contractual-churn model). Policies ended by a claim or maturity are left out. A cohort's
count for year t is reported only when every policy of the cohort has reached its t-th anniversary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from shouhu.scoring import persistency
from shouhu.scoring.retention import fit_sbg

Tables = Mapping[str, ir.Table]
CHURN = ("lapsed", "surrendered")


def policy_lifetimes(tables: Tables, grace_days: int = persistency.GRACE_DAYS) -> ir.Table:
    """``policy_no``, ``cohort`` (issue year), ``lost_days``: days from issue to the missed due date (a
    lapse's effective date minus the grace period) or to the surrender; null while it survives."""
    pol = tables["src_policy"]
    ev = tables["src_policy_status_event"]
    pol = pol.filter(pol.payment_frequency.isin(list(persistency.PER_YEAR)))
    ended = ev.filter(ev.status.isin(["claimed", "matured"])).select(_x=ev.policy_no).distinct()
    pol = pol.anti_join(ended, pol.policy_no == ended._x)
    ch = ev.filter(ev.status.isin(list(CHURN)))
    first = ch.group_by("policy_no").aggregate(_churn=ch.effective_date.min(),
                                               _status=ch.status.argmin(ch.effective_date))
    first = first.rename(_c_policy="policy_no")
    j = pol.left_join(first, pol.policy_no == first._c_policy)
    lost = ibis.ifelse(j._status == "lapsed", j._churn - ibis.interval(days=grace_days), j._churn)
    return j.select("policy_no", cohort=j.issue_date.year(), lost_days=lost.delta(j.issue_date, unit="day"))


def lost_period(days: int | None) -> int | None:
    """Policy year in which the policy was lost: a premium missed on the t-th anniversary is period t
    (two days' slack absorbs leap years), a surrender in year t+1 is period t+1."""
    return None if days is None else max(1, math.ceil((days - 2) / 365.25))


def observed_years(cohort: int, as_of: date, grace_days: int = persistency.GRACE_DAYS) -> int:
    """Anniversaries every policy of the cohort has reached, grace period included, by ``as_of``."""
    t = 0
    while date(cohort + t + 1, 12, 31) + timedelta(days=grace_days) <= as_of:
        t += 1
    return t


def survivor_counts(tables: Tables, as_of: date) -> dict[int, list[int]]:
    """{issue year: [n_0, n_1, ..., n_T]} with T the years fully observed for the whole cohort."""
    by: dict[int, list[int | None]] = {}
    for r in policy_lifetimes(tables).to_pyarrow().to_pylist():
        by.setdefault(int(r["cohort"]), []).append(lost_period(r["lost_days"]))
    out: dict[int, list[int]] = {}
    for year, lost in sorted(by.items()):
        horizon = observed_years(year, as_of)
        out[year] = [len(lost)] + [sum(1 for c in lost if c is None or c > t) for t in range(1, horizon + 1)]
    return out


def fit_cohorts(tables: Tables, as_of: date | None = None, min_periods: int = 2) -> list[dict[str, Any]]:
    """sBG fit per issue-year cohort with at least ``min_periods`` observed years."""
    as_of = as_of or persistency.default_as_of(tables)
    out = []
    for year, counts in survivor_counts(tables, as_of).items():
        if len(counts) - 1 < min_periods or counts[-1] == counts[0]:
            continue
        fit = fit_sbg(counts)
        out.append({"cohort": year, "policies": counts[0], "alpha": round(fit.alpha, 4), "beta": round(fit.beta, 4),
                    "counts": counts, "projected_survival_10y": round(float(fit.survival(10)[10]), 4)})
    return out


