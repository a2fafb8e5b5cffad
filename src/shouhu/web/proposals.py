"""Proposal links (建议书): a customer's protection plan shared as an H5 link anyone holding it can open.

Creating one runs the plan for the customer (``web.advice.advise``: scoped, audited as
``advice_run``, suitability checks logged) and keeps a **snapshot** of what the customer should see:
the masked name, per visible household member the role, age and the need, cover and gap per
coverage, and the recommended products (product, insured's role, sum assured, premium, why). Left
out on purpose: ID numbers, phones, customer and household ids, and every text that quotes an
income (need explanations, the budget sentence), since whoever holds the link sees it.

The token (``secrets.token_urlsafe(32)``, 256 bits) is shown once, in the creation answer; the
database keeps only its SHA-256. A link opens until it expires (7 days by default, 1-30) or is
revoked; an unknown, expired or revoked token is 404 (the same answer, so nothing can be told
apart). Audited: ``proposal_created``, ``proposal_opened`` (anonymous, with the count),
``proposal_revoked``; never the token.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import Principal, row_rule
from shouhu.advice.methods import DEFAULT_METHOD
from shouhu.model.vocab import CoverageType
from shouhu.storage import customers as customer_store
from shouhu.storage import proposals as store
from shouhu.web import advice
from shouhu.web.auth import record
from shouhu.web.customers import record_or_404
from shouhu.web.state import AppState

DEFAULT_DAYS = 7
MAX_DAYS = 30
PATH = "/h5/proposal/"


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _labels(code: str) -> dict[str, str]:
    try:
        kind = CoverageType(code)
    except ValueError:
        return {"zh": code, "en": code}
    return {"zh": kind.label("zh"), "en": kind.label("en")}


def snapshot(result: dict[str, Any], name_masked: str | None, as_of: str) -> dict[str, Any]:
    """What the link shows: from an ``advise`` result (already limited to the caller's visible members)."""
    d, p = result["diagnosis"], result["plan"]
    members = []
    for m in d["members"]:
        if not m["visible"]:
            continue
        members.append({"role_zh": m["role_zh"], "role_en": m["role_en"], "age": m["age"],
                        "is_customer": bool(m.get("is_customer")),
                        "gaps": [{"coverage": g["coverage"], **_labels(g["coverage"]),
                                  "need": round(float(g["need"]["amount"]), 2),
                                  "existing": round(float(g["existing"]), 2),
                                  "in_waiting": round(float(g["in_waiting"]), 2), "gap": round(float(g["gap"]), 2)}
                                 for g in m["gaps"]]})
    roles = {m["role"]: (m["role_zh"], m["role_en"]) for m in d["members"]}
    rec = p["recommended"]
    items = [{"role_zh": roles.get(i["role"], ("家庭成员", "member"))[0],
              "role_en": roles.get(i["role"], ("家庭成员", "member"))[1],
              "product_name": i["product_name"], "product_type": i["product_type"],
              "sum_assured": round(float(i["sum_assured"]), 2), "annual_premium": round(float(i["annual_premium"]), 2),
              "zh": i["zh"], "en": i["en"]} for i in rec["items"]]
    return {"name": name_masked or "", "as_of": as_of, "method": d["method"], "members": members,
            "totals": {c: round(float(v), 2) for c, v in d["totals"].items()},
            "plan": {"items": items, "premium": round(float(rec["premium"]), 2),
                     "hidden_items": int(rec["hidden"]["items"]), "hidden_premium": float(rec["hidden"]["premium"])},
            "risk_level": p["risk_level"]}


def create(state: AppState, principal: Principal, request: Request, customer_id: str, *,
           method: str = DEFAULT_METHOD, budget: float | None = None, days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """Run the plan, keep its snapshot behind a new random token; the token is in this answer only."""
    if not 1 <= days <= MAX_DAYS:
        raise HTTPException(422, f"days: a link lives 1 to {MAX_DAYS} days, not {days}")
    record_or_404(state, principal, customer_id)
    result = advice.advise(state, principal, customer_id, request, method=method, budget=budget)
    row = customer_store.get_record(state.engine, row_rule(principal), customer_id) or {}
    at = _now()
    shot = snapshot(result, row.get("name_masked"), at.date().isoformat())
    token = secrets.token_urlsafe(32)
    expires = at + timedelta(days=days)
    link_id = store.create(state.engine, {
        "token_hash": token_hash(token), "customer_id": customer_id,
        "snapshot": json.dumps(shot, ensure_ascii=False, sort_keys=True), "method": method,
        "created_by": principal.user_id, "created_at": _stamp(at), "expires_at": _stamp(expires)})
    record(state, principal, "proposal_created", "proposal", str(link_id), request, customer_id=customer_id,
           method=method, expires_at=_stamp(expires), products=len(shot["plan"]["items"]))
    return {"id": link_id, "customer_id": customer_id, "path": PATH + token, "token": token,
            "url": str(request.base_url).rstrip("/") + PATH + token, "created_at": _stamp(at),
            "expires_at": _stamp(expires), "products": len(shot["plan"]["items"]),
            "premium": shot["plan"]["premium"]}


def status_of(row: dict[str, Any], at: datetime | None = None) -> str:
    if row.get("revoked_at"):
        return "revoked"
    return "expired" if str(row["expires_at"]) <= _stamp(at or _now()) else "active"


def open_link(state: AppState, request: Request, token: str) -> dict[str, Any]:
    """The snapshot behind a live token (404 for unknown, expired or revoked); counted and audited."""
    row = store.by_token_hash(state.engine, token_hash(token)) if 16 <= len(token) <= 128 else None
    if row is None or status_of(row) != "active":
        raise HTTPException(404, "this proposal link does not exist, has expired or was withdrawn")
    at = _stamp(_now())
    store.count_open(state.engine, int(row["id"]), at)
    record(state, None, "proposal_opened", "proposal", str(row["id"]), request, customer_id=row["customer_id"],
           opened=int(row["opened"]) + 1)
    shot: dict[str, Any] = json.loads(row["snapshot"])
    return shot | {"expires_at": row["expires_at"]}


def links(state: AppState, principal: Principal, customer_id: str) -> dict[str, Any]:
    record_or_404(state, principal, customer_id)
    rows = store.list_for(state.engine, row_rule(principal), customer_id)
    return {"customer_id": customer_id, "items": [r | {"status": status_of(r)} for r in rows]}


def revoke(state: AppState, principal: Principal, request: Request, link_id: int, reason: str = "") -> dict[str, Any]:
    row = store.get(state.engine, row_rule(principal), link_id)
    if row is None:
        raise HTTPException(404, f"no proposal link {link_id} that you may see")
    if not store.revoke(state.engine, link_id, principal.user_id, _stamp(_now())):
        raise HTTPException(409, f"proposal link {link_id} was revoked already")
    record(state, principal, "proposal_revoked", "proposal", str(link_id), request, reason=reason.strip()[:200],
           customer_id=row["customer_id"])
    after = store.get(state.engine, row_rule(principal), link_id) or row
    return after | {"status": status_of(after)}
