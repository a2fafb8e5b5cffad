"""SQL for the agent workbench's "my customers": the published marts the 360 reads (customer_gap,
customer_value, lapse_score, next_best_action) plus the live tasks, one row per customer in the rule,
ordered by an attention score computed in the database (so a branch's book is never sorted in Python).

Attention score (higher first; every part is shown on the page as a reason):

* lapse risk: 100 × the highest lapse probability of the customer's policies (``lapse_score``);
* a retention next best action (``retention_contact``): 25, the lapse signal when the lapse model
  has not scored the book;
* protection gap: 40 × (total gap over every need ÷ 1,000,000 CNY), at most 40;
* value tier: platinum 30, gold 20, silver 10, standard 0;
* tasks due today or overdue (open, or snoozed until today or earlier): 10 each, at most 30.

Whose customers: an agent's book is their row scope. For every other role the scope is a team, a
branch or the whole company, so "my customers" are those of the scope assigned to the caller's
staff id in a service pod (``pod_assignment``) or with a live task given to the caller
(``personal``); that keeps the list personal and the query small (the score is computed for
every candidate before the top rows are taken).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, case, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from shouhu.access.policy import RowRule
from shouhu.storage.customers import scope_condition
from shouhu.storage.overview import NEEDS
from shouhu.storage.tables import reflected, task
from shouhu.storage.workforce import pod_assignment

TIER_POINTS = {"platinum": 30, "gold": 20, "silver": 10}
GAP_FULL = 1_000_000.0  # CNY of total gap that earns the whole gap weight
WEIGHTS = {"lapse": 100.0, "retention": 25.0, "gap": 40.0, "task": 10.0, "tasks_max": 3}
RETENTION_ACTION = "retention_contact"


def _capped(value: Any, cap: float) -> ColumnElement[Any]:
    return case((value > cap, literal(cap)), else_=value)


def due_condition(today: date) -> ColumnElement[bool]:
    """A task due today or earlier that is actionable (open, or snoozed until today or earlier)."""
    day = today.isoformat()
    return and_(task.c.due_date <= day,
                or_(task.c.status == "open", and_(task.c.status == "snoozed", task.c.snoozed_until <= day)))


def personal_condition(id_column: Any, user_id: str, staff_id: str | None) -> ColumnElement[bool]:
    """Customers assigned to ``staff_id`` in a pod, or with a live task given to the account."""
    mine = task.c.owner_user_id == user_id
    if staff_id:
        mine = or_(mine, and_(task.c.owner_user_id.is_(None), task.c.owner_staff_id == staff_id))
    live = select(task.c.customer_id).where(mine, task.c.status.in_(("open", "snoozed")))
    condition = id_column.in_(live)
    if staff_id:
        condition = or_(condition, id_column.in_(select(pod_assignment.c.customer_id)
                                                 .where(pod_assignment.c.staff_id == staff_id)))
    return condition  # type: ignore[no-any-return]


def my_customers(engine: Engine, rule: RowRule, today: date, *, limit: int = 20, offset: int = 0,
                 personal: tuple[str, str | None] | None = None) -> list[dict[str, Any]]:
    """The rule's customers (with ``personal`` = (user id, staff id): only those of
    :func:`personal_condition`), most in need of attention first, with the parts of their score."""
    cust, gap = reflected(engine, "customer"), reflected(engine, "customer_gap")
    value, lapse = reflected(engine, "customer_value"), reflected(engine, "lapse_score")
    nba, c360 = reflected(engine, "next_best_action"), reflected(engine, "customer_360")
    needs = [n for n in NEEDS if f"gap_{n}" in gap.c]
    total_gap: Any = literal(0.0)
    for n in needs:
        col = gap.c[f"gap_{n}"]
        total_gap = total_gap + case((col > 0, col), else_=0.0)
    max_lapse = (select(func.max(lapse.c.probability)).where(lapse.c.customer_id == cust.c.customer_id)
                 .scalar_subquery())
    retention = (select(func.count()).where(nba.c.customer_id == cust.c.customer_id,
                                            nba.c.action == RETENTION_ACTION).scalar_subquery())
    due = (select(func.count()).where(task.c.customer_id == cust.c.customer_id, due_condition(today))
           .scalar_subquery())
    tier_points = case(*[(value.c.tier == code, literal(points)) for code, points in TIER_POINTS.items()],
                       else_=literal(0))
    score = (WEIGHTS["lapse"] * func.coalesce(max_lapse, 0.0)
             + case((retention > 0, literal(WEIGHTS["retention"])), else_=literal(0.0))
             + WEIGHTS["gap"] * _capped(func.coalesce(total_gap, 0.0) / GAP_FULL, 1.0)
             + tier_points + WEIGHTS["task"] * _capped(due, float(WEIGHTS["tasks_max"])))
    attention = score.label("attention")
    query = (select(cust.c.customer_id, cust.c.name_masked, cust.c.name_enc, c360.c.age,
                    c360.c.lifecycle_stage, c360.c.policies_in_force, value.c.value.label("customer_value"),
                    value.c.tier, value.c.tier_zh, value.c.tier_en,
                    max_lapse.label("lapse_probability"), retention.label("retention_actions"),
                    func.coalesce(total_gap, 0.0).label("total_gap"),
                    (gap.c.customer_id.isnot(None)).label("gap_assessed"), due.label("tasks_due"),
                    attention,
                    *[gap.c[f"gap_{n}"].label(f"gap_{n}") for n in needs])
             .select_from(cust.outerjoin(c360, c360.c.customer_id == cust.c.customer_id)
                          .outerjoin(gap, gap.c.customer_id == cust.c.customer_id)
                          .outerjoin(value, value.c.customer_id == cust.c.customer_id))
             .where(scope_condition(rule, cust.c.customer_id),
                    personal_condition(cust.c.customer_id, *personal) if personal else true())
             .order_by(attention.desc(), cust.c.customer_id).limit(limit).offset(offset))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
