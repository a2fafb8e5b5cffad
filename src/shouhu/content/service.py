"""Framework-free entry points the CLI and the web layer call: the customer's profile, cover and wallet
read from the serving database (never the warehouse), then recommendations, disease gaps and comparisons.

* Profile: the published 360 row (age, life stage, children, in-force sums assured), the published gaps
  (``customer_gap``) less cover declared in the wallet since (``external_policy``), need signals from
  reading and the items already read.
* Cover for diseases: in-force critical-illness and medical cover (360) plus wallet policies; our policies
  still in their waiting period (shelf waiting days from the issue date) are named; wallet cover in its
  waiting period is shown apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shouhu.access.policy import RowRule
from shouhu.advice.model import NEED_TYPES, Policy, Sex
from shouhu.advice.wallet import WalletError, external_policies
from shouhu.content import compare, diseases, engagement, recommend
from shouhu.content.model import ContentError, Status
from shouhu.content.review import stored_item
from shouhu.privacy.crypto import FieldCipher
from shouhu.reference.products import BY_CODE, MEDICAL_SUM_ASSURED
from shouhu.storage import content as store
from shouhu.storage import customers, wallet

EVERYONE = RowRule()
ADULT_AGE, RETIREMENT_AGE = 18, 60


@dataclass(frozen=True)
class Customer:
    record: dict[str, Any]
    gaps: dict[str, Any]
    wallet: list[Policy]
    policies: list[dict[str, Any]]  # ours, from the 360 page's rows


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


def load_customer(engine: Any, customer_id: str, rule: RowRule = EVERYONE) -> Customer:
    record = customers.get_record(engine, rule, customer_id)
    if record is None:
        raise ContentError(f"customer_id: no customer {customer_id!r} you may see (run shouhu refresh first?)",
                           field="customer_id")
    gap_rows = customers.rows_for(engine, rule, "customer_gap", customer_id)
    records = [(i + 1, r["record"]) for i, r in enumerate(wallet.rows(engine, rule, [customer_id]))]
    try:
        held = external_policies(records, file="wallet")
    except WalletError:
        held = []  # stored records were validated when added; a rule change must not hide the customer
    return Customer(record, gap_rows[0] if gap_rows else {}, held,
                    customers.detail(engine, rule, customer_id)["policies"])


def _wallet_cover(c: Customer, as_of: date) -> dict[str, float]:
    out: dict[str, float] = {}
    for p in c.wallet:
        if p.in_force() and p.insured_id in ("", c.record["customer_id"]) and p.effective_date <= as_of:
            for code, sa in p.coverages.items():
                out[code] = out.get(code, 0.0) + sa
    return out


def profile(engine: Any, customer_id: str, rule: RowRule = EVERYONE, as_of: date | None = None
            ) -> recommend.Profile:
    day = as_of or date.today()
    c = load_customer(engine, customer_id, rule)
    extra = _wallet_cover(c, day)
    r = c.record
    needs = {n.value: _num(c.gaps.get(f"need_{n.value}")) for n in NEED_TYPES}
    gaps = {n.value: max(0.0, _num(c.gaps.get(f"gap_{n.value}")) - extra.get(n.value, 0.0)) for n in NEED_TYPES}
    cover = {n.value: _num(r.get(f"sa_{n.value}")) + extra.get(n.value, 0.0) for n in NEED_TYPES}
    signals = {s["need"]: float(s["strength"]) for s in store.signals_of(engine, customer_id)}
    return recommend.Profile(customer_id, r.get("age"), str(r.get("life_stage") or ""),
                             int(r.get("children_count") or 0), r.get("youngest_child_age"), needs, gaps, cover,
                             engagement.read_items(engine, customer_id), signals)


def candidates(engine: Any) -> list[recommend.Candidate]:
    """Every published version (validity is checked again at ranking time)."""
    return [recommend.Candidate(stored_item(r), r["status"], r["version"])
            for r in store.versions(engine, status=Status.PUBLISHED.value)]


def recommend_for(engine: Any, customer_id: str, *, query: str = "", k: int = 5, rule: RowRule = EVERYONE,
                  encoder_name: str = "", as_of: date | None = None) -> list[recommend.Recommendation]:
    p = profile(engine, customer_id, rule, as_of)
    return recommend.recommend(candidates(engine), p, query=query, k=k, today=as_of, encoder_name=encoder_name)


def _waiting_policies(c: Customer, as_of: date) -> list[str]:
    out = []
    for p in c.policies:
        product = BY_CODE.get(str(p.get("product_code") or ""))
        if product is None or not p.get("is_insured") or str(p.get("status")) not in ("in_force", "reinstated"):
            continue
        issued = date.fromisoformat(str(p["issue_date"])[:10])
        if product.waiting_days and (as_of - issued).days < product.waiting_days:
            out.append(str(p["policy_no"]))
    return out


def income(record: dict[str, Any], cipher: FieldCipher | None) -> float | None:
    """The annual income: stored encrypted in the serving database, so None without the cipher."""
    if record.get("annual_income") is not None:
        return float(record["annual_income"])
    if cipher is None or not record.get("annual_income_enc"):
        return None
    clear = cipher.decrypt(record["annual_income_enc"])
    return float(clear) if clear else None


def cover(engine: Any, customer_id: str, rule: RowRule = EVERYONE, as_of: date | None = None,
          cipher: FieldCipher | None = None) -> tuple[diseases.Cover, list[str], bool]:
    """The customer's cover for the disease pages, our policies still in their waiting period, and whether
    the income was known (without it no lost income is counted)."""
    day = as_of or date.today()
    c = load_customer(engine, customer_id, rule)
    r = c.record
    earned = income(r, cipher)
    extra = _wallet_cover(c, day)
    waiting_wallet = sum(p.coverages.get("critical_illness", 0.0) for p in c.wallet
                         if p.in_force() and p.effective_date > day)
    ours_medical = min(_num(r.get("sa_medical")), MEDICAL_SUM_ASSURED)
    limit = max([ours_medical] + [p.coverages.get("medical", 0.0) for p in c.wallet
                                  if p.in_force() and p.effective_date <= day])
    age = r.get("age")
    earning = age is not None and ADULT_AGE <= int(age) < RETIREMENT_AGE and (earned or 0.0) > 0
    return (diseases.Cover(_num(r.get("sa_critical_illness")) + extra.get("critical_illness", 0.0), waiting_wallet,
                           limit, diseases.MEDICAL_DEDUCTIBLE, earned or 0.0, earning),
            _waiting_policies(c, day), earned is not None)


def disease_gaps(engine: Any, customer_id: str, rule: RowRule = EVERYONE, as_of: date | None = None,
                 cipher: FieldCipher | None = None) -> dict[str, Any]:
    held, waiting, income_known = cover(engine, customer_id, rule, as_of, cipher)
    return {"customer_id": customer_id, "waiting_policies": waiting, "income_known": income_known,
            "diseases": [diseases.disease_gap(code, held).to_dict() for code in diseases.catalogue()]}


def _our_policies(c: Customer) -> list[Policy]:
    out = []
    for p in c.policies:
        product = BY_CODE.get(str(p.get("product_code") or ""))
        if product is None or str(p.get("status")) not in ("in_force", "reinstated"):
            continue
        out.append(Policy(str(p["policy_no"]), c.record["customer_id"], product.type.value, {},
                          date.fromisoformat(str(p["issue_date"])[:10]), annual_premium=_num(p.get("annual_premium")),
                          premium_term_years=product.pay_years, coverage_term_years=product.cover_years,
                          waiting_days=product.waiting_days, product_code=product.code, product_name=product.name,
                          insurer="本公司"))
    return out


def compare_for(engine: Any, customer_id: str, *, product_types: list[str] | None = None, coverage: str = "",
                rule: RowRule = EVERYONE) -> dict[str, Any]:
    c = load_customer(engine, customer_id, rule)
    age = int(c.record.get("age") or 30)
    sex: Sex = "F" if c.record.get("gender") == "F" else "M"
    rows = compare.compare(age, sex, product_types=product_types or (), coverage=coverage,
                           wallet=_our_policies(c) + c.wallet)
    return {"customer_id": customer_id, "age": age, "sex": sex, "rows": [r.to_dict() for r in rows],
            "neutrality_zh": compare.NEUTRALITY_ZH, "neutrality_en": compare.NEUTRALITY_EN}
