"""Framework-free service functions the web layer and the CLI call.

They read one household from the warehouse marts (``household_member``, ``customer``,
``customer_360``) and the policy source tables (``src_policy``, ``src_policy_coverage``,
``src_policy_status_event``, ``src_staff``), join in wallet policies from other insurers, and run
the domain functions. Reads are filtered to the household, so a request touches a few rows; the
serving database will answer these once the marts are published there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import pandas as pd

from shouhu.advice.gaps import HouseholdGaps, household_gaps, person_gaps
from shouhu.advice.methods import DEFAULT_METHOD, Assumptions, life_method
from shouhu.advice.model import NEED_TYPES, Dependent, Household, Person, Policy, Sex
from shouhu.advice.plan import Recommendation, recommend
from shouhu.advice.retirement import FEMALE_ORIGINAL_AGE, statutory_retirement
from shouhu.advice.review import Review, build_review
from shouhu.advice.suitability import CheckLog
from shouhu.errors import InvalidInput
from shouhu.reference.products import BY_CODE
from shouhu.storage.warehouse import Warehouse

RETIREMENT_AGE = 60  # when the birth date is unknown


@dataclass
class HouseholdData:
    household: Household
    policies: list[Policy]
    customer_id: str
    seller_grade: str | None
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # name, id_number (unmasked: mask on display)


def _age(birth: Any, as_of: date) -> int | None:
    if birth is None or pd.isna(birth):
        return None
    b = pd.Timestamp(birth).date()
    return as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))


def _frame(expr: Any) -> pd.DataFrame:
    df: pd.DataFrame = expr.execute()
    return df.astype(object).where(df.notna(), None)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts (nulls as None): typed ``Any`` values, unlike pandas' named tuples."""
    return [{str(k): v for k, v in row.items()} for row in df.astype(object).where(df.notna(), None)
            .to_dict("records")]


def _people(wh: Warehouse, customer_id: str, as_of: date) -> tuple[str, pd.DataFrame]:
    hm = wh.table("household_member")
    mine = _frame(hm.filter(hm.customer_id == customer_id))
    household_id = str(mine.household_id.iloc[0]) if len(mine) else f"HH-{customer_id}"
    members = _frame(hm.filter(hm.household_id == household_id)) if len(mine) else \
        pd.DataFrame({"customer_id": [customer_id], "role": ["head"]})
    cust = wh.table("customer")
    people = _frame(cust.filter(cust.customer_id.isin(list(members.customer_id))).select(
        "customer_id", "name", "gender", "birth_date", "id_number", "annual_income"))
    if customer_id not in set(people.customer_id):
        raise InvalidInput(f"no customer {customer_id!r} in the warehouse (run shouhu refresh first?)",
                           customer_id=customer_id)
    return household_id, people.merge(members[["customer_id", "role"]], on="customer_id", how="left")


def retirement_of(sex: Sex, birth: Any) -> tuple[int, int]:
    """(years, months) of the statutory retirement age (2025 reform) for a birth date; 60 when it is unknown."""
    if birth is None or pd.isna(birth):
        return RETIREMENT_AGE, 0
    ret = statutory_retirement(sex, pd.Timestamp(birth).date(), None if sex == "M" else FEMALE_ORIGINAL_AGE)
    return ret.years, ret.months


def _persons(people: pd.DataFrame, as_of: date) -> list[Person]:
    base: list[tuple[str, int, Sex, float, str, str]] = []
    retire: dict[str, tuple[int, int]] = {}
    for r in _records(people):
        age = _age(r["birth_date"], as_of)
        sex: Sex = "F" if r["gender"] == "F" else "M"
        base.append((str(r["customer_id"]), 30 if age is None else age, sex, float(r["annual_income"] or 0.0),
                     str(r["role"] or "other"), str(r["name"] or "")))
        retire[str(r["customer_id"])] = retirement_of(sex, r["birth_date"])
    out = []
    for pid, age, sex, income, role, name in base:
        deps: tuple[Dependent, ...] = ()
        if income > 0 and role in ("head", "spouse"):
            deps = tuple(Dependent("child" if r == "child" else ("spouse" if r in ("head", "spouse") else "parent"), a)
                         for q, a, _, inc, r, _ in base if q != pid and (r in ("child", "parent") or
                                                                         (r in ("head", "spouse") and inc <= 0)))
        out.append(Person(pid, age, sex, income, role, dependents=deps, retirement_age=retire[pid][0],
                          retirement_months=retire[pid][1], name=name))
    return out


