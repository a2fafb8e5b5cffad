"""The caller's book at a glance, always within a row rule: dashboard aggregates (on top of
:func:`shouhu.storage.customers.dashboard`), premium persistency, gap size bands, and the task list
(next best actions across the customers the rule allows).

Codes come back as stored (lifecycle stages, channels, needs, tiers, actions); labelling and order
for display are the web layer's job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select

from shouhu.access.policy import RowRule
from shouhu.storage.customers import dashboard, scope_condition
from shouhu.storage.journeys import sales_withheld
from shouhu.storage.tables import reflected

NEEDS = ("life", "critical_illness", "medical", "accident", "pension", "education")
# Gap size bands, CNY: (code, lower bound exclusive, upper bound inclusive or None).
GAP_BANDS: tuple[tuple[str, float, float | None], ...] = (
    ("lt_50k", 0.0, 50_000.0),
    ("50k_200k", 50_000.0, 200_000.0),
    ("200k_500k", 200_000.0, 500_000.0),
    ("500k_1m", 500_000.0, 1_000_000.0),
    ("ge_1m", 1_000_000.0, None),
)
PERSISTENCY_TABLE = "customer_persistency"
TASK_COLUMNS = ("customer_id", "rank", "action", "product_type", "expected_value", "probability", "reason_zh",
                "reason_en", "kind")


def gaps(engine: Engine, rule: RowRule) -> dict[str, dict[str, int]]:
    """Per need: customers with a gap (``with_gap``) and how many fall in each size band; one scan."""
    gap = reflected(engine, "customer_gap")
    needs = [n for n in NEEDS if f"gap_{n}" in gap.c]
    sums: list[Any] = []
    for need in needs:
        col = gap.c[f"gap_{need}"]
        sums.append(func.coalesce(func.sum(case((col > 0, 1), else_=0)), 0).label(f"{need}__with_gap"))
        for code, low, high in GAP_BANDS:
            cond = and_(col > low, col <= high) if high is not None else col > low
            sums.append(func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(f"{need}__{code}"))
    if not sums:
        return {}
    with engine.connect() as conn:
        row = conn.execute(select(*sums).where(scope_condition(rule, gap.c.customer_id))).one()._mapping
    return {need: {"with_gap": int(row[f"{need}__with_gap"]),
                   **{code: int(row[f"{need}__{code}"]) for code, _, _ in GAP_BANDS}} for need in needs}


def persistency(engine: Engine, rule: RowRule) -> dict[int, dict[str, Any]]:
    """13- and 25-month premium and policy-count persistency of the rule's policyholders.

    Empty when nothing is published (a book too young to measure, or marts published before 0007).
    """
    t = reflected(engine, PERSISTENCY_TABLE)
    query = (select(t.c.month, func.sum(t.c.policies).label("policies"), func.sum(t.c.persisted).label("persisted"),
                    func.sum(t.c.premium_due).label("premium_due"),
                    func.sum(t.c.premium_received).label("premium_received"))
             .where(scope_condition(rule, t.c.customer_id)).group_by(t.c.month).order_by(t.c.month))
    out: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        for r in conn.execute(query):
            policies, due = int(r.policies or 0), float(r.premium_due or 0.0)
            received, persisted = float(r.premium_received or 0.0), int(r.persisted or 0)
            out[int(r.month)] = {
                "policies": policies, "persisted": persisted, "premium_due": round(due, 2),
                "premium_received": round(received, 2),
                "premium_persistency": (received / due) if due else None,
                "count_persistency": (persisted / policies) if policies else None}
    return out


def tier_labels(engine: Engine, rule: RowRule) -> dict[str, tuple[str, str]]:
    value = reflected(engine, "customer_value")
    query = (select(value.c.tier, value.c.tier_zh, value.c.tier_en)
             .where(scope_condition(rule, value.c.customer_id)).distinct())
    with engine.connect() as conn:
        return {r.tier: (r.tier_zh, r.tier_en) for r in conn.execute(query)}


def overview(engine: Engine, rule: RowRule) -> dict[str, Any]:
    """Everything the dashboard shows, within the rule (codes, not labels)."""
    out = dashboard(engine, rule)
    bands = gaps(engine, rule)
    out["customers_with_gap"] = {need: b["with_gap"] for need, b in bands.items()}
    out["gap_bands"] = {need: {code: b[code] for code, _, _ in GAP_BANDS} for need, b in bands.items()}
    out["persistency"] = persistency(engine, rule)
    out["tier_labels"] = tier_labels(engine, rule)
    return out


def _consented(nba: Any) -> Any:
    """Service actions always; a sales action only while the consent ledger has no withdrawal of
    marketing (the batch scores checked the source systems' consent when they were computed)."""
    return or_(nba.c.kind != "sales", ~sales_withheld(nba.c.customer_id))


def tasks(engine: Engine, rule: RowRule, *, action: str | None = None, kind: str | None = None,
          limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Next best actions of the rule's customers, best expected value first (the agent's task list).

    Rows carry the customer's stored name columns (masked and encrypted) for the web layer to shape.
    """
    nba, cust, c360 = (reflected(engine, n) for n in ("next_best_action", "customer", "customer_360"))
    query = (select(*[nba.c[c] for c in TASK_COLUMNS], cust.c.name_masked, cust.c.name_enc,
                    c360.c.lifecycle_stage, c360.c.next_premium_due, c360.c.policies_in_force,
                    c360.c.days_since_last_contact)
             .select_from(nba.join(cust, cust.c.customer_id == nba.c.customer_id)
                          .outerjoin(c360, c360.c.customer_id == nba.c.customer_id))
             .where(scope_condition(rule, nba.c.customer_id), _consented(nba)))
    if action:
        query = query.where(nba.c.action == action)
    if kind:
        query = query.where(nba.c.kind == kind)
    query = query.order_by(nba.c.expected_value.desc(), nba.c.customer_id, nba.c.rank).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def task_counts(engine: Engine, rule: RowRule) -> dict[str, int]:
    """How many actions of each type the rule's customers have."""
    nba = reflected(engine, "next_best_action")
    query = (select(nba.c.action, func.count()).where(scope_condition(rule, nba.c.customer_id), _consented(nba))
             .group_by(nba.c.action))
    with engine.connect() as conn:
        return {r[0]: int(r[1]) for r in conn.execute(query)}
