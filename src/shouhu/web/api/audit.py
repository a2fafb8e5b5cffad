"""The audit log (read and verify the hash chain) and the consent overview, for compliance and admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import case, func, select

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Action
from shouhu.customer360.lifecycle import LifecycleStage
from shouhu.storage import audit
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import reflected
from shouhu.web.auth import app_state, require
from shouhu.web.params import BeforeSeq
from shouhu.web.state import AppState

router = APIRouter(tags=["audit"])
_STAGES = {s.value: (s.zh, s.en) for s in LifecycleStage}
Reader = Depends(require(Action.AUDIT_READ))

# The actions the web layer and the CLI write (a filter list for the console; any text is accepted).
KNOWN_ACTIONS = ("login", "login_failed", "logout", "token_created", "token_revoked", "reveal", "export",
                 "identity_confirm", "identity_reject", "merge", "split", "revert", "permission_changed",
                 "user_created")


def entries(state: AppState, *, action: str | None = None, actor: str | None = None, target_id: str | None = None,
            limit: int = 100, before_seq: int | None = None) -> dict[str, Any]:
    rows = audit.read(state.engine, action=action or None, actor=actor or None, target_id=target_id or None,
                      limit=limit, before_seq=before_seq)
    following = rows[-1]["seq"] if len(rows) == limit and rows else None
    return {"items": rows, "count": len(rows), "next_before_seq": following}


def verification(state: AppState, expect_head: str | None = None) -> dict[str, Any]:
    result = audit.verify(state.engine, expect_head or None)
    return {"ok": result.ok, "entries": result.entries, "head": result.head, "broken_at": result.broken_at,
            "problem": result.problem}


def consent_summary(state: AppState, principal: Principal) -> dict[str, Any]:
    """Marketing consent (customer_360.marketing_consent) within the caller's scope: totals and by
    lifecycle stage. Aggregates only."""
    c360 = reflected(state.engine, "customer_360")
    consent = c360.c.marketing_consent
    keep = scope_condition(row_rule(principal), c360.c.customer_id)
    yes = func.sum(case((consent.is_(True), 1), else_=0))
    no = func.sum(case((consent.is_(False), 1), else_=0))
    unknown = func.sum(case((consent.is_(None), 1), else_=0))
    with state.engine.connect() as conn:
        total = conn.execute(select(func.count(), yes, no, unknown).where(keep)).one()
        stages = conn.execute(select(c360.c.lifecycle_stage, func.count(), yes).where(keep)
                              .group_by(c360.c.lifecycle_stage).order_by(c360.c.lifecycle_stage)).all()
    customers = int(total[0])
    consented = int(total[1] or 0)
    return {"customers": customers, "consented": consented, "not_consented": int(total[2] or 0),
            "unknown": int(total[3] or 0), "consent_rate": (consented / customers) if customers else None,
            "by_lifecycle_stage": [{"lifecycle_stage": s or "unknown", "zh": _STAGES.get(s or "", (s, s))[0],
                                    "en": _STAGES.get(s or "", (s, s))[1], "customers": int(n),
                                    "consented": int(c or 0)} for s, n, c in stages]}


@router.get("/audit", summary="Audit entries, newest first (filter by action, actor, target)")
def list_entries(request: Request, principal: Principal = Reader,
                 action: str | None = Query(None, max_length=48, description="login, reveal, export, merge, ..."),
                 actor: str | None = Query(None, max_length=64), target_id: str | None = Query(None, max_length=160),
                 limit: int = Query(100, ge=1, le=1000),
                 before_seq: BeforeSeq = None
                 ) -> dict[str, Any]:
    return entries(app_state(request), action=action, actor=actor, target_id=target_id, limit=limit,
                   before_seq=before_seq)


@router.get("/audit/verify", summary="Recompute the hash chain: ok, or the first entry that was changed or removed")
def verify(request: Request, principal: Principal = Reader,
           expect_head: str | None = Query(None, min_length=64, max_length=64,
                                           description="a head hash kept from an earlier verify")) -> dict[str, Any]:
    return verification(app_state(request), expect_head)


@router.get("/consent", summary="Marketing consent within your scope (aggregates)")
def consent(request: Request, principal: Principal = Depends(require(Action.CONSENT_READ))) -> dict[str, Any]:
    return consent_summary(app_state(request), principal)