def _policies(wh: Warehouse, ids: list[str], as_of: date) -> list[Policy]:
    ic = wh.table("identity_cluster")
    records = _frame(ic.filter(ic.customer_id.isin(ids)).select("source", "record_id", "customer_id"))
    owner = {(r["source"], r["record_id"]): str(r["customer_id"]) for r in _records(records)}
    rids = list(records.record_id.unique())
    if not rids:
        return []
    pol = wh.table("src_policy")
    rows = _frame(pol.filter((pol.insured_record_id.isin(rids) | pol.holder_record_id.isin(rids))
                             & (pol.issue_date <= ibis.date(as_of))))
    rows = rows.rename(columns={"_source": "source"}).sort_values(["policy_no", "source"]).drop_duplicates("policy_no")
    if rows.empty:
        return []
    nos = list(rows.policy_no)
    ev = wh.table("src_policy_status_event")
    events = _frame(ev.filter(ev.policy_no.isin(nos) & (ev.effective_date <= ibis.date(as_of))))
    latest = {r["policy_no"]: (r["status"], r["effective_date"]) for r in
              _records(events.sort_values(["effective_date", "_row_number"]))}
    cov = wh.table("src_policy_coverage")
    covers: dict[str, dict[str, float]] = {}
    for c in _records(_frame(cov.filter(cov.policy_no.isin(nos)))):
        covers.setdefault(str(c["policy_no"]), {})[str(c["coverage_type"])] = float(c["sum_assured"] or 0.0)
    out = []
    for r in _records(rows):
        no, code = str(r["policy_no"]), str(r["product_code"])
        product = BY_CODE.get(code)
        status, status_date = latest.get(no, (r["status"], r["status_date"]))
        out.append(Policy(
            policy_no=no, insured_id=owner.get((r["source"], r["insured_record_id"]), ""),
            holder_id=owner.get((r["source"], r["holder_record_id"]), ""),
            product_type=product.type.value if product else "", coverages=covers.get(no, {}),
            issue_date=pd.Timestamp(r["issue_date"]).date(), status=str(status),
            status_date=pd.Timestamp(status_date).date() if status_date is not None else None,
            annual_premium=float(r["annual_premium"] or 0.0),
            payment_frequency=str(r["payment_frequency"] or "annual"),
            premium_term_years=int(r["premium_term_years"] or 1),
            coverage_term_years=int(r["coverage_term_years"] or 0),
            waiting_days=product.waiting_days if product else 0, product_code=code,
            product_name=product.name if product else code, insurer="本公司", source="warehouse"))
    return out


def _seller_grade(wh: Warehouse, customer_id: str) -> str | None:
    c360 = wh.table("customer_360")
    agent = _frame(c360.filter(c360.customer_id == customer_id).select("primary_agent_id"))
    if agent.empty or agent.primary_agent_id.iloc[0] is None:
        return None
    staff = wh.table("src_staff")
    grade = _frame(staff.filter(staff.staff_id == agent.primary_agent_id.iloc[0]).select("qualification_grade"))
    return None if grade.empty else grade.qualification_grade.iloc[0]


def load_household(wh: Warehouse, customer_id: str, as_of: date, external: list[Policy] | None = None
                   ) -> HouseholdData:
    """The customer's household, its policies (warehouse + ``external`` wallet ones) and the seller's grade."""
    household_id, people = _people(wh, customer_id, as_of)
    persons = _persons(people, as_of)
    policies = _policies(wh, [p.person_id for p in persons], as_of) + list(external or [])
    info = {str(r["customer_id"]): {"name": r["name"], "id_number": r["id_number"]} for r in _records(people)}
    return HouseholdData(Household(household_id, tuple(persons)), policies, customer_id,
                         _seller_grade(wh, customer_id), info)


