"""Suitability guardrail (产品适当性管理): may this product be recommended to this person by this seller?

Checks, each logged as a :class:`CheckRecord` (inputs, result, reason zh/en, time):

* ``customer_risk``: product risk grade ≤ the customer's tolerance (R1→P1, R2→P2, … R5→P5); a
  customer with no assessment is treated as R1 (only P1 products) until assessed
* ``seller_qualification``: product risk grade ≤ what the seller may sell (Q1→P2, Q2→P3, Q3→P5);
  self-service (no seller) skips this check, and says so
* ``issue_age``: the product's issue ages include the person's age
* ``health``: a declared serious condition blocks critical illness and medical cover
* ``affordability`` (plan level): all premiums ≤ ``affordability_share`` of household income

The log is append-only behind :class:`CheckLog`; the compliance layer persists it later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from shouhu.advice.model import Person, money
from shouhu.advice.rules import cite
from shouhu.errors import UnknownName
from shouhu.model.vocab import ProductType, QualificationGrade, RiskGrade
from shouhu.reference.products import Product

RISK_LEVELS = ("R1", "R2", "R3", "R4", "R5")
CUSTOMER_MAX_GRADE: dict[str, RiskGrade] = {f"R{i}": RiskGrade(f"P{i}") for i in range(1, 6)}
SELLER_MAX_GRADE: dict[QualificationGrade, RiskGrade] = {
    QualificationGrade.Q1: RiskGrade.P2, QualificationGrade.Q2: RiskGrade.P3, QualificationGrade.Q3: RiskGrade.P5,
}
SERIOUS_CONDITIONS = frozenset({"cancer", "heart_disease", "stroke", "kidney_failure", "liver_cirrhosis"})
CONDITION_ZH = {"cancer": "恶性肿瘤", "heart_disease": "心脏病", "stroke": "脑卒中",
                "kidney_failure": "肾衰竭", "liver_cirrhosis": "肝硬化", "diabetes": "糖尿病",
                "hypertension": "高血压", "thyroid_nodule": "甲状腺结节"}
HEALTH_UNDERWRITTEN = frozenset({ProductType.CRITICAL_ILLNESS, ProductType.MEDICAL})
PROTECTION_TYPES = frozenset({ProductType.TERM_LIFE, ProductType.WHOLE_LIFE, ProductType.CRITICAL_ILLNESS,
                              ProductType.MEDICAL, ProductType.ACCIDENT})
ASSESSMENT_VALID_DAYS = 365  # house rule: re-assess yearly (see docs/advice.md)
ELDERLY_AGE = 60
ELDERLY_STRICT_AGE = 65
TRIGGER_ZH = {"bancassurance_long_term": "银保渠道销售保险期间超过一年的产品", "holder_60_plus_long_term":
              "60周岁及以上投保保险期间超过一年的产品", "investment_type_product": "万能险/投连险"}


def grade_rank(grade: RiskGrade | str) -> int:
    return int(str(grade)[1])


@dataclass(frozen=True)
class CheckRecord:
    check: str
    subject: str  # who and what: "<person_id>/<product_code>" or "<household_id>/plan"
    inputs: dict[str, Any]
    passed: bool
    zh: str
    en: str
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CheckLog(Protocol):
    def append(self, record: CheckRecord) -> None: ...

    def records(self) -> list[CheckRecord]: ...


class MemoryCheckLog:
    def __init__(self) -> None:
        self._items: list[CheckRecord] = []

    def append(self, record: CheckRecord) -> None:
        self._items.append(record)

    def records(self) -> list[CheckRecord]:
        return list(self._items)


class ServingCheckLog:
    """The compliance log in the serving database (table ``suitability_check``), append-only.

    Checks are buffered and written by :meth:`flush` (one transaction per plan), so an optimiser run
    does not open a connection per check.
    """

    def __init__(self, serving_url: str) -> None:
        self.url = serving_url
        self._pending: list[CheckRecord] = []

    def append(self, record: CheckRecord) -> None:
        self._pending.append(record)

    def flush(self) -> int:
        from shouhu.storage.compliance import append_checks

        written = append_checks(self.url, (r.to_dict() for r in self._pending))
        self._pending = []
        return written

    def records(self) -> list[CheckRecord]:
        from shouhu.storage.compliance import read_checks

        stored = [CheckRecord(check=r["check_name"], subject=r["subject"], inputs=r["inputs"], passed=r["passed"],
                              zh=r["reason_zh"], en=r["reason_en"], at=r["checked_at"]) for r in read_checks(self.url)]
        return stored + list(self._pending)


class JsonlCheckLog:
    """Append-only JSON lines file: one check a line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: CheckRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")

    def records(self) -> list[CheckRecord]:
        if not self.path.exists():
            return []
        return [CheckRecord(**json.loads(x)) for x in self.path.read_text(encoding="utf-8").splitlines() if x]


