"""How an incentive plan pays agents who sell differently, year by year (expected values, no dice).

Each year a profile issues ``policies_per_year`` policies of ``premium`` each (a cohort of premium
P). Of a cohort, ``free_look`` cancels in the free-look period, ``lapse_first_year`` of the rest
lapses within the first year (inside the plan's clawback window when that is 12 months or more),
and ``lapse_later`` of the survivors lapses in each later year. ``unsuitable`` is the share of sales
that break suitability (the plan withholds ``unsuitable_withhold`` of their first-year commission).

Per cohort, with f = fy rate, s1 = (1 − free_look)(1 − lapse_first_year):

* year of issue: first-year commission P·f, clawback −P·free_look·f (always the whole of it) and
  −P·(1 − free_look)·lapse_first_year·f·clawback_share (if the window covers the first year),
  withheld −P·unsuitable·f·unsuitable_withhold;
* the year after: persistency bonus P·s1·bonus_rate when s1 ≥ the threshold;
* policy year k ≥ 2: renewal P·s1·(1 − lapse_later)^(k−2)·renewal[k].

The arithmetic is small enough to check by hand (tests do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from shouhu.errors import InvalidInput, UnknownName
from shouhu.workforce.incentives import Plan

PARTS = ("first_year", "renewal", "persistency_bonus", "clawback", "withheld")


@dataclass(frozen=True)
class Profile:
    name: str
    policies_per_year: float
    premium: float
    free_look: float
    lapse_first_year: float
    lapse_later: float
    unsuitable: float
    label: tuple[str, str] = ("", "")

    def check(self) -> Profile:
        for key in ("free_look", "lapse_first_year", "lapse_later", "unsuitable"):
            value = getattr(self, key)
            if not 0 <= value <= 1:
                raise InvalidInput(f"profile {self.name}: {key} must be from 0 to 1", field=key, value=value)
        if self.policies_per_year < 0 or self.premium < 0:
            raise InvalidInput(f"profile {self.name}: policies and premium cannot be negative")
        return self

    @property
    def first_year_survival(self) -> float:
        return (1 - self.free_look) * (1 - self.lapse_first_year)


PROFILES: dict[str, Profile] = {
    "churner": Profile("churner", 60, 6000, free_look=0.12, lapse_first_year=0.35, lapse_later=0.15,
                       unsuitable=0.25, label=("冲量型：保单多，犹豫期退保与失效多", "Churner: many policies, "
                                               "high free-look and lapse")),
    "steward": Profile("steward", 25, 8000, free_look=0.01, lapse_first_year=0.05, lapse_later=0.03,
                       unsuitable=0.01, label=("经营型：保单少，继续率高，销售适当", "Steward: fewer policies, "
                                               "high persistency, suitable sales")),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise UnknownName("behaviour profile", name, sorted(PROFILES))
    return PROFILES[name]


def profile_from_mapping(name: str, raw: Mapping[str, Any]) -> Profile:
    base = asdict(PROFILES.get(name, PROFILES["steward"]))
    unknown = set(raw) - set(base)
    if unknown:
        raise InvalidInput(f"profile {name}: unknown field(s) {sorted(unknown)}", fields=sorted(unknown))
    try:
        body = base | {k: float(v) for k, v in raw.items() if k not in ("name", "label")}
    except (TypeError, ValueError):
        raise InvalidInput(f"profile {name}: every field must be a number") from None
    return Profile(**(body | {"name": name, "label": tuple(base["label"])})).check()


def _cohort(plan: Plan, p: Profile, issue_year: int, years: int, rows: list[dict[str, float]]) -> None:
    premium = p.policies_per_year * p.premium
    f = plan.first_year_rate("default")
    first = rows[issue_year - 1]
    first["first_year"] += premium * f
    first["clawback"] -= premium * p.free_look * f
    if plan.clawback_months >= 12:
        first["clawback"] -= premium * (1 - p.free_look) * p.lapse_first_year * f * plan.clawback_share
    first["withheld"] -= premium * p.unsuitable * f * plan.unsuitable_withhold
    s1 = p.first_year_survival
    if issue_year < years and plan.bonus_rate > 0 and s1 >= plan.bonus_threshold:
        rows[issue_year]["persistency_bonus"] += premium * s1 * plan.bonus_rate
    for k in range(2, years - issue_year + 2):
        rows[issue_year + k - 2]["renewal"] += premium * s1 * (1 - p.lapse_later) ** (k - 2) * plan.renewal_rate(k)


def simulate(plan: Plan, profile: Profile, years: int = 5) -> list[dict[str, float]]:
    """Per year: each part of the pay, the year's total and the running total (CNY, 2 decimals)."""
    if not 1 <= years <= 10:
        raise InvalidInput("years must be from 1 to 10", field="years", value=years)
    profile.check()
    rows = [dict.fromkeys(PARTS, 0.0) for _ in range(years)]
    for issue_year in range(1, years + 1):
        _cohort(plan, profile, issue_year, years, rows)
    out, running = [], 0.0
    for year, row in enumerate(rows, start=1):
        total = sum(row.values())
        running += total
        out.append({"year": year, **{k: round(v, 2) for k, v in row.items()}, "total": round(total, 2),
                    "cumulative": round(running, 2)})
    return out


def compare(plan: Plan, profiles: Mapping[str, Profile], years: int = 5) -> dict[str, Any]:
    """Every profile under one plan, and who is paid most in the end (and from which year on)."""
    runs = {name: simulate(plan, p, years) for name, p in profiles.items()}
    finals = {name: rows[-1]["cumulative"] for name, rows in runs.items()}
    leader = max(sorted(finals), key=lambda n: finals[n]) if finals else None
    return {"plan": plan.plan_id, "label": list(plan.label), "years": years, "profiles": {
        name: {"label": list(p.label), "first_year_survival": round(p.first_year_survival, 4),
               "rows": runs[name]} for name, p in profiles.items()},
        "cumulative": finals, "leader": leader}
