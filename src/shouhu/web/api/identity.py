"""Identity stewardship: the review queue of uncertain pairs, and confirm / reject / merge / split /
revert decisions with their history (shouhu.identity.stewardship).

Decisions are stored in the serving database and honoured by every later ``shouhu refresh`` (they
take effect there, not at once). Each one is written to the audit log with its reason. Every
customer and record named by a request must be within the caller's row scope, else 404.

The queue shows both source records side by side, read from the warehouse's ``src_party`` (opened
read-only for the request) and masked: the personal fields of a source record are never shown in
clear here.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import FieldView, Principal, field_view, row_rule
from shouhu.access.roles import Action
from shouhu.identity import stewardship as st
from shouhu.model.masking import mask
from shouhu.model.schema import PARTY
from shouhu.segments.tags import run_in_engine
from shouhu.storage import customers as store
from shouhu.storage import decisions
from shouhu.web.auth import app_state, record, require
from shouhu.web.params import RowId
from shouhu.web.state import AppState
from shouhu.web.warehouse import read_warehouse

router = APIRouter(tags=["identity"])
Reviewer = Depends(require(Action.IDENTITY_REVIEW))
Decider = Depends(require(Action.IDENTITY_DECIDE))
# The source record's fields shown side by side (the ones identity resolution compares, and context).
RECORD_FIELDS = ("channel", "name", "gender", "birth_date", "id_type", "id_number", "phone", "email", "province",
                 "city", "address", "agent_id", "created_at")
SENSITIVE = frozenset(f.name for f in PARTY.fields if f.sensitive)
FIELD_LABELS = {f.name: (f.zh, f.en) for f in PARTY.fields}
COMPARED = ("name", "birth_date", "gender", "id_number", "phone", "email", "city", "address")


class PairDecision(BaseModel):
    left: str = Field(min_length=3, max_length=160, description="unique id of a record: source:record_id")
    right: str = Field(min_length=3, max_length=160)
    reason: str = Field(min_length=2, max_length=500, description="why; recorded with the decision and audited")


class MergeRequest(BaseModel):
    customer_a: str = Field(min_length=1, max_length=64)
    customer_b: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=2, max_length=500)


class SplitRequest(BaseModel):
    unique_id: str = Field(min_length=3, max_length=160, description="the record to take out of its customer")
    reason: str = Field(min_length=2, max_length=500)


class RevertRequest(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


# --- reading ------------------------------------------------------------------------------------

def _url(state: AppState) -> str:
    return state.settings.serving


def _shown_value(principal: Principal, name: str, value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        value = value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
        value = value.removesuffix(" 00:00:00")
    if name in SENSITIVE:
        return mask(name, value)
    return value


def source_records(state: AppState, principal: Principal, unique_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Masked source records by unique id (source:record_id), from the warehouse's src_party."""
    wanted = sorted(set(unique_ids))
    if not wanted:
        return {}
    fields = [f for f in RECORD_FIELDS if not (f in SENSITIVE and field_view(principal, f) is FieldView.HIDDEN)]
    with read_warehouse(state) as wh:
        if not wh.has_table("src_party"):
            return {}
        party = wh.table("src_party")
        uid = party["_source"].cast("string") + ":" + party["record_id"].cast("string")
        cols = [c for c in fields if c in party.columns]
        expr = party.filter(uid.isin(wanted)).select(unique_id=uid, source=party["_source"],
                                                     record_id=party["record_id"], **{c: party[c] for c in cols})
        rows = run_in_engine(wh, "read source records", expr.to_pyarrow).to_pylist()
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        out.setdefault(row["unique_id"], {k: _shown_value(principal, k, v) for k, v in row.items()})
    return out


def _explanation(text: str | None) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text or "{}")
    except ValueError:
        return []
    return [{"field": f, "level": str(v.get("level", "")), "weight": float(v.get("weight", 0.0))}
            for f, v in doc.items() if isinstance(v, dict)]


def queue(state: AppState, principal: Principal, limit: int = 50, *, offset: int = 0, source: str | None = None,
          min_probability: float | None = None, same_customer: bool | None = None) -> dict[str, Any]:
    """Undecided uncertain pairs, most uncertain first, both records side by side (masked); one page of
    ``limit`` from ``offset``, optionally filtered. ``more`` says whether another page follows."""
    fetched = st.review_queue(_url(state), limit + 1, offset=offset, source=source, min_probability=min_probability,
                              same_customer=same_customer)
    more, pairs = len(fetched) > limit, fetched[:limit]
    customers = [c for p in pairs for c in (p["customer_id_l"], p["customer_id_r"]) if c]
    visible = store.scoped_ids(state.engine, row_rule(principal), customers)
    pairs = [p for p in pairs if {p["customer_id_l"], p["customer_id_r"]} <= visible]
    records_unavailable = None
    try:
        found = source_records(state, principal, [u for p in pairs for u in (p["unique_id_l"], p["unique_id_r"])])
    except HTTPException as e:  # warehouse busy: the queue still works, without the records' fields
        found, records_unavailable = {}, str(e.detail)
    items = []
    for p in pairs:
        items.append({
            "unique_id_l": p["unique_id_l"], "unique_id_r": p["unique_id_r"],
            "customer_id_l": p["customer_id_l"], "customer_id_r": p["customer_id_r"],
            "same_customer": p["customer_id_l"] == p["customer_id_r"],
            "match_probability": round(float(p["match_probability"]), 4),
            "match_weight": round(float(p["match_weight"]), 3),
            "explanation": _explanation(p.get("explanation")),
            "left": found.get(p["unique_id_l"]), "right": found.get(p["unique_id_r"]),
        })
    return {"items": items, "count": len(items), "offset": offset, "more": more,
            "next_offset": offset + limit if more else None, "records_unavailable": records_unavailable}


