"""Policy review (保单检视) data: what a report shows per household member, computed here, rendered elsewhere.

Per member: cover by type against need, gaps, overlaps (two medical policies: only one pays;
cover above 150% of need), policies with waiting-period end, expiry and next premium date; for the
household: a 12-month premium calendar and lapsed policies that can still be reinstated (within
two years of lapsing, the usual 复效 period of Chinese policy terms). Names and ID numbers are
masked here, so nothing downstream ever holds them in clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shouhu.advice.gaps import HouseholdGaps
from shouhu.advice.minors import SOURCE as MINOR_SOURCE
from shouhu.advice.minors import death_cap, death_cover_in_force
from shouhu.advice.model import Gap, Household, Person, Policy, add_years
from shouhu.advice.premiums import due_dates, instalment
from shouhu.model.masking import mask_id_number, mask_name
from shouhu.model.vocab import CoverageType, PolicyStatus

__all__ = ["Review", "build_review", "due_dates", "premium_calendar"]

REINSTATE_YEARS = 2
OVER_INSURED = 1.5


@dataclass(frozen=True)
class PolicyLine:
    policy: Policy
    in_waiting_until: date | None
    expiry: date | None
    next_due: date | None
    cool_off_until: date | None = None  # still inside the 犹豫期: the customer may cancel for a full refund


@dataclass(frozen=True)
class Note:
    zh: str
    en: str


@dataclass
class MemberReview:
    person: Person
    name: str  # masked
    id_number: str  # masked
    gaps: list[Gap]
    policies: list[PolicyLine]
    overlaps: list[Note] = field(default_factory=list)


@dataclass
class Review:
    household_id: str
    as_of: date
    method: str
    members: list[MemberReview]
    calendar: list[tuple[str, float]]  # (YYYY-MM, premium due that month)
    reinstatable: list[tuple[Policy, date]]  # lapsed policy, reinstatable until

    @property
    def premium_12m(self) -> float:
        return round(sum(v for _, v in self.calendar), 2)

    def to_dict(self) -> dict[str, Any]:
        return {"household_id": self.household_id, "as_of": self.as_of.isoformat(), "method": self.method,
                "premium_12m": self.premium_12m, "calendar": self.calendar,
                "reinstatable": [{"policy_no": p.policy_no, "until": d.isoformat()} for p, d in self.reinstatable],
                "members": [{"person_id": m.person.person_id, "name": m.name, "id_number": m.id_number,
                             "gaps": [g.to_dict() for g in m.gaps],
                             "overlaps": [{"zh": n.zh, "en": n.en} for n in m.overlaps],
                             "policies": [{"policy_no": x.policy.policy_no, "product": x.policy.product_name,
                                           "status": x.policy.status, "expiry": x.expiry, "next_due": x.next_due,
                                           "cool_off_until": x.cool_off_until}
                                          for x in m.policies]} for m in self.members]}


def premium_calendar(policies: list[Policy], as_of: date) -> list[tuple[str, float]]:
    start = as_of.replace(day=1)
    end = add_years(start, 1)
    months = [(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1) for i in range(12)]
    totals = {f"{y}-{m:02d}": 0.0 for y, m in months}
    for p in policies:
        for d in due_dates(p, start, end):
            totals[f"{d.year}-{d.month:02d}"] += instalment(p)
    return [(k, round(v, 2)) for k, v in totals.items()]


def _overlaps(person: Person, policies: list[Policy], gaps: list[Gap]) -> list[Note]:
    notes = []
    medical = [p for p in policies if p.in_force() and p.coverages.get(CoverageType.MEDICAL.value, 0) > 0]
    if len(medical) > 1:
        nos = "、".join(p.policy_no for p in medical)
        notes.append(Note(f"{len(medical)}份医疗险({nos})为补偿型,重复投保只赔一次,可保留保障最好的一份。",
                          f"{len(medical)} medical policies ({nos}) are indemnity: only one pays; keep the best."))
    cap = death_cap(person.age)
    held = death_cover_in_force(person.person_id, policies)
    if cap is not None and held > cap:
        notes.append(Note(f"未成年人身故保额合计{held:,.0f}元(各公司合计)超过{person.age}岁的上限{cap:,.0f}元"
                          f"({MINOR_SOURCE}),超出部分可能无法赔付,请核实各公司保单。",
                          f"Death cover of {held:,.0f} across insurers is above the {cap:,.0f} cap for a child of "
                          f"{person.age} ({MINOR_SOURCE}); the excess may not be paid: check each insurer's policy."))
    for g in gaps:
        over = g.existing > OVER_INSURED * g.need.amount
        if g.need.amount > 0 and g.coverage is not CoverageType.MEDICAL and over:
            notes.append(Note(f"{g.coverage.zh}保额{g.existing:,.0f}元超过需求{g.need.amount:,.0f}元的150%。",
                              f"{g.coverage.en} cover {g.existing:,.0f} is above 150% of the need "
                              f"{g.need.amount:,.0f}."))
    return notes


def _line(p: Policy, as_of: date) -> PolicyLine:
    waiting = p.effective_date if p.effective_date > as_of else None
    due = due_dates(p, as_of, add_years(as_of, 1) + timedelta(days=1))
    return PolicyLine(p, waiting, p.expiry_date, due[0] if due else None,
                      p.cool_off_end if p.in_cool_off(as_of) else None)


def build_review(household: Household, policies: list[Policy], gaps: HouseholdGaps, as_of: date,
                 people: dict[str, dict[str, Any]] | None = None) -> Review:
    info = people or {}
    members = []
    for person in household.members:
        mine = [p for p in policies if p.insured_id == person.person_id]
        raw = info.get(person.person_id, {})
        members.append(MemberReview(person, mask_name(str(raw.get("name") or person.name or "")),
                                    mask_id_number(str(raw.get("id_number") or "")),
                                    gaps.by_person[person.person_id], [_line(p, as_of) for p in mine]))
        members[-1].overlaps = _overlaps(person, mine, members[-1].gaps)
    ids = {p.person_id for p in household.members}
    paying = [p for p in policies if (p.holder_id or p.insured_id) in ids]
    reinstatable = [(p, add_years(p.status_date, REINSTATE_YEARS)) for p in policies
                    if p.status == PolicyStatus.LAPSED.value and p.status_date is not None
                    and as_of <= add_years(p.status_date, REINSTATE_YEARS)]
    return Review(household.household_id, as_of, gaps.method, members, premium_calendar(paying, as_of), reinstatable)
