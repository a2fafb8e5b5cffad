"""Needs diagnosis, plan and policy review for one customer, shared by the API, the console and the H5.

Scope
    The caller must see the customer (``web.customers.record_or_404``: 404 otherwise). The household
    is diagnosed as a whole (needs depend on who depends on whom), but household members outside the
    caller's row scope appear by their household role only: no id, age, figures or plan lines of
    theirs (their plan lines are summed into one anonymous line so that the plan's premium adds up),
    and the review report covers the visible members only. An H5 customer's scope is themself.

Inputs
    The warehouse, opened read-only for the request (``shouhu refresh`` keeps its write lock; when
    the file cannot be opened the answer is 503); the customer's latest risk assessment (the risk
    level for suitability; an unassessed customer counts as R1) and latest fact-find (it replaces the
    warehouse's view of the customer: income, expenses, debts, dependents, health, budget); the
    wallet's external policies of the visible members.

The steps are those of :func:`shouhu.advice.service.diagnose` / ``plan`` / ``review``
(``load_household`` → ``household_gaps`` → ``recommend`` / ``build_review``), composed here so
that the fact-find and the self-service seller rule apply. Every suitability check of a plan is
written to ``suitability_check``, as the CLI does.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import FieldView, Principal, field_view, row_rule
from shouhu.access.roles import Role
from shouhu.advice import service
from shouhu.advice.gaps import HouseholdGaps, household_gaps
from shouhu.advice.methods import DEFAULT_METHOD, LIFE_METHODS
from shouhu.advice.model import NEED_TYPES, Household, Policy
from shouhu.advice.plan import ROLE_EN, ROLE_ZH, Plan, recommend
from shouhu.advice.questionnaire import (
    Assessment,
    AssessmentStore,
    Questionnaire,
    assess_risk,
    load_questionnaire,
    person_from_fact_find,
    record_fact_find,
    validate_answers,
)
from shouhu.advice.review import Review, build_review
from shouhu.advice.suitability import CheckRecord
from shouhu.advice.wallet import COLUMNS as WALLET_COLUMNS
from shouhu.advice.wallet import RowProblem, WalletError, external_policies
from shouhu.errors import InvalidInput, ShouhuError
from shouhu.reports.review import render_html, render_pdf
from shouhu.storage import assessments as assessment_store
from shouhu.storage import customers as store
from shouhu.storage import wallet as wallet_store
from shouhu.storage.warehouse import Warehouse
from shouhu.web.auth import record
from shouhu.web.customers import record_or_404
from shouhu.web.state import AppState
from shouhu.web.warehouse import read_warehouse

log = logging.getLogger("shouhu.web")

RISK = "risk_tolerance"
FACT_FIND = "fact_find"
QUESTIONNAIRES = (RISK, FACT_FIND)
METHODS = tuple(LIFE_METHODS)
NEEDS = tuple(c.value for c in NEED_TYPES)


# -- the warehouse -------------------------------------------------------------------------------

def check_method(method: str) -> str:
    if method not in LIFE_METHODS:
        raise HTTPException(422, f"method: unknown life need method {method!r}; valid: {', '.join(METHODS)}")
    return method


# -- questionnaires and assessments --------------------------------------------------------------

class AnswersInvalid(InvalidInput):
    """Answers with problems; ``problems`` maps each bad question id to the reason."""

    code = "answers_invalid"

    def __init__(self, questionnaire: str, problems: dict[str, str]) -> None:
        shown = "; ".join(problems.values())
        super().__init__(f"{len(problems)} answer(s) of {questionnaire} need attention: {shown}",
                         questionnaire=questionnaire)
        self.problems = problems


def questionnaire(qid: str, version: str | None = None) -> Questionnaire:
    if qid not in QUESTIONNAIRES:
        raise HTTPException(422, f"questionnaire: must be one of {', '.join(QUESTIONNAIRES)}, not {qid!r}")
    try:
        return load_questionnaire(qid, version)
    except ShouhuError as e:
        raise HTTPException(422, f"version: {e}") from e


def problems(q: Questionnaire, answers: Mapping[str, Any]) -> dict[str, str]:
    """Every bad answer, by question id (the domain's validation stops at the first one)."""
    out: dict[str, str] = {}
    known = {item["id"] for item in q.questions}
    for extra in sorted(set(answers) - known):
        out[extra] = f"unknown question {extra!r}"
    for item in q.questions:
        single = dataclasses.replace(q, questions=(item,))
        try:
            validate_answers(single, {item["id"]: answers[item["id"]]} if item["id"] in answers else {})
        except ShouhuError as e:
            out[item["id"]] = str(e)
    return out


def answers_from_form(q: Questionnaire, form: Any) -> dict[str, Any]:
    """Answers from an HTML form (``form`` has ``get`` and ``getlist``); blanks are left out."""
    answers: dict[str, Any] = {}
    for item in q.questions:
        qid, kind = item["id"], item["type"]
        if kind == "multi":
            answers[qid] = [v for v in form.getlist(qid) if v]
            continue
        if kind == "dependents":
            rows = []
            for i in range(DEPENDENT_ROWS):
                relation, age = form.get(f"{qid}-{i}-relation") or "", form.get(f"{qid}-{i}-age") or ""
                if relation or str(age).strip():
                    rows.append({"relation": relation, "age": str(age).strip() or None})
            answers[qid] = rows
            continue
        value = form.get(qid)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if kind == "bool":
            answers[qid] = {"true": True, "false": False}.get(str(value), value)
        else:
            answers[qid] = value.strip() if isinstance(value, str) else value
    return answers


DEPENDENT_ROWS = 5  # rows of the dependents question on a form


def _assessment(row: dict[str, Any]) -> Assessment:
    alias = None
    if row["level"]:
        try:
            alias = next((lv["alias"] for lv in load_questionnaire(row["questionnaire"], row["version"]).levels
                          if lv["code"] == row["level"]), None)
        except ShouhuError:
            alias = None
    return Assessment(row["customer_id"], row["questionnaire"], row["version"], row["answers"], row["score"],
                      row["level"], alias, row["taken_at"])


def assessments(state: AppState, principal: Principal) -> assessment_store.ServingAssessmentStore[Assessment]:
    return assessment_store.ServingAssessmentStore(state.engine, _assessment, taken_by=principal.user_id,
                                                   rule=row_rule(principal))


def take(state: AppState, principal: Principal, customer_id: str, qid: str, answers: Mapping[str, Any],
         request: Request, version: str | None = None) -> Assessment:
    """Validate and store one assessment of a customer the caller sees; audited as a data change."""
    record_or_404(state, principal, customer_id)
    q = questionnaire(qid, version)
    bad = problems(q, answers)
    if bad:
        raise AnswersInvalid(qid, bad)
    result = assess_risk(customer_id, dict(answers), q.version) if qid == RISK else \
        record_fact_find(customer_id, dict(answers), q.version)
    kept: AssessmentStore = assessments(state, principal)
    kept.add(result)
    record(state, principal, "assessment", "customer", customer_id, request, questionnaire=q.id, version=q.version,
           score=result.score, level=result.level)
    return result


def latest(state: AppState, principal: Principal, customer_id: str) -> dict[str, Assessment | None]:
    """The customer's latest assessment of each questionnaire (None where never taken)."""
    rows = assessments(state, principal).history(customer_id)
    found: dict[str, Assessment | None] = dict.fromkeys(QUESTIONNAIRES)
    for a in rows:
        found[a.questionnaire] = a
    return found


def taken_by(state: AppState, principal: Principal, customer_id: str) -> dict[str, str | None]:
    """Who took the latest assessment of each questionnaire (a staff user id or ``customer:<id>``)."""
    found: dict[str, str | None] = dict.fromkeys(QUESTIONNAIRES)
    for row in assessments(state, principal).rows(customer_id):
        found[row["questionnaire"]] = row["taken_by"]
    return found


def fact_find_defaults(customer: dict[str, Any]) -> dict[str, Any]:
    """Fact-find answers taken from the customer's record as the caller sees it (shaped): age and sex,
    and income only where the caller sees it in clear (the customer themself; never a masked value)."""
    out: dict[str, Any] = {}
    if customer.get("age") is not None:
        out["age"] = int(customer["age"])
    if customer.get("gender") in ("M", "F"):
        out["sex"] = customer["gender"]
    income = customer.get("annual_income")
    try:
        if income is not None and float(str(income)) >= 0:
            out["annual_income"] = round(float(str(income)))
    except ValueError:  # masked
        pass
    return out


def level_label(a: Assessment | None, lang: str) -> str:
    if a is None or a.level is None:
        return ""
    q = load_questionnaire(a.questionnaire, a.version)
    level = next((lv for lv in q.levels if lv["code"] == a.level), None)
    return f"{a.level}/{a.alias} {level[lang] if level else ''}".strip()


# -- household, external policies ---------------------------------------------------------------

def visible_members(state: AppState, principal: Principal, customer_id: str) -> set[str]:
    """The customer and the household members the caller may see."""
    members = store.household(state.engine, row_rule(principal), customer_id)
    return {customer_id} | {str(m["customer_id"]) for m in members if m.get("visible") and m.get("customer_id")}


def external_rows(state: AppState, principal: Principal, customer_ids: list[str]) -> list[dict[str, Any]]:
    return wallet_store.rows(state.engine, row_rule(principal), customer_ids)


def external(state: AppState, principal: Principal, customer_ids: list[str]) -> list[Policy]:
    """Stored wallet policies of these customers as policies (a row that no longer validates is skipped)."""
    out: list[Policy] = []
    for row in external_rows(state, principal, customer_ids):
        try:
            out.extend(external_policies([(row["id"], row["record"])], file="wallet"))
        except WalletError as e:
            log.warning("external policy %s skipped: %s", row["id"], e)
    return out


def wallet_problems(error: WalletError) -> dict[str, str]:
    """A wallet validation error as {field: reason} (the "sa_*" problem names every sum-assured field)."""
    return {p.field: p.reason for p in error.problems}


def add_external(state: AppState, principal: Principal, customer_id: str, raw: Mapping[str, Any],
                 request: Request) -> dict[str, Any]:
    """Validate one external policy of the customer (the insured and holder are the customer) and store it."""
    record_or_404(state, principal, customer_id)
    fields = {k: raw.get(k) for k in WALLET_COLUMNS if k not in ("insured_id", "holder_id")}
    fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}
    fields |= {"insured_id": customer_id, "holder_id": customer_id}
    policy = external_policies([(1, fields)], file="form")[0]
    held = {(r["record"].get("policy_no"), r["record"].get("insurer"))
            for r in external_rows(state, principal, [customer_id])}
    if (policy.policy_no, policy.insurer) in held:
        raise WalletError([RowProblem("form", 1, "policy_no",
                                      f"policy {policy.policy_no} of this insurer is in the wallet already")])
    stored = {k: v for k, v in fields.items() if v not in (None, "")}
    row_id = wallet_store.add(state.engine, customer_id, stored, principal.user_id)
    record(state, principal, "wallet_add", "customer", customer_id, request, external_policy=row_id,
           insurer=policy.insurer, product_type=policy.product_type)
    return {"id": row_id, "record": stored}


