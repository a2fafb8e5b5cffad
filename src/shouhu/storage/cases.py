"""SQL for service cases and their events (migration 0009), always through a row rule on the case's
customer. Rules (transitions, clocks, breaches) are in ``shouhu.operations.cases``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, and_, exc, insert, select, update

from shouhu.access.policy import RowRule
from shouhu.storage.activities import now
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import app_user, case_event, customer_scope, reflected, service_case, task

VIEWS = ("open", "breached", "waiting", "closed", "all")
LIVE = ("open", "in_progress", "waiting_customer")


def create_case(engine: Engine, values: Mapping[str, Any], actor: str) -> int:
    stamp = now()
    row = dict(values) | {"created_by": actor, "updated_at": stamp}
    with engine.begin() as conn:
        case_id = int(conn.execute(insert(service_case).values(**row).returning(service_case.c.id)).scalar_one())
        conn.execute(insert(case_event).values(case_id=case_id, kind="created", to_status=row["status"],
                                               at=row["opened_at"], actor=actor,
                                               detail=json.dumps({"channel": row["channel"]})))
    return case_id


def scope_row(engine: Engine, customer_id: str) -> dict[str, Any]:
    """The customer's agent and branch (empty when not published)."""
    with engine.connect() as conn:
        row = conn.execute(select(customer_scope.c.agent_id, customer_scope.c.branch_id)
                           .where(customer_scope.c.customer_id == customer_id)).first()
    return {} if row is None else dict(row._mapping)


def get_case(engine: Engine, rule: RowRule, case_id: int) -> dict[str, Any] | None:
    """The case, or None when absent or its customer is outside the rule."""
    query = select(service_case).where(service_case.c.id == case_id,
                                       scope_condition(rule, service_case.c.customer_id))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def update_case(engine: Engine, case_id: int, changes: Mapping[str, Any], event: Mapping[str, Any] | None,
                actor: str) -> None:
    """Apply ``changes`` and append ``event`` (kind, note, ...) in one transaction."""
    stamp = now()
    with engine.begin() as conn:
        conn.execute(update(service_case).where(service_case.c.id == case_id)
                     .values(**(dict(changes) | {"updated_at": stamp})))
        if event is not None:
            conn.execute(insert(case_event).values(**(dict(event) | {"case_id": case_id, "actor": actor,
                                                                    "at": event.get("at") or stamp})))


def list_cases(engine: Engine, rule: RowRule, *, view: str = "open", now_iso: str, customer_id: str | None = None,
               limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Cases of the rule's customers, soonest resolution due first (no due time last)."""
    cust = reflected(engine, "customer")
    query = (select(service_case, cust.c.name_masked)
             .select_from(service_case.outerjoin(cust, cust.c.customer_id == service_case.c.customer_id))
             .where(scope_condition(rule, service_case.c.customer_id)))
    live = service_case.c.status.in_(list(LIVE))
    if view == "open":
        query = query.where(live)
    elif view == "waiting":
        query = query.where(service_case.c.status == "waiting_customer")
    elif view == "closed":
        query = query.where(~live)
    elif view == "breached":
        query = query.where(live, (service_case.c.escalated > 0) | and_(
            service_case.c.status.in_(["open", "in_progress"]), service_case.c.resolution_due_at < now_iso))
    if customer_id:
        query = query.where(service_case.c.customer_id == customer_id)
    query = query.order_by(service_case.c.resolution_due_at.is_(None), service_case.c.resolution_due_at,
                           service_case.c.priority, service_case.c.id).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def events(engine: Engine, case_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(case_event).where(case_event.c.case_id == case_id)
                                                       .order_by(case_event.c.id))]


# --- the SLA sweep -----------------------------------------------------------------------------------


def sweep_inputs(engine: Engine) -> list[dict[str, Any]]:
    """Every case whose clocks may still be missed or need a due time (not closed, or breached late)."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(service_case).where(service_case.c.status.in_(list(LIVE)) |
                                       service_case.c.first_response_at.is_(None)).order_by(service_case.c.id))]


def manager_of(engine: Engine, role: str, branch_id: str | None) -> dict[str, Any] | None:
    """An active account of ``role`` for the branch (head office: any), the first by user id."""
    query = select(app_user.c.user_id, app_user.c.staff_id).where(app_user.c.role == role,
                                                                   app_user.c.active.is_(True))
    if role == "branch_manager":
        if not branch_id:
            return None
        query = query.where(app_user.c.branch_id == branch_id)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(app_user.c.user_id).limit(1)).first()
    return None if row is None else dict(row._mapping)


def record_breach(engine: Engine, case_row: Mapping[str, Any], breach_event: dict[str, Any],
                  escalation_event: dict[str, Any], escalation_task: dict[str, Any] | None) -> bool:
    """Write a breach, its escalation (and a task for the manager) once: False if already recorded."""
    stamp = now()
    try:
        with engine.begin() as conn:
            known = conn.execute(select(case_event.c.id).where(
                case_event.c.dedupe_key == breach_event["dedupe_key"])).first()
            if known is not None:
                return False
            for event in (breach_event, escalation_event):
                conn.execute(insert(case_event).values(**(event | {"case_id": case_row["id"], "at": stamp,
                                                                   "actor": "sla-sweep"})))
            conn.execute(update(service_case).where(service_case.c.id == case_row["id"])
                         .values(escalated=service_case.c.escalated + 1, updated_at=stamp))
            if escalation_task is not None:
                conn.execute(insert(task).values(**(escalation_task | {"created_at": stamp, "updated_at": stamp,
                                                                       "created_by": "sla-sweep"})))
    except exc.IntegrityError:  # a concurrent sweep wrote it first
        return False
    return True


def set_due(engine: Engine, case_id: int, changes: Mapping[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(update(service_case).where(service_case.c.id == case_id).values(**changes))


# --- export ------------------------------------------------------------------------------------------


def export_tables(engine: Engine) -> dict[str, pa.Table]:
    """Cases and events for the warehouse, without free text or the encrypted payload."""
    private = {"detail", "payload_enc", "payload_masked", "subject"}
    with engine.connect() as conn:
        ccols = [c for c in service_case.c if c.name not in private]
        cases = [dict(r._mapping) for r in conn.execute(select(*ccols).order_by(service_case.c.id))]
        ecols = [c for c in case_event.c if c.name != "note"]
        evs = [dict(r._mapping) for r in conn.execute(select(*ecols).order_by(case_event.c.id))]
    return {"op_case": _arrow(cases, [c.name for c in ccols]), "op_case_event": _arrow(evs, [c.name for c in ecols])}


def _arrow(rows: Iterable[dict[str, Any]], names: list[str]) -> pa.Table:
    ints = {"id", "priority", "case_id", "reopened", "escalated"}
    schema = pa.schema([(n, pa.int64() if n in ints else pa.float64() if n == "consumed_s" else pa.string())
                        for n in names])
    return pa.Table.from_pylist(list(rows), schema=schema)
