"""Channel ROI judged on insurance outcomes, per channel and period.

Per channel and period (month, quarter or year of the policy's issue date and of the spend week):

* ``spend``: ``src_marketing_spend``;
* ``new_policies`` and ``first_year_premium`` (``annual_premium``: the year's premiums of regular business,
  the whole premium of single-premium business);
* ``annualised_premium`` (APE): regular annual premium + 10% of single premiums (the industry convention);
* ``persistency_13m``: premium 13-month persistency of that business (:mod:`shouhu.scoring.persistency`),
  null while the cohort is too young; ``channel_persistency_13m`` the channel's figure over all measurable
  cohorts;
* ``customer_value``: the value of the business it brought. When the refresh has written ``policy_value``
  (expected present value of future margins of in-force policies, :mod:`shouhu.scoring.value`) it is the
  sum over these policies, lapsed ones counting zero. Otherwise it is estimated as
  ``APE × margin(product type) × Σ_{t<n} (r v)^t`` with ``r`` the channel's 13-month persistency used
  as the yearly retention, ``v = 1/1.03`` and ``n`` the premium term capped at 20 years (``value_basis``);
* ``nbv``: new-business value at issue of the period's policies, before commission, and ``commission``: the
  present value at issue of the first-year and renewal commissions they cost (:mod:`shouhu.scoring.nbv`,
  rates in :mod:`shouhu.reference.commission`), both on the channel's 13-month lapse (1 - persistency) or
  the default lapse while it is unmeasured;
* ``acquisition_cost`` = commission + spend;
* ``cost_per_policy`` = spend / new policies; ``premium_per_yuan`` = first-year premium / spend (the sales
  view); ``roi`` = (NBV - commission - spend) / (commission + spend) (the value view); ``value_roi`` =
  (customer value - spend) / spend, the retained in-force value per yuan of marketing spend.

A channel that sells policies that lapse looks good on premium per yuan and bad on ROI: lapses cut its
persistency, hence the retained value. That is the report's point, and ``tests/channels/test_roi.py``
shows it on a book whose internet business is planted to lapse.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from shouhu.errors import UnknownName
from shouhu.scoring import persistency
from shouhu.scoring.nbv import issue_value
from shouhu.scoring.value import DEFAULT_LAPSE, DEFAULT_MARGIN, DISCOUNT, MARGIN_RATES, MAX_YEARS
from shouhu.storage.exprs import one_per

Tables = Mapping[str, ir.Table]
PERIODS = ("month", "quarter", "year")
SINGLE_APE_SHARE = 0.10


def period_of(d: ir.DateValue, period: str) -> ir.StringValue:
    if period == "month":
        return d.strftime("%Y-%m")
    if period == "quarter":
        return d.year().cast("string") + ibis.literal("Q") + ((d.month() - 1) // 3 + 1).cast("string")
    if period == "year":
        return d.year().cast("string")
    raise UnknownName("ROI period", period, list(PERIODS))


def spend(tables: Tables, period: str) -> ir.Table:
    s = tables["src_marketing_spend"]
    s = s.mutate(period=period_of(s.week_start, period))
    return s.group_by("channel", "period").agg(spend=s.amount.sum().cast("float64"))


def business(tables: Tables, period: str, since: date) -> ir.Table:
    """New business per channel, period, product type and premium term (small: the value estimate needs them)."""
    p = tables["src_policy"]
    p = p.filter(p.issue_date >= ibis.date(since))
    prod = tables.get("src_product")
    if prod is not None:
        pt = prod.select(_code="product_code", product_type="product_type").distinct()
        p = p.left_join(pt, p.product_code == pt._code).drop("_code")
    else:
        p = p.mutate(product_type=ibis.null("string"))
    single = p.payment_frequency == "single"
    p = p.mutate(period=period_of(p.issue_date, period), single=single,
                 ape=ibis.ifelse(single, p.annual_premium * SINGLE_APE_SHARE, p.annual_premium),
                 term=ibis.least(p.premium_term_years.fill_null(MAX_YEARS), MAX_YEARS))
    return p.group_by("channel", "period", "product_type", "single", "term").agg(
        policies=p.count(), fyp=p.annual_premium.sum().cast("float64"), ape=p.ape.sum().cast("float64"))


def policy_values(tables: Tables, period: str, since: date) -> ir.Table | None:
    pv = tables.get("policy_value")
    if pv is None:
        return None
    p = tables["src_policy"]
    p = p.filter(p.issue_date >= ibis.date(since)).select("policy_no", "channel", "issue_date")
    values = pv.select(_pno="policy_no", value="value")
    j = p.join(values, p.policy_no == values._pno)
    j = j.mutate(period=period_of(j.issue_date, period))
    return j.group_by("channel", "period").agg(customer_value=j.value.sum().cast("float64"))


def issue_values(tables: Tables, period: str, since: date, lapse: Mapping[str, float]
                 ) -> dict[tuple[str, str], tuple[float, float]]:
    """(NBV before commission, commission) at issue per channel and issue period (module docstring)."""
    p = tables["src_policy"]
    p = p.filter(p.issue_date >= ibis.date(since))
    prod = tables.get("src_product")
    if prod is not None:
        pt = prod.select(_code="product_code", product_type="product_type").distinct()
        p = p.left_join(pt, p.product_code == pt._code).drop("_code")
    else:
        p = p.mutate(product_type=ibis.null("string"))
    party = tables.get("src_party")
    if party is not None:
        pa_ = one_per(party.select(_ps="_source", _pr="record_id", _birth="birth_date", _gender="gender"),
                      ["_ps", "_pr"])
        p = p.left_join(pa_, [p._source == pa_._ps, p.insured_record_id == pa_._pr])
    else:
        p = p.mutate(_birth=ibis.null("date"), _gender=ibis.null("string"))
    p = p.mutate(period=period_of(p.issue_date, period))
    cols = ["channel", "period", "issue_date", "product_type", "payment_frequency", "annual_premium",
            "premium_term_years", "coverage_term_years", "_birth", "_gender"]
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for r in p.select(*cols).to_pyarrow().to_pylist():
        birth, issued = r["_birth"], r["issue_date"]
        age = 40 if birth is None else (issued.year - birth.year
                                        - ((issued.month, issued.day) < (birth.month, birth.day)))
        v = issue_value(premium=float(r["annual_premium"] or 0.0), single=r["payment_frequency"] == "single",
                        product_type=r["product_type"], channel=r["channel"], age=max(age, 0),
                        female=r["_gender"] == "F", pay_years=r["premium_term_years"],
                        cover_years=r["coverage_term_years"], lapse=lapse.get(r["channel"], DEFAULT_LAPSE))
        nbv, cost = out.get((r["channel"], r["period"]), (0.0, 0.0))
        out[(r["channel"], r["period"])] = (nbv + v.nbv, cost + v.commission)
    return out


def _roi(nbv: float, commission: float, spend: float) -> float | None:
    cost = commission + spend
    return (nbv - cost) / cost if cost > 0 else None


def persistency_13m(tables: Tables, period: str, as_of: date) -> tuple[dict[tuple[str, str], float],
                                                                         dict[str, float]]:
    """(per channel and issue period, per channel) premium 13-month persistency of measurable business."""
    if "src_premium_payment" not in tables:
        return {}, {}
    rows = persistency.per_policy(tables, 13, as_of)
    pol = tables["src_policy"].select(_pno="policy_no", _issue="issue_date")
    rows = rows.join(pol, rows.policy_no == pol._pno)
    rows = rows.mutate(period=period_of(rows._issue, period))
    by_period = rows.group_by("channel", "period").agg(due=rows.due.sum(), received=rows.received.sum())
    by_channel = rows.group_by("channel").agg(due=rows.due.sum(), received=rows.received.sum())
    per = {(r["channel"], r["period"]): r["received"] / r["due"]
           for r in by_period.to_pyarrow().to_pylist() if r["due"]}
    ch = {r["channel"]: r["received"] / r["due"] for r in by_channel.to_pyarrow().to_pylist() if r["due"]}
    return per, ch


def annuity(retention: float, years: int, discount: float = DISCOUNT) -> float:
    rv = retention / (1 + discount)
    return float(sum(rv**t for t in range(max(years, 1))))


def compute(tables: Tables, *, period: str = "quarter", as_of: date | None = None) -> list[dict[str, Any]]:
    """One row per (channel, period) with spend or new business, in the spend window."""
    if period not in PERIODS:
        raise UnknownName("ROI period", period, list(PERIODS))
    s = tables["src_marketing_spend"]
    since = s.week_start.min().to_pyarrow().as_py()
    since = since if isinstance(since, date) else date.fromisoformat(str(since)[:10])
    as_of = as_of or persistency.default_as_of(tables)
    per_period, per_channel = persistency_13m(tables, period, as_of)
    out: dict[tuple[str, str], dict[str, Any]] = {}

    def row(ch: str, per: str) -> dict[str, Any]:
        return out.setdefault((ch, per), {"channel": ch, "period": per, "spend": 0.0, "new_policies": 0,
                                          "first_year_premium": 0.0, "annualised_premium": 0.0,
                                          "customer_value": 0.0, "nbv": 0.0, "commission": 0.0})

    for r in spend(tables, period).to_pyarrow().to_pylist():
        row(r["channel"], r["period"])["spend"] += r["spend"]
    measured = tables.get("policy_value") is not None
    for r in business(tables, period, since).to_pyarrow().to_pylist():
        x = row(r["channel"], r["period"])
        x["new_policies"] += r["policies"]
        x["first_year_premium"] += r["fyp"]
        x["annualised_premium"] += r["ape"]
        if not measured:
            margin = MARGIN_RATES.get(r["product_type"] or "", DEFAULT_MARGIN)
            years = 1 if r["single"] else int(r["term"] or MAX_YEARS)
            x["customer_value"] += r["ape"] * margin * annuity(per_channel.get(r["channel"], 1.0), years)
    lapse = {ch: min(max(1.0 - p, 0.0), 1.0) for ch, p in per_channel.items()}
    for (ch, per), (nbv, cost) in issue_values(tables, period, since, lapse).items():
        x = row(ch, per)
        x["nbv"], x["commission"] = nbv, cost
    values = policy_values(tables, period, since)
    if values is not None:
        for r in values.to_pyarrow().to_pylist():
            row(r["channel"], r["period"])["customer_value"] = r["customer_value"]
    rows = []
    for (ch, per), x in sorted(out.items()):
        sp = x["spend"]
        rows.append({**x, "persistency_13m": per_period.get((ch, per)),
                     "channel_persistency_13m": per_channel.get(ch),
                     "value_basis": "policy_value" if measured else "estimate",
                     "cost_per_policy": sp / x["new_policies"] if x["new_policies"] and sp else None,
                     "premium_per_yuan": x["first_year_premium"] / sp if sp else None,
                     "acquisition_cost": x["commission"] + sp,
                     "roi": _roi(x["nbv"], x["commission"], sp),
                     "value_roi": (x["customer_value"] - sp) / sp if sp else None})
    return rows


def by_channel(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-period rows summed per channel (ratios recomputed)."""
    acc: dict[str, dict[str, Any]] = {}
    for r in rows:
        a = acc.setdefault(r["channel"], {"channel": r["channel"], "spend": 0.0, "new_policies": 0,
                                          "first_year_premium": 0.0, "annualised_premium": 0.0,
                                          "customer_value": 0.0, "nbv": 0.0, "commission": 0.0,
                                          "persistency_13m": r["channel_persistency_13m"]})
        for k in ("spend", "new_policies", "first_year_premium", "annualised_premium", "customer_value", "nbv",
                  "commission"):
            a[k] += r[k]
    for a in acc.values():
        sp = a["spend"]
        a["cost_per_policy"] = sp / a["new_policies"] if a["new_policies"] and sp else None
        a["premium_per_yuan"] = a["first_year_premium"] / sp if sp else None
        a["acquisition_cost"] = a["commission"] + sp
        a["roi"] = _roi(a["nbv"], a["commission"], sp)
        a["value_roi"] = (a["customer_value"] - sp) / sp if sp else None
    return sorted(acc.values(), key=lambda a: a["channel"])


def warehouse_tables(wh: Any) -> dict[str, ir.Table]:
    names = ("src_marketing_spend", "src_policy", "src_product", "src_premium_payment", "src_policy_status_event",
             "src_staff", "src_party", "policy_value")
    return {n: wh.table(n) for n in names if wh.has_table(n)}