def remove_external(state: AppState, principal: Principal, customer_id: str, row_id: int,
                    request: Request) -> None:
    record_or_404(state, principal, customer_id)
    removed = wallet_store.remove(state.engine, row_rule(principal), customer_id, row_id)
    if removed is None:
        raise HTTPException(404, f"no external policy {row_id} that you may see")
    record(state, principal, "wallet_remove", "customer", customer_id, request, external_policy=row_id)


def _household(state: AppState, principal: Principal, wh: Warehouse, customer_id: str, day: date,
               visible: set[str], fact_find: Assessment | None) -> tuple[service.HouseholdData, bool]:
    try:
        data = service.load_household(wh, customer_id, day, external(state, principal, sorted(visible)))
    except InvalidInput as e:
        raise HTTPException(404, f"customer {customer_id} is not in the warehouse yet (run shouhu refresh)") from e
    if fact_find is None:
        return data, False
    me = data.household.member(customer_id)
    try:
        person = person_from_fact_find(customer_id, fact_find.answers, role=me.role)
    except ShouhuError as e:  # answered on an older questionnaire version that no longer validates
        log.warning("fact-find of %s not used: %s", customer_id, e)
        return data, False
    person = dataclasses.replace(person, name=me.name)
    members = tuple(person if p.person_id == customer_id else p for p in data.household.members)
    return dataclasses.replace(data, household=Household(data.household.household_id, members)), True


