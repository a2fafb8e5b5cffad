"""Disease knowledge linked to the customer's own cover: "what your policies would pay for this, and your gap".

For one disease (``data/diseases.toml``, assumptions stated there) and a cost at the low and the high end:

* the basic medical insurance pays ``social_share`` of the cost; the rest is the out-of-pocket cost;
* a million-yuan medical policy (indemnity) pays the out-of-pocket cost above its deductible, up to its
  limit; several medical policies do not add up (the best limit counts);
* critical-illness cover pays its sum assured as a lump sum, once the waiting period is over (cover still in
  its waiting period is shown apart and does not count);
* income lost while recovering is ``recovery_years`` × annual income (none for a child or a retiree);
* the gap is out-of-pocket cost + lost income − medical − critical-illness lump sum, never below zero.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shouhu.advice.model import money
from shouhu.errors import UnknownName

DATA = Path(__file__).parent / "data" / "diseases.toml"
MEDICAL_DEDUCTIBLE = 10_000.0  # the shelf's million-yuan medical products (shouhu.reference.products)


@dataclass(frozen=True)
class Disease:
    code: str
    zh: str
    en: str
    cost_low: float
    cost_high: float
    social_share: float
    recovery_years: float
    note_zh: str = ""
    note_en: str = ""

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass(frozen=True)
class Cover:
    """What the customer holds that pays for an illness (our policies plus those declared in the wallet)."""

    ci_sum_assured: float = 0.0  # effective, in force
    ci_in_waiting: float = 0.0  # in force but still in its waiting period
    medical_limit: float = 0.0  # the best limit of an effective medical policy
    medical_deductible: float = MEDICAL_DEDUCTIBLE
    annual_income: float = 0.0
    earning: bool = True  # False for a child or a retiree: no income is lost


@dataclass(frozen=True)
class Scenario:
    cost: float
    social: float
    out_of_pocket: float
    medical_pays: float
    ci_pays: float
    lost_income: float
    gap: float

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DiseaseGap:
    disease: Disease
    low: Scenario
    high: Scenario
    cover: Cover

    def explain(self, lang: str = "zh") -> str:
        d, lo, hi = self.disease, self.low, self.high
        if lang.startswith("zh"):
            return (f"{d.zh}:治疗费用约{money(lo.cost)}-{money(hi.cost)}元,医保约报销{d.social_share:.0%}。"
                    f"您的保单预计赔付:重疾保险金{money(lo.ci_pays)}元,医疗险报销{money(lo.medical_pays)}-"
                    f"{money(hi.medical_pays)}元;康复期收入损失约{money(lo.lost_income)}元。"
                    f"缺口约{money(lo.gap)}-{money(hi.gap)}元。" + self._waiting(lang))
        return (f"{d.en}: treatment costs about {money(lo.cost)}-{money(hi.cost)} CNY; basic medical insurance "
                f"reimburses about {d.social_share:.0%}. Your policies would pay: critical-illness benefit "
                f"{money(lo.ci_pays)}, medical {money(lo.medical_pays)}-{money(hi.medical_pays)}; income lost "
                f"while recovering about {money(lo.lost_income)}. Gap about {money(lo.gap)}-{money(hi.gap)} CNY."
                + self._waiting(lang))

    def _waiting(self, lang: str) -> str:
        w = self.cover.ci_in_waiting
        if w <= 0:
            return ""
        return (f"另有{money(w)}元重疾保额仍在等待期,等待期内确诊不赔。" if lang.startswith("zh")
                else f" A further {money(w)} CNY of critical-illness cover is still in its waiting period and would "
                     "not pay yet.")

    def to_dict(self) -> dict[str, Any]:
        return {"disease": self.disease.code, "name_zh": self.disease.zh, "name_en": self.disease.en,
                "low": self.low.to_dict(), "high": self.high.to_dict(), "ci_in_waiting": self.cover.ci_in_waiting,
                "zh": self.explain("zh"), "en": self.explain("en")}


@cache
def catalogue(path: Path = DATA) -> dict[str, Disease]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {d["code"]: Disease(**d) for d in data["disease"]}


def disease(code: str) -> Disease:
    found = catalogue().get(code)
    if found is None:
        raise UnknownName("disease", code, list(catalogue()))
    return found


def scenario(d: Disease, cost: float, cover: Cover) -> Scenario:
    social = round(cost * d.social_share)
    pocket = cost - social
    medical = min(cover.medical_limit, max(0.0, pocket - cover.medical_deductible)) if cover.medical_limit else 0.0
    lost = round(cover.annual_income * d.recovery_years) if cover.earning else 0.0
    ci = cover.ci_sum_assured
    return Scenario(cost, social, pocket, medical, ci, lost, max(0.0, round(pocket + lost - medical - ci)))


def disease_gap(code: str, cover: Cover) -> DiseaseGap:
    d = disease(code)
    return DiseaseGap(d, scenario(d, d.cost_low, cover), scenario(d, d.cost_high, cover), cover)