def _record_in_scope(state: AppState, principal: Principal, unique_id: str) -> dict[str, Any]:
    found = decisions.records_of(_url(state), unique_id=unique_id)
    if not found or not store.in_scope(state.engine, row_rule(principal), found[0]["customer_id"]):
        raise HTTPException(404, f"no record {unique_id} that you may see")
    return found[0]


def _customer_in_scope(state: AppState, principal: Principal, customer_id: str) -> None:
    if not store.in_scope(state.engine, row_rule(principal), customer_id):
        raise HTTPException(404, f"no customer {customer_id} that you may see")


def _decision(d: dict[str, Any]) -> dict[str, Any]:
    out = dict(d)
    out["partners"] = json.loads(d["partners"]) if d.get("partners") else []
    out["active"] = d.get("reverted_at") is None
    return out


def customer_history(state: AppState, principal: Principal, customer_id: str) -> dict[str, Any]:
    """The customer's records (masked) and every decision that named one of them, reverted ones too."""
    _customer_in_scope(state, principal, customer_id)
    members = decisions.records_of(_url(state), customer_id=customer_id)
    uids = {m["unique_id"] for m in members}
    history = []
    for d in st.history(_url(state)):
        named = {d["unique_id_l"], d["unique_id_r"], *(json.loads(d["partners"]) if d.get("partners") else [])}
        if named & uids:
            history.append(_decision(d))
    try:
        shown = source_records(state, principal, sorted(uids))
    except HTTPException:
        shown = {}
    records = [{"unique_id": m["unique_id"], "source": m["source"], "record_id": m["record_id"],
                "decided_by": m["decided_by"], "fields": shown.get(m["unique_id"])} for m in members]
    return {"customer_id": customer_id, "records": records, "decisions": history}