# -- diagnosis and plan --------------------------------------------------------------------------

class _Checks:
    """A suitability check log for one plan: kept in memory, then written in one transaction."""

    def __init__(self) -> None:
        self.items: list[CheckRecord] = []

    def append(self, item: CheckRecord) -> None:
        self.items.append(item)

    def records(self) -> list[CheckRecord]:
        return list(self.items)


def _members(data: service.HouseholdData, gaps: HouseholdGaps, visible: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for person in data.household.members:
        role = person.role
        base = {"role": role, "role_zh": ROLE_ZH.get(role, "家庭成员"), "role_en": ROLE_EN.get(role, "member")}
        if person.person_id not in visible:
            out.append(base | {"person_id": None, "visible": False})
            continue
        out.append(base | {"person_id": person.person_id, "visible": True, "age": person.age,
                           "is_customer": person.person_id == data.customer_id,
                           "gaps": [g.to_dict() for g in gaps.by_person[person.person_id]]})
    return out


def _totals(gaps: HouseholdGaps, visible: set[str]) -> dict[str, float]:
    return {c: sum(g.gap for g in gaps.gaps() if g.person_id in visible and g.coverage.value == c) for c in NEEDS}


def _diagnosis(data: service.HouseholdData, gaps: HouseholdGaps, visible: set[str], fact_find_used: bool
               ) -> dict[str, Any]:
    return {"customer_id": data.customer_id, "household_id": data.household.household_id, "method": gaps.method,
            "as_of": gaps.as_of.isoformat(), "fact_find_used": fact_find_used,
            "members": _members(data, gaps, visible), "totals": _totals(gaps, visible),
            "external_policies": sum(1 for p in data.policies if p.source == "external")}


def _plan(plan: Plan, visible: set[str], checks: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    body = plan.to_dict()
    items, hidden, hidden_premium = [], 0, 0.0
    for item in plan.items:
        if item.person_id in visible:
            items.append(item.to_dict() | {"checks": checks.get(f"{item.person_id}/{item.product_code}", [])})
        else:
            hidden += 1
            hidden_premium += item.annual_premium
    body["items"] = items
    body["hidden"] = {"items": hidden, "premium": round(hidden_premium, 2)}
    body["remaining"] = {p: v for p, v in plan.remaining.items() if p in visible}
    return body


def seller(state: AppState, principal: Principal, data: service.HouseholdData) -> tuple[str | None, str]:
    """(qualification grade, whose): self-service for a customer; else the signed-in staff member's
    grade when the account is linked to a staff record that has one; else the customer's agent's."""
    if principal.role is Role.CUSTOMER:
        return None, "self_service"
    if principal.staff_id:
        member = store.staff_member(state.engine, principal.staff_id)
        if member and member.get("qualification_grade"):
            return str(member["qualification_grade"]), "you"
    return data.seller_grade, "customer_agent" if data.seller_grade else "none"


def _prepare(state: AppState, principal: Principal, customer_id: str, method: str, as_of: date | None
             ) -> tuple[date, set[str], Any, Any, Any, Any]:
    """What a diagnosis, plan or review starts from: the day, the members the caller may see, the latest
    assessments, the household read from the warehouse (with whether the fact-find was used) and its gaps."""
    check_method(method)
    record_or_404(state, principal, customer_id)
    day = as_of or date.today()
    visible = visible_members(state, principal, customer_id)
    done = latest(state, principal, customer_id)
    with read_warehouse(state) as wh:
        data, used = _household(state, principal, wh, customer_id, day, visible, done[FACT_FIND])
    return day, visible, done, data, used, household_gaps(data.household, data.policies, day, method)


def advise(state: AppState, principal: Principal, customer_id: str, request: Request, *,
           method: str = DEFAULT_METHOD, budget: float | None = None, with_plan: bool = True,
           as_of: date | None = None) -> dict[str, Any]:
    """The diagnosis (and, with ``with_plan``, the plan) of the customer's household, shaped for the caller.

    Each run is audited as ``advice_run`` (sales traceability): need explanations quote the income
    they start from, which a caller may otherwise see only masked, so every such showing is on record
    (``record_income_shown``: the record's income, not the customer's own fact-find answer, was
    shown to a caller who does not see income in clear)."""
    _day, visible, done, data, used, gaps = _prepare(state, principal, customer_id, method, as_of)
    result = {"diagnosis": _diagnosis(data, gaps, visible, used)}
    record(state, principal, "advice_run", "customer", customer_id, request, method=method, plan=with_plan,
           fact_find_used=used, members_shown=len(visible & {p.person_id for p in data.household.members}),
           record_income_shown=not used and field_view(principal, "annual_income") is not FieldView.CLEAR)
    if not with_plan:
        return result
    risk = done[RISK]
    fact_find = done[FACT_FIND]
    ff_budget = fact_find.answers.get("budget") if used and fact_find is not None else None
    own_budget = budget if budget is not None else (float(ff_budget) if ff_budget else None)
    grade, whose = seller(state, principal, data)
    log_ = _Checks()
    rec = recommend(data.household, gaps, data.policies, risk_level=risk.level if risk else None,
                    seller_grade=grade, budget=own_budget, log=log_)
    assessment_store.append_checks(state.engine, (c.to_dict() for c in log_.items))
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for c in log_.items:
        by_subject.setdefault(c.subject, []).append({"check": c.check, "passed": c.passed, "zh": c.zh, "en": c.en})
    affordability = [c for c in log_.items if c.check == "affordability"]
    result["plan"] = {
        "risk_level": risk.level if risk else None, "risk_assessed": risk is not None,
        "seller_grade": grade, "seller": whose, "budget": {"zh": rec.budget_zh, "en": rec.budget_en},
        "recommended": _plan(rec.plan, visible, by_subject),
        "alternatives": [_plan(p, visible, by_subject) for p in rec.alternatives],
        "blocked": [b for b in rec.blocked if b["person_id"] in visible],
        "affordability": affordability[-1].to_dict() if affordability else None,
        "checks_logged": len(log_.items),
    }
    return result


def chart_data(diagnosis: dict[str, Any], lang: str) -> dict[str, Any]:
    """Per visible member: labels, need, effective cover, cover in waiting and gap (万元) for ECharts."""
    from shouhu.model.vocab import CoverageType

    out = []
    for m in diagnosis["members"]:
        if not m["visible"]:
            continue
        gaps = m["gaps"]
        out.append({"person_id": m["person_id"], "title": (m["role_zh"] if lang == "zh" else m["role_en"])
                    + f" · {m['age']}" + ("岁" if lang == "zh" else ""),
                    "labels": [CoverageType(g["coverage"]).label(lang) for g in gaps],
                    "need": [round(g["need"]["amount"] / 10_000, 1) for g in gaps],
                    "existing": [round(g["existing"] / 10_000, 1) for g in gaps],
                    "waiting": [round(g["in_waiting"] / 10_000, 1) for g in gaps],
                    "gap": [round(g["gap"] / 10_000, 1) for g in gaps]})
    return {"members": out}


# -- review report -------------------------------------------------------------------------------

def review(state: AppState, principal: Principal, customer_id: str, *, method: str = DEFAULT_METHOD,
           as_of: date | None = None) -> Review:
    """The policy review of the visible members of the customer's household (names and IDs masked)."""
    day, visible, _done, data, _, gaps = _prepare(state, principal, customer_id, method, as_of)
    shown = Household(data.household.household_id, tuple(p for p in data.household.members if p.person_id in visible))
    policies = [p for p in data.policies if p.insured_id in visible or p.holder_id in visible]
    people = {k: v for k, v in data.people.items() if k in visible}
    return build_review(shown, policies, gaps, day, people)


def review_html(state: AppState, principal: Principal, customer_id: str, lang: str) -> str:
    return render_html(review(state, principal, customer_id), "zh" if lang == "zh" else "en")


def review_pdf(state: AppState, principal: Principal, customer_id: str, lang: str, request: Request) -> bytes:
    """The review report as PDF (CJK font embedded by WeasyPrint); the download is audited as an export."""
    html = review_html(state, principal, customer_id, lang)
    with tempfile.TemporaryDirectory(prefix="shouhu-review-") as tmp:
        data = render_pdf(html, Path(tmp) / "review.pdf").read_bytes()
    record(state, principal, "export", "customer", customer_id, request, document="review_pdf", lang=lang,
           bytes=len(data))
    return data


def pdf_name(customer_id: str) -> str:
    return f"review-{customer_id}.pdf"
