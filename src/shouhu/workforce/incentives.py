"""Incentive plans and the ledger entries they produce. Pure rules: storage.workforce keeps the ledger.

A plan pays, per policy:

* **first-year commission** (首年佣金) — ``first_year[product_type]`` × annual premium, to the
  producer of record (出单人), in the month the policy is issued;
* **renewal commission** (续期佣金) — ``renewal[policy_year]`` × annual premium, to the producer of
  service (服务人), in the month of each anniversary while the policy is in force;
* **persistency bonus** (继续率奖金) — ``bonus_rate`` × the first-year premium of an agent's monthly
  cohort, in the cohort's 13th month, when the cohort's 13-month persistency (policies still in force
  ÷ policies issued) is at least ``bonus_threshold``;
* **clawback** (佣金追回) — when a policy is cancelled in the free-look period (犹豫期, ``free_look_days``)
  the whole first-year commission paid for it is taken back; when it lapses or is surrendered within
  ``clawback_months`` of issue, ``clawback_share`` of it.

Every payment and every clawback is a NEW entry; nothing is edited. Money is in fen (1/100 CNY).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from shouhu.errors import ConfigError, InvalidInput, UnknownName

KINDS = ("first_year", "renewal", "persistency_bonus", "clawback", "reversal")
ENDED = ("lapsed", "surrendered")


@dataclass(frozen=True)
class Plan:
    plan_id: str
    first_year: Mapping[str, float]          # product type (or "default") -> rate
    renewal: Mapping[int, float]             # policy year (2, 3, ...) -> rate
    bonus_threshold: float = 1.01            # above 1: never paid
    bonus_rate: float = 0.0
    clawback_months: int = 0
    clawback_share: float = 0.0
    free_look_days: int = 15
    unsuitable_withhold: float = 0.0         # share of first-year commission withheld on an unsuitable sale
    label: tuple[str, str] = ("", "")

    def first_year_rate(self, product_type: str | None) -> float:
        return self.first_year.get(product_type or "", self.first_year.get("default", 0.0))

    def renewal_rate(self, policy_year: int) -> float:
        return self.renewal.get(policy_year, 0.0)


def _rate(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{where}: a rate must be a number from 0 to 1, got {value!r}")
    return float(value)


def plan_from_mapping(plan_id: str, raw: Mapping[str, Any], where: str = "plan") -> Plan:
    """A plan from a TOML table; every bad field is named (``where`` says which file/plan)."""
    known = {"first_year", "renewal", "persistency_bonus", "clawback", "unsuitable_withhold", "label_zh", "label_en"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(known)}")
    fy = {str(k): _rate(v, f"{where}.first_year.{k}") for k, v in dict(raw.get("first_year", {})).items()}
    renewal = {}
    for k, v in dict(raw.get("renewal", {})).items():
        if not str(k).isdigit() or int(k) < 2:
            raise ConfigError(f"{where}.renewal: keys are policy years 2, 3, ..., got {k!r}")
        renewal[int(k)] = _rate(v, f"{where}.renewal.{k}")
    bonus, claw = dict(raw.get("persistency_bonus", {})), dict(raw.get("clawback", {}))
    return Plan(plan_id, fy, renewal,
                bonus_threshold=_rate(bonus.get("threshold", 1.0), f"{where}.persistency_bonus.threshold")
                if bonus else 1.01,
                bonus_rate=_rate(bonus.get("rate", 0.0), f"{where}.persistency_bonus.rate"),
                clawback_months=_months(claw.get("months", 0), f"{where}.clawback.months"),
                clawback_share=_rate(claw.get("share", 0.0), f"{where}.clawback.share"),
                free_look_days=_months(claw.get("free_look_days", 15), f"{where}.clawback.free_look_days"),
                unsuitable_withhold=_rate(raw.get("unsuitable_withhold", 0.0), f"{where}.unsuitable_withhold"),
                label=(str(raw.get("label_zh", plan_id)), str(raw.get("label_en", plan_id))))


def _months(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: a whole number of months/days, 0 or more, got {value!r}")
    return value


PLANS_FILE = Path(__file__).with_name("plans.toml")


def load_plans(path: Path | None = None) -> dict[str, Plan]:
    """The plans of ``path`` (default: the built-in ``plans.toml``), by id."""
    path = path or PLANS_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read incentive plans from {path}: {e}") from e
    plans = raw.get("plan", {})
    if not plans:
        raise ConfigError(f"{path}: no [plan.NAME] tables")
    return {pid: plan_from_mapping(pid, body, f"{path.name}: plan.{pid}") for pid, body in plans.items()}


def get_plan(plan_id: str, path: Path | None = None) -> Plan:
    plans = load_plans(path)
    if plan_id not in plans:
        raise UnknownName("incentive plan", plan_id, sorted(plans))
    return plans[plan_id]


# --- ledger entries from real policies ---------------------------------------------------------

@dataclass(frozen=True)
class PolicyFacts:
    policy_no: str
    producer_of_record: str | None
    producer_of_service: str | None
    product_type: str | None
    issue_date: date
    status: str
    status_date: date | None
    annual_premium: float


@dataclass(frozen=True)
class Entry:
    agent_id: str
    kind: str
    period: str
    amount_fen: int
    memo: str
    policy_no: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def fen(yuan: float) -> int:
    return round(yuan * 100)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(text: str) -> tuple[int, int]:
    try:
        year, month = (int(p) for p in text.split("-"))
        date(year, month, 1)
    except (ValueError, TypeError):
        raise InvalidInput(f"period must be YYYY-MM, got {text!r}", field="period") from None
    return year, month


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (issue 2026-01-15 → 2026-03-14 is 1 month)."""
    return (end.year - start.year) * 12 + end.month - start.month - (1 if end.day < start.day else 0)