def recent_decisions(state: AppState, principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
    """The latest decisions whose records are within the caller's scope, newest first."""
    rows = list(reversed(st.history(_url(state))))[: limit * 2]
    rule = row_rule(principal)
    if not rule.everything:
        members = {}
        for d in rows:
            for uid in (d["unique_id_l"], d["unique_id_r"]):
                if uid and uid not in members:
                    found = decisions.records_of(_url(state), unique_id=uid)
                    members[uid] = found[0]["customer_id"] if found else None
        visible = store.scoped_ids(state.engine, rule, [c for c in members.values() if c])
        rows = [d for d in rows if all(members.get(u) in visible for u in (d["unique_id_l"], d["unique_id_r"]) if u)]
    return [_decision(d) for d in rows[:limit]]


# --- deciding -----------------------------------------------------------------------------------

def _pair_target(left: str, right: str) -> str:
    return f"{left} ~ {right}"[:160]


def decide_pair(state: AppState, principal: Principal, body: PairDecision, confirm: bool, request: Request
                ) -> dict[str, Any]:
    if body.left == body.right:
        raise HTTPException(400, "left and right name the same record")
    left = _record_in_scope(state, principal, body.left)
    right = _record_in_scope(state, principal, body.right)
    decide = st.confirm_pair if confirm else st.reject_pair
    decision_id = decide(_url(state), body.left, body.right, actor=principal.user_id, reason=body.reason.strip())
    applied = st.apply_now(_url(state), body.left, body.right) if confirm else {"applied": False}
    action = "identity_confirm" if confirm else "identity_reject"
    record(state, principal, action, "identity_pair", _pair_target(body.left, body.right), request,
           reason=body.reason.strip(), decision_id=decision_id, left=body.left, right=body.right,
           customers=[left["customer_id"], right["customer_id"]],
           **({"joined_as": applied["customer_id"]} if applied["applied"] else {}))
    return {"decision_id": decision_id, "action": "confirm" if confirm else "reject"} | _effect(applied)


def _effect(applied: dict[str, Any]) -> dict[str, Any]:
    """What the decision changed now: a joined customer in the serving view, or nothing before the refresh."""
    if applied.get("applied"):
        return {"takes_effect": "now", "customer_id": applied["customer_id"], "records_moved": applied["moved"],
                "profile_rebuilt": "next refresh"}
    return {"takes_effect": "next refresh"}


def merge(state: AppState, principal: Principal, body: MergeRequest, request: Request) -> dict[str, Any]:
    for customer in (body.customer_a, body.customer_b):
        _customer_in_scope(state, principal, customer)
    decision_id = st.merge_customers(_url(state), body.customer_a, body.customer_b, actor=principal.user_id,
                                     reason=body.reason.strip())
    made = next(d for d in st.history(_url(state)) if d["id"] == decision_id)
    applied = st.apply_now(_url(state), made["unique_id_l"], made["unique_id_r"])
    record(state, principal, "merge", "customer", body.customer_a, request, reason=body.reason.strip(),
           decision_id=decision_id, customers=[body.customer_a, body.customer_b],
           **({"joined_as": applied["customer_id"]} if applied["applied"] else {}))
    return {"decision_id": decision_id, "action": "merge"} | _effect(applied)


def split(state: AppState, principal: Principal, body: SplitRequest, request: Request) -> dict[str, Any]:
    found = _record_in_scope(state, principal, body.unique_id)
    decision_id = st.split_record(_url(state), body.unique_id, actor=principal.user_id, reason=body.reason.strip())
    record(state, principal, "split", "identity_record", body.unique_id[:160], request, reason=body.reason.strip(),
           decision_id=decision_id, customer_id=found["customer_id"])
    return {"decision_id": decision_id, "action": "split", "takes_effect": "next refresh"}


def revert(state: AppState, principal: Principal, decision_id: int, body: RevertRequest, request: Request
           ) -> dict[str, Any]:
    match = [d for d in st.history(_url(state)) if d["id"] == decision_id]
    if not match:
        raise HTTPException(404, f"no decision {decision_id}")
    d = match[0]
    for uid in (d["unique_id_l"], d["unique_id_r"]):
        found = decisions.records_of(_url(state), unique_id=uid) if uid else []
        if found and not store.in_scope(state.engine, row_rule(principal), found[0]["customer_id"]):
            raise HTTPException(404, f"no decision {decision_id}")
    if d["reverted_at"] is not None:
        raise HTTPException(409, f"decision {decision_id} is already reverted")
    st.revert(_url(state), decision_id, actor=principal.user_id, reason=body.reason.strip())
    record(state, principal, "revert", "identity_decision", str(decision_id), request, reason=body.reason.strip(),
           decision_id=decision_id, reverted_action=d["action"])
    return {"decision_id": decision_id, "reverted": True, "takes_effect": "next refresh"}


# --- API ----------------------------------------------------------------------------------------

@router.get("/identity/queue", summary="Uncertain pairs awaiting a decision, both records side by side (masked)")
def review_queue(request: Request, principal: Principal = Reviewer,
                 limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                 source: str | None = Query(None, max_length=32, description="only pairs with a record from it"),
                 min_probability: float | None = Query(None, ge=0, le=1),
                 same_customer: bool | None = Query(None, description="true: already one customer; false: not"),
                 ) -> dict[str, Any]:
    return queue(app_state(request), principal, limit, offset=offset, source=source or None,
                 min_probability=min_probability, same_customer=same_customer)


@router.get("/identity/decisions", summary="Latest identity decisions (reverted ones too), newest first")
def list_decisions(request: Request, principal: Principal = Reviewer,
                   limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
    items = recent_decisions(app_state(request), principal, limit)
    return {"items": items, "count": len(items)}


@router.get("/identity/customers/{customer_id}", summary="A customer's records and the decisions about them")
def history(customer_id: str, request: Request, principal: Principal = Reviewer) -> dict[str, Any]:
    return customer_history(app_state(request), principal, customer_id)


@router.post("/identity/confirm", summary="The two records are the same person (audited; next refresh)")
def confirm(body: PairDecision, request: Request, principal: Principal = Decider) -> dict[str, Any]:
    return decide_pair(app_state(request), principal, body, True, request)


@router.post("/identity/reject", summary="The two records are different people (audited; next refresh)")
def reject(body: PairDecision, request: Request, principal: Principal = Decider) -> dict[str, Any]:
    return decide_pair(app_state(request), principal, body, False, request)


@router.post("/identity/merge", summary="Two customers are one person (audited; refused if ID numbers differ)")
def merge_customers(body: MergeRequest, request: Request, principal: Principal = Decider) -> dict[str, Any]:
    return merge(app_state(request), principal, body, request)


@router.post("/identity/split", summary="Take one record out of its customer (audited; next refresh)")
def split_record(body: SplitRequest, request: Request, principal: Principal = Decider) -> dict[str, Any]:
    return split(app_state(request), principal, body, request)


@router.post("/identity/decisions/{decision_id}/revert", summary="Undo a decision (audited; it stays on record)")
def revert_decision(decision_id: RowId, body: RevertRequest, request: Request,
                    principal: Principal = Decider) -> dict[str, Any]:
    return revert(app_state(request), principal, decision_id, body, request)
