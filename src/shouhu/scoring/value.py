"""Customer value: the expected present value of future margins of each in-force policy and customer.

For an in-force regular-premium policy with annual premium ``P``, product margin rate ``m``, annual
lapse rate ``l``, insured aged ``x`` (sex ``s``) at the as-of date and ``n`` premium years still to
come (capped at ``MAX_YEARS``)::

    value = Σ_{t=1..n}  P · m · (1 - l)^t · ₜpₓ · v^t,     v = 1 / (1 + i),   ₜpₓ = Π_{k=0..t-1} (1 - q_{x+k})

``q`` is the CL(2010-2013) non-pension table I (CL1 male / CL2 female; unknown sex uses CL1), ``i`` the
discount rate (3% by default). ``l`` is the lapse model's 12-month lapse probability of the policy
(``lapse_score.probability``) when that table exists and scores the policy, else ``DEFAULT_LAPSE``.
Customer value is the sum over the policies the customer holds. See docs/nba.md.

Policies with no premium still to come — single premium (趸交) and paid up (交费期满) — still earn a
margin on the money the insurer holds for them (interest spread and fees on the reserve). They are
valued on that fund (:func:`fund_values`)::

    value = Σ_{t=1..c}  F · s · (1 - l)^t · ₜpₓ · v^t

with F the premiums paid (the single premium, or annual premium × premium years paid), s the
yearly spread ``FUND_SPREAD`` (1% savings and investment, 0.3% protection), c the cover years still
to run (whole life: capped at ``MAX_YEARS``). Without this a 1,000,000 yuan bancassurance single
premium was worth 0 and its holder sat in the lowest tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from shouhu.errors import InvalidInput
from shouhu.reference.mortality import MAX_AGE, qx_matrix
from shouhu.storage.exprs import one_per

FloatArray = npt.NDArray[np.float64]
TABLE = "customer_value"
POLICY_TABLE = "policy_value"
DISCOUNT = 0.03
MAX_YEARS = 20
DEFAULT_LAPSE = 0.05  # annual lapse rate when the lapse model has not scored the policy
DEFAULT_MARGIN = 0.10
IN_FORCE = ("in_force", "reinstated")
# Share of the gross premium kept as profit margin, by product type (documented in docs/nba.md):
# protection carries wide margins, savings and investment products thin ones.
MARGIN_RATES: dict[str, float] = {
    "term_life": 0.20, "accident": 0.20, "critical_illness": 0.18, "medical": 0.15, "whole_life": 0.12,
    "increasing_whole_life": 0.08, "annuity": 0.08, "endowment": 0.08, "universal": 0.08, "unit_linked": 0.08,
}


SAVINGS_TYPES = frozenset({"increasing_whole_life", "annuity", "endowment", "universal", "unit_linked"})
FUND_SPREAD = {"savings": 0.01, "protection": 0.003}


def fund_values(df: pd.DataFrame, as_of: date, *, discount: float = DISCOUNT) -> FloatArray:
    """Value of single-premium and paid-up policies on their fund (module docstring); 0 for the others."""
    elapsed = _whole_years(df["issue_date"], as_of).fillna(0).astype("int64")
    term = pd.to_numeric(df["premium_term_years"], errors="coerce").fillna(1).clip(lower=1)
    single = df["payment_frequency"].eq("single") | term.eq(1)
    paid_years = np.minimum(elapsed + 1, term)
    fund = np.where(single, df["annual_premium"].fillna(0.0), df["annual_premium"].fillna(0.0) * paid_years)
    cover = pd.to_numeric(df["coverage_term_years"], errors="coerce").fillna(0)
    cover_left = np.where(cover <= 0, MAX_YEARS, (cover - elapsed).clip(lower=0))
    one_year = cover.eq(1)
    eligible = (np.asarray(df["years"]) == 0) & ~one_year.to_numpy()
    spread = np.where(df["product_type"].isin(list(SAVINGS_TYPES)), FUND_SPREAD["savings"], FUND_SPREAD["protection"])
    pv = present_values(fund, spread, df["lapse_rate"], df["age"], df["female"], cover_left, discount=discount)
    return np.where(eligible, pv, 0.0)


@dataclass(frozen=True)
class Tier:
    code: str
    label_zh: str
    label_en: str
    quantile: float  # lower bound, as a quantile of the positive values


# Best first. A customer with no future margin is "standard".
TIERS: tuple[Tier, ...] = (
    Tier("platinum", "白金", "Platinum", 0.95),
    Tier("gold", "黄金", "Gold", 0.80),
    Tier("silver", "白银", "Silver", 0.50),
    Tier("standard", "标准", "Standard", 0.0),
)
TIER_BY_CODE = {t.code: t for t in TIERS}


def present_values(premium: Any, margin: Any, lapse: Any, age: Any, female: Any, years: Any, *,
                   discount: float = DISCOUNT) -> FloatArray:
    """Vectorised value formula (module docstring); every argument is array-like of one length."""
    p, m, lr = (np.asarray(a, dtype=float) for a in (premium, margin, lapse))
    x, n = np.asarray(age, dtype=np.int64), np.asarray(years, dtype=np.int64)
    sex = np.asarray(female, dtype=bool).astype(np.int64)
    if np.any((lr < 0) | (lr > 1)):
        raise InvalidInput("lapse rates must lie between 0 and 1")
    if discount <= -1:
        raise InvalidInput("the discount rate must be above -100%", discount=discount)
    t = np.arange(1, MAX_YEARS + 1)
    ages = np.minimum(x[:, None] + t[None, :] - 1, MAX_AGE)  # q_{x+t-1} ends year t
    tpx = np.cumprod(1.0 - qx_matrix()[sex[:, None], ages], axis=1)
    stay = (1.0 - lr[:, None]) ** t[None, :]
    v = (1.0 + discount) ** -t[None, :].astype(float)
    live = t[None, :] <= np.minimum(n, MAX_YEARS)[:, None]
    return np.asarray(((p * m)[:, None] * stay * tpx * v * live).sum(axis=1))


def remaining_years(issue_date: pd.Series, premium_term: pd.Series, coverage_term: pd.Series,
                    frequency: pd.Series, as_of: date) -> npt.NDArray[np.int64]:
    """Premium years still to come after the as-of date, capped at ``MAX_YEARS``.

    Premiums fall on each policy anniversary; a policy ``k`` whole years old has paid ``k + 1`` of them.
    One-year renewable cover (coverage term 1) is projected to the cap: persistency decides how long it
    renews. Single-premium policies have none.
    """
    issued = pd.to_datetime(issue_date)
    elapsed = _whole_years(issued, as_of)
    term = pd.to_numeric(premium_term, errors="coerce")
    left = (term - elapsed - 1).clip(lower=0)
    renewable = pd.to_numeric(coverage_term, errors="coerce").eq(1) | term.isna()
    left = left.where(~renewable, MAX_YEARS).fillna(0).clip(upper=MAX_YEARS)
    return np.asarray(left.where(frequency.ne("single"), 0), dtype=np.int64)


def _whole_years(since: pd.Series, as_of: date) -> pd.Series:
    """Completed years from each date to ``as_of`` (ages, policy years)."""
    d = pd.to_datetime(since)
    before = (as_of.month * 100 + as_of.day) < (d.dt.month * 100 + d.dt.day)
    return (as_of.year - d.dt.year) - before.astype("Int64")


def assign_tiers(values: pd.Series) -> pd.Series:
    """Tier code per value: quantiles of the positive values; zero or less is ``standard``."""
    v = values.astype(float).fillna(0.0)
    pos = v[v > 0]
    out = pd.Series("standard", index=v.index, dtype=object)
    if pos.empty:
        return out
    for tier in reversed(TIERS[:-1]):  # silver, then gold over it, then platinum
        out[(v > 0) & (v >= float(pos.quantile(tier.quantile)))] = tier.code
    return out


def _lapse_rates(wh: Any) -> pd.DataFrame | None:
    if not wh.has_table("lapse_score"):
        return None
    t = wh.table("lapse_score")
    df: pd.DataFrame = t.select("policy_no", "probability").to_pyarrow().to_pandas()
    return df.drop_duplicates("policy_no").rename(columns={"probability": "lapse_rate"})


def policy_frame(wh: Any, as_of: date) -> pd.DataFrame:
    """In-force policies (single premium included) with holder customer, insured age/sex and product type."""
    pol = wh.table("src_policy")
    pol = pol.filter(pol.status.isin(list(IN_FORCE)))
    prod = wh.table("src_product")
    prod = one_per(prod.select(_code=prod.product_code, product_type=prod.product_type), "_code")
    party = wh.table("src_party")
    pt = one_per(party.select(_p_source=party._source, _p_record=party.record_id, _birth=party.birth_date,
                      _gender=party.gender), ["_p_source", "_p_record"])
    ic = wh.table("identity_cluster")
    owner = ic.select(_o_source=ic.source, _o_record=ic.record_id, customer_id=ic.customer_id)
    t = pol.left_join(prod, pol.product_code == prod._code)
    t = t.left_join(pt, [t._source == pt._p_source, t.insured_record_id == pt._p_record])
    t = t.left_join(owner, [t._source == owner._o_source, t.holder_record_id == owner._o_record])
    t = t.select("policy_no", "customer_id", "product_type", "annual_premium", "payment_frequency",
                 "premium_term_years", "coverage_term_years", "issue_date", "_birth", "_gender")
    df: pd.DataFrame = t.order_by("policy_no").to_pyarrow().to_pandas()
    age = _whole_years(df.pop("_birth"), as_of)
    df["age"] = age.fillna(40).clip(lower=0).astype("int64")  # 40: a neutral age when the birth date is unknown
    df["female"] = df.pop("_gender").eq("F").fillna(False).astype(bool)
    return df[df["customer_id"].notna()].reset_index(drop=True)


def value_policies(df: pd.DataFrame, as_of: date, *, lapse_rates: pd.DataFrame | None = None,
                   discount: float = DISCOUNT, margins: Mapping[str, float] | None = None,
                   default_lapse: float = DEFAULT_LAPSE) -> pd.DataFrame:
    """Add ``years``, ``margin_rate``, ``lapse_rate``, ``lapse_source``, ``value_basis`` and ``value``."""
    margins = {**MARGIN_RATES, **(margins or {})}
    out = df.copy()
    out["years"] = remaining_years(out["issue_date"], out["premium_term_years"], out["coverage_term_years"],
                                   out["payment_frequency"], as_of)
    out["margin_rate"] = out["product_type"].map(margins).fillna(DEFAULT_MARGIN).astype(float)
    if lapse_rates is not None and not lapse_rates.empty:
        out = out.merge(lapse_rates[["policy_no", "lapse_rate"]], on="policy_no", how="left")
    else:
        out["lapse_rate"] = np.nan
    out["lapse_source"] = np.where(out["lapse_rate"].notna(), "lapse_model", "default")
    out["lapse_rate"] = out["lapse_rate"].fillna(default_lapse).clip(0.0, 1.0).astype(float)
    out["value"] = present_values(out["annual_premium"].fillna(0.0), out["margin_rate"], out["lapse_rate"],
                                  out["age"], out["female"], out["years"], discount=discount)
    out["value_basis"] = np.where(out["years"] > 0, "premiums", "fund")
    out["value"] = out["value"] + fund_values(out, as_of, discount=discount)
    return out


def customer_values(policies: pd.DataFrame, customers: pd.Series) -> pd.DataFrame:
    """One row per customer (every id in ``customers``): value, tier, policies valued."""
    agg = policies.groupby("customer_id").agg(value=("value", "sum"), policies=("policy_no", "count"))
    base = pd.DataFrame({"customer_id": pd.Series(customers, dtype=object).drop_duplicates().to_numpy()})
    out = base.merge(agg.reset_index(), on="customer_id", how="left")
    out["value"] = out["value"].fillna(0.0).round(2)
    out["policies"] = out["policies"].fillna(0).astype("int64")
    out["tier"] = assign_tiers(out["value"])
    out["tier_zh"] = out["tier"].map(lambda c: TIER_BY_CODE[c].label_zh)
    out["tier_en"] = out["tier"].map(lambda c: TIER_BY_CODE[c].label_en)
    return out.sort_values("customer_id").reset_index(drop=True)


def build_customer_value(wh: Any, as_of: date, *, discount: float = DISCOUNT,
                         default_lapse: float = DEFAULT_LAPSE) -> dict[str, Any]:
    """Write ``policy_value`` and ``customer_value`` (customer_id, value, tier, tier_zh, tier_en, policies)."""
    pols = value_policies(policy_frame(wh, as_of), as_of, lapse_rates=_lapse_rates(wh), discount=discount,
                          default_lapse=default_lapse)
    c360 = wh.table("customer_360").select("customer_id").to_pyarrow().to_pandas()
    cust = customer_values(pols, c360["customer_id"])
    pcols = ["policy_no", "customer_id", "product_type", "annual_premium", "years", "margin_rate", "lapse_rate",
             "lapse_source", "value"]
    wh.write_table(POLICY_TABLE, pa.Table.from_pandas(pols[pcols].assign(value=pols["value"].round(2)),
                                                      preserve_index=False))
    wh.write_table(TABLE, pa.Table.from_pandas(
        cust[["customer_id", "value", "tier", "tier_zh", "tier_en", "policies"]], preserve_index=False))
    return {"customers": len(cust), "policies": len(pols), "value_total": round(float(cust["value"].sum()), 2),
            "tiers": {k: int(v) for k, v in cust["tier"].value_counts().items()},
            "lapse_from_model": int((pols["lapse_source"] == "lapse_model").sum()),
            "as_of": as_of.isoformat(), "discount": discount}


__all__ = ["TIERS", "assign_tiers", "build_customer_value", "customer_values", "present_values", "value_policies"]