@dataclass(frozen=True)
class Verdict:
    passed: bool
    checks: tuple[CheckRecord, ...]

    @property
    def reasons(self) -> list[CheckRecord]:
        return [c for c in self.checks if not c.passed]

    def why(self, lang: str = "zh") -> str:
        return ";".join(c.zh if lang.startswith("zh") else c.en for c in self.reasons)


def _assessment_state(risk_level: str | None, assessed_on: date | None, as_of: date | None) -> str:
    """``valid``, ``expired`` (older than :data:`ASSESSMENT_VALID_DAYS`) or ``none``."""
    if risk_level is None:
        return "none"
    if assessed_on is not None and as_of is not None and (as_of - assessed_on).days > ASSESSMENT_VALID_DAYS:
        return "expired"
    return "valid"


def _risk(person: Person, product: Product, risk_level: str | None, subject: str,
          state: str = "valid") -> CheckRecord:
    if risk_level is not None and risk_level not in CUSTOMER_MAX_GRADE:
        raise UnknownName("risk level", risk_level, list(RISK_LEVELS))
    if state != "valid":
        return _unassessed(product, subject, risk_level, state)
    level = risk_level or "R1"
    cap = CUSTOMER_MAX_GRADE[level]
    ok = grade_rank(product.risk_grade) <= grade_rank(cap)
    return CheckRecord("customer_risk", subject, {"risk_level": level, "assessed": True,
                                                  "product_grade": product.risk_grade.value, "rule": "customer_risk"},
                       ok,
                       f"客户风险等级{level}可购买至{cap.value},产品为{product.risk_grade.value}"
                       + ("" if ok else ",超出客户风险承受能力") + cite("customer_risk"),
                       f"customer risk level {level} allows up to {cap.value}; product is "
                       f"{product.risk_grade.value}" + ("" if ok else ": above the customer's risk tolerance")
                       + " " + cite("customer_risk", "en"))


def _unassessed(product: Product, subject: str, risk_level: str | None, state: str) -> CheckRecord:
    """No valid assessment: P1 protection may still be recommended; anything else needs one first."""
    ok = product.type in PROTECTION_TYPES and product.risk_grade is RiskGrade.P1
    rule = "protection_without_assessment" if ok else ("assessment_validity" if state == "expired"
                                                         else "customer_risk")
    why_zh = "未做风险测评" if state == "none" else f"风险测评已超过{ASSESSMENT_VALID_DAYS}天有效期"
    why_en = "not assessed" if state == "none" else f"risk assessment older than {ASSESSMENT_VALID_DAYS} days"
    return CheckRecord("customer_risk", subject, {"risk_level": "R1", "assessed": False, "assessment": state,
                                                  "stale_level": risk_level, "product_grade": product.risk_grade.value,
                                                  "rule": rule}, ok,
                       f"{why_zh}(按R1处理)," + ("P1保障型产品可推荐,投保前请完成测评" if ok
                                              else f"{product.risk_grade.value}{product.type.zh}须先完成风险测评")
                       + cite(rule),
                       f"{why_en} (treated as R1): " + ("a P1 protection product may be recommended; assess before "
                                                        "the application" if ok else
                                                        f"a {product.risk_grade.value} {product.type.en} product "
                                                        "needs a valid assessment first") + " " + cite(rule, "en"))


def _elderly(person: Person, product: Product, subject: str) -> CheckRecord:
    blocks = person.age >= ELDERLY_STRICT_AGE and grade_rank(product.risk_grade) >= grade_rank(RiskGrade.P4)
    note_zh = f"{person.age}岁" + (f",{ELDERLY_STRICT_AGE}岁及以上不推荐{product.risk_grade.value}投资型产品" if blocks
                                  else (",老年客户:须充分提示风险并双录" if person.age >= ELDERLY_AGE else ",不适用"))
    note_en = f"age {person.age}" + (f": no {product.risk_grade.value} investment product at {ELDERLY_STRICT_AGE}+"
                                     if blocks else (": elderly customer, risks explained and sale recorded"
                                                     if person.age >= ELDERLY_AGE else ": not applicable"))
    return CheckRecord("elderly", subject, {"age": person.age, "product_grade": product.risk_grade.value,
                                            "rule": "elderly"}, not blocks,
                       "老年客户规则:" + note_zh + cite("elderly"),
                       "elderly rule: " + note_en + " " + cite("elderly", "en"))


def double_recording_triggers(holder_age: int, product: Product, channel: str | None = None) -> list[str]:
    """Why this sale must be recorded on audio and video (双录); empty when it need not be."""
    long_term = product.cover_years == 0 or product.cover_years > 1
    out = []
    if channel == "bancassurance" and long_term:
        out.append("bancassurance_long_term")
    if holder_age >= ELDERLY_AGE and long_term:
        out.append("holder_60_plus_long_term")
    if product.type in (ProductType.UNIT_LINKED, ProductType.UNIVERSAL):
        out.append("investment_type_product")
    return out