def _in_force_at(p: PolicyFacts, day: date) -> bool:
    return not (p.status in ENDED and p.status_date is not None and p.status_date <= day)


def _anniversary(p: PolicyFacts, year: int) -> date:
    day = min(p.issue_date.day, 28) if p.issue_date.month == 2 else p.issue_date.day
    return date(year, p.issue_date.month, day)


def commission_entries(plan: Plan, policies: Iterable[PolicyFacts], period: str,
                       paid_first_year: Mapping[str, int]) -> list[Entry]:
    """First-year, renewal and clawback entries for ``period`` (YYYY-MM).

    ``paid_first_year``: policy -> first-year commission already in the ledger (fen); a clawback takes
    back a share of what was really paid, never of what a plan would have paid.
    """
    year, month = parse_period(period)
    out: list[Entry] = []
    for p in policies:
        if p.producer_of_record and month_of(p.issue_date) == period:
            rate = plan.first_year_rate(p.product_type)
            out.append(Entry(p.producer_of_record, "first_year", period, fen(rate * p.annual_premium),
                             f"{rate:.0%} × {p.annual_premium:.2f} ({p.product_type})", p.policy_no))
        policy_year = year - p.issue_date.year + 1
        if policy_year >= 2 and p.issue_date.month == month and p.producer_of_service:
            rate = plan.renewal_rate(policy_year)
            if rate > 0 and _in_force_at(p, _anniversary(p, year)):
                out.append(Entry(p.producer_of_service, "renewal", period, fen(rate * p.annual_premium),
                                 f"year {policy_year}: {rate:.0%} × {p.annual_premium:.2f}", p.policy_no))
        out.extend(_clawback(plan, p, period, paid_first_year))
    return out


def _clawback(plan: Plan, p: PolicyFacts, period: str, paid: Mapping[str, int]) -> list[Entry]:
    if p.status not in ENDED or p.status_date is None or month_of(p.status_date) != period:
        return []
    paid_fen = paid.get(p.policy_no, 0)
    if paid_fen <= 0 or not p.producer_of_record:
        return []
    days = (p.status_date - p.issue_date).days
    if days <= plan.free_look_days:
        share, why = 1.0, f"free-look cancellation after {days} day(s)"
    elif months_between(p.issue_date, p.status_date) < plan.clawback_months:
        share, why = plan.clawback_share, f"{p.status} within {plan.clawback_months} months"
    else:
        return []
    if share <= 0:
        return []
    return [Entry(p.producer_of_record, "clawback", period, -round(paid_fen * share),
                  f"{why}: {share:.0%} of {paid_fen / 100:.2f}", p.policy_no)]


def bonus_entries(plan: Plan, policies: Sequence[PolicyFacts], period: str) -> list[Entry]:
    """Persistency bonuses for the cohorts issued 12 months before ``period`` (their 13th month)."""
    year, month = parse_period(period)
    cohort = f"{year - 1:04d}-{month:02d}"
    by_agent: dict[str, list[PolicyFacts]] = {}
    for p in policies:
        if p.producer_of_record and month_of(p.issue_date) == cohort:
            by_agent.setdefault(p.producer_of_record, []).append(p)
    out = []
    start = date(year, month, 1)
    for agent, rows in sorted(by_agent.items()):
        kept = [p for p in rows if _in_force_at(p, start)]
        ratio = len(kept) / len(rows)
        if plan.bonus_rate > 0 and ratio >= plan.bonus_threshold:
            premium = sum(p.annual_premium for p in kept)
            out.append(Entry(agent, "persistency_bonus", period, fen(plan.bonus_rate * premium),
                             f"cohort {cohort}: 13-month persistency {ratio:.1%} ≥ {plan.bonus_threshold:.0%}; "
                             f"{plan.bonus_rate:.0%} × {premium:.2f}", None, {"cohort": cohort}))
    return out