def diagnose(wh: Warehouse, customer_id: str, *, as_of: date | None = None, method: str = DEFAULT_METHOD,
             assumptions: Assumptions | None = None, external: list[Policy] | None = None
             ) -> tuple[HouseholdData, HouseholdGaps]:
    """Needs and gaps of the customer's whole household."""
    life_method(method)  # unknown names fail before any read
    day = as_of or date.today()
    data = load_household(wh, customer_id, day, external)
    return data, household_gaps(data.household, data.policies, day, method, assumptions)


def plan(wh: Warehouse, customer_id: str, *, as_of: date | None = None, method: str = DEFAULT_METHOD,
         budget: float | None = None, risk_level: str | None = None, seller_grade: str | None = None,
         assumptions: Assumptions | None = None, log: CheckLog | None = None,
         external: list[Policy] | None = None) -> tuple[HouseholdData, HouseholdGaps, Recommendation]:
    """Diagnose, then recommend a plan. ``risk_level`` is the customer's latest assessment (None: not assessed)."""
    data, gaps = diagnose(wh, customer_id, as_of=as_of, method=method, assumptions=assumptions, external=external)
    rec = recommend(data.household, gaps, data.policies, risk_level=risk_level,
                    seller_grade=seller_grade or data.seller_grade, budget=budget, assumptions=assumptions, log=log)
    return data, gaps, rec


def review(wh: Warehouse, customer_id: str, *, as_of: date | None = None, method: str = DEFAULT_METHOD,
           assumptions: Assumptions | None = None, external: list[Policy] | None = None) -> Review:
    """The policy review (保单检视) data for the customer's household; reports render it."""
    day = as_of or date.today()
    data, gaps = diagnose(wh, customer_id, as_of=day, method=method, assumptions=assumptions, external=external)
    return build_review(data.household, data.policies, gaps, day, data.people)


def batch_gaps(c360: pd.DataFrame, as_of: date, method: str = DEFAULT_METHOD,
               assumptions: Assumptions | None = None) -> pd.DataFrame:
    """Gaps for every customer from ``customer_360`` rows: one row per customer, ``gap_<type>`` columns.

    For the refresh step and tags (e.g. ``gap_critical_illness > 0`` → 重疾保障不足). Existing cover is
    the mart's in-force ``sa_<type>`` (waiting periods and expiry are only seen in the per-household
    path); dependents are the household's children (``children_count``, youngest child's age).
    """
    rows = []
    cols = ("customer_id", "age", "gender", "annual_income", "household_role", "children_count", "youngest_child_age",
            *(f"sa_{c.value}" for c in NEED_TYPES))
    for r in _records(c360.loc[:, list(cols)]):
        income = float(r["annual_income"] or 0.0)
        kids = int(r["children_count"] or 0)
        deps = (Dependent("child", int(r["youngest_child_age"] or 0)),) if income > 0 and kids else ()
        sex: Sex = "F" if r["gender"] == "F" else "M"
        age = int(r["age"] if r["age"] is not None else 30)
        years, months = retirement_of(sex, date(as_of.year - age, 7, 1))  # mid-year birth: the mart keeps age only
        person = Person(str(r["customer_id"]), age, sex, income, str(r["household_role"] or "head"),
                        dependents=deps, retirement_age=years, retirement_months=months)
        cover = {c.value: float(r[f"sa_{c.value}"] or 0.0) for c in NEED_TYPES}
        pseudo = Policy("mart", person.person_id, "", cover, date(1900, 1, 1))
        gaps = person_gaps(person, [pseudo], as_of, method, assumptions)
        rows.append({"customer_id": person.person_id, **{f"need_{g.coverage.value}": g.need.amount for g in gaps},
                     **{f"gap_{g.coverage.value}": float(g.gap) for g in gaps}})
    return pd.DataFrame(rows)