def _seller(product: Product, seller_grade: str | None, subject: str) -> CheckRecord:
    if seller_grade is None:
        return CheckRecord("seller_qualification", subject, {"seller_grade": None}, True,
                           "自助投保,无销售人员资质要求", "self-service: no seller qualification applies")
    try:
        grade = QualificationGrade(seller_grade)
    except ValueError:
        raise UnknownName("seller qualification grade", seller_grade, QualificationGrade.codes()) from None
    cap = SELLER_MAX_GRADE[grade]
    ok = grade_rank(product.risk_grade) <= grade_rank(cap)
    return CheckRecord("seller_qualification", subject, {"seller_grade": grade.value,
                                                         "product_grade": product.risk_grade.value}, ok,
                       f"销售人员资质{grade.value}({grade.zh})可销售至{cap.value}"
                       + ("" if ok else f",不得销售{product.risk_grade.value}产品"),
                       f"seller grade {grade.value} ({grade.en}) may sell up to {cap.value}"
                       + ("" if ok else f"; may not sell a {product.risk_grade.value} product"))


def _age(person: Person, product: Product, subject: str) -> CheckRecord:
    ok = product.min_age <= person.age <= product.max_age
    return CheckRecord("issue_age", subject, {"age": person.age, "min_age": product.min_age,
                                              "max_age": product.max_age}, ok,
                       f"投保年龄{product.min_age}-{product.max_age}岁,被保险人{person.age}岁"
                       + ("" if ok else ",不符合投保年龄"),
                       f"issue ages {product.min_age}-{product.max_age}, insured is {person.age}"
                       + ("" if ok else ": outside the issue ages"))


def _health(person: Person, product: Product, subject: str) -> CheckRecord:
    serious = sorted(person.health_conditions & SERIOUS_CONDITIONS)
    blocks = bool(serious) and product.type in HEALTH_UNDERWRITTEN
    return CheckRecord("health", subject, {"declared": sorted(person.health_conditions),
                                           "product_type": product.type.value}, not blocks,
                       f"健康告知{'、'.join(CONDITION_ZH.get(c, c) for c in serious)}不符合{product.type.zh}投保条件"
                       if blocks
                       else "健康告知无影响本产品的严重疾病",
                       f"declared {', '.join(serious)}: not insurable for {product.type.en}" if blocks
                       else "no declared serious condition affects this product")


def _recording(person: Person, product: Product, subject: str, channel: str | None) -> CheckRecord | None:
    why = double_recording_triggers(person.age, product, channel)
    if not why:
        return None
    return CheckRecord("double_recording", subject, {"triggers": why, "rule": "double_recording"}, True,
                       "须双录(同步录音录像):" + "、".join(TRIGGER_ZH[w] for w in why) + cite("double_recording"),
                       "double recording required: " + ", ".join(why) + " " + cite("double_recording", "en"))


def _cited(rec: CheckRecord) -> CheckRecord:
    """The record with its rule's name and source at the end of both reasons and the rule id in its inputs."""
    return replace(rec, inputs={**rec.inputs, "rule": rec.check}, zh=rec.zh + cite(rec.check),
                   en=rec.en + " " + cite(rec.check, "en"))


def check_product(person: Person, product: Product, *, risk_level: str | None, seller_grade: str | None,
                  log: CheckLog | None = None, assessed_on: date | None = None, as_of: date | None = None,
                  channel: str | None = None) -> Verdict:
    """Every product-level check for one person; each is appended to ``log``.

    ``assessed_on`` (the assessment's date) and ``as_of`` make an assessment older than
    :data:`ASSESSMENT_VALID_DAYS` count as none; a double-recording record is added when one is due."""
    subject = f"{person.person_id}/{product.code}"
    state = _assessment_state(risk_level, assessed_on, as_of)
    checks: tuple[CheckRecord, ...] = (
        _risk(person, product, risk_level, subject, state), _cited(_seller(product, seller_grade, subject)),
        _cited(_age(person, product, subject)), _cited(_health(person, product, subject)),
        _elderly(person, product, subject))
    recording = _recording(person, product, subject, channel)
    if recording is not None:
        checks += (recording,)
    if log is not None:
        for c in checks:
            log.append(c)
    return Verdict(all(c.passed for c in checks), checks)


def check_affordability(subject: str, total_premium: float, household_income: float, share: float,
                        log: CheckLog | None = None) -> CheckRecord:
    cap = household_income * share
    ok = total_premium <= cap + 0.005
    rec = CheckRecord("affordability", subject, {"total_premium": round(total_premium, 2),
                                                 "household_income": household_income, "share": share}, ok,
                      f"年缴保费合计{money(total_premium)}元,上限为家庭年收入的{share:.0%}即{money(cap)}元"
                      + ("" if ok else ",超出承受能力"),
                      f"total premium {money(total_premium)} CNY a year; ceiling {share:.0%} of household income, "
                      f"{money(cap)} CNY" + ("" if ok else ": not affordable"))
    rec = _cited(rec)
    if log is not None:
        log.append(rec)
    return rec
