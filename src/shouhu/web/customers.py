"""Customer reads shared by the API and the console: search, the 360 view, reveal and export.

Row scope comes from access.policy.row_rule (applied in storage.customers); shaping from
web.shaping. A customer outside the caller's scope is "not found" (404), never "forbidden", so
that its existence does not leak.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import FieldView, Principal, can_reveal, field_view, row_rule
from shouhu.identity.search import QueryError, city_token, hashed_terms
from shouhu.privacy.csv_export import csv_text
from shouhu.storage import customers as store
from shouhu.storage import journeys as journey_store
from shouhu.web.auth import record
from shouhu.web.shaping import reveal_values, shape
from shouhu.web.state import AppState

PHONE_DIGITS = re.compile(r"\D")


def normalise_phone(value: str) -> str:
    digits = PHONE_DIGITS.sub("", value)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def classify_query(q: str) -> dict[str, str]:
    """What a free-text search box means: a customer id, an ID number, a phone number or a name."""
    text = q.strip()
    compact = text.replace(" ", "")
    if re.fullmatch(r"CU[0-9a-fA-F]{6,}", compact):
        return {"customer_id": compact}
    if re.fullmatch(r"\d{17}[\dXx]|\d{15}", compact):
        return {"id_number": compact.upper()}
    digits = normalise_phone(compact)
    if len(digits) == 11 and digits.startswith("1") and not re.search(r"[^\d+\-() ]", text):
        return {"phone": digits}
    return {"name": text}


def search(state: AppState, principal: Principal, *, q: str | None = None, name: str | None = None,
           phone: str | None = None, id_number: str | None = None, customer_id: str | None = None,
           city: str | None = None, lifecycle_stage: str | None = None, limit: int = 50,
           offset: int = 0) -> list[dict[str, Any]]:
    """Customers within the caller's scope, masked, best match first.

    ``q`` is exact when it is a customer id, an ID number or a whole phone number; anything else is a
    partial search (surname, leading characters, pinyin or initials, last 4 phone digits) through the
    keyed search tokens (identity.search). ``city`` matches with or without 市. Bad ``q``: 400."""
    terms: list[dict[str, int]] | None = None
    if q:
        guess = classify_query(q)
        phone = guess.get("phone", phone)
        id_number, customer_id = guess.get("id_number", id_number), guess.get("customer_id", customer_id)
        if "name" in guess:
            try:
                terms = hashed_terms(guess["name"], state.search_tokens)
            except QueryError as e:
                raise HTTPException(400, str(e)) from None
    bidx = state.cipher.blind_index
    criteria = {"name_bidx": bidx(name) if name else None,
                "phone_bidx": bidx(normalise_phone(phone)) if phone else None,
                "id_bidx": bidx(id_number.strip().upper()) if id_number else None}
    town = city.strip() if city else None
    if not any(criteria.values()) and not (terms or customer_id or town or lifecycle_stage):
        return []
    rows = store.search(state.engine, row_rule(principal), customer_id=customer_id, city=town,
                        city_token=city_token(town, state.search_tokens) if town else None, terms=terms,
                        lifecycle_stage=lifecycle_stage, limit=min(limit, 500), offset=offset, **criteria)
    return [shape(principal, r, state.cipher) for r in rows]


def record_or_404(state: AppState, principal: Principal, customer_id: str) -> dict[str, Any]:
    row = store.get_record(state.engine, row_rule(principal), customer_id)
    if row is None:
        raise HTTPException(404, f"no customer {customer_id} that you may see")
    return row


def profile(state: AppState, principal: Principal, customer_id: str) -> dict[str, Any]:
    return shape(principal, record_or_404(state, principal, customer_id), state.cipher)


def view_360(state: AppState, principal: Principal, customer_id: str) -> dict[str, Any]:
    """Everything the 360 page shows, in one dict (all parts within the caller's scope)."""
    with store.reading(state.engine):  # one connection for its eight reads
        return _view_360(state, principal, customer_id)


def _view_360(state: AppState, principal: Principal, customer_id: str) -> dict[str, Any]:
    rule = row_rule(principal)
    customer = profile(state, principal, customer_id)
    members = store.household(state.engine, rule, customer_id)
    shaped_members = [shape(principal, m, state.cipher) if m.get("visible") else m for m in members]
    detail = store.detail(state.engine, rule, customer_id)
    gaps = store.rows_for(state.engine, rule, "customer_gap", customer_id)
    actions = store.rows_for(state.engine, rule, "next_best_action", customer_id, order_by="rank")
    if actions and journey_store.sales_stopped(state.engine, customer_id):  # withdrawn since the last scoring
        actions = [a for a in actions if a.get("kind") != "sales"]
    tags = store.rows_for(state.engine, rule, "customer_tag", customer_id)
    agent = store.staff_member(state.engine, customer["agent_id"]) if customer.get("agent_id") else None
    return {"customer": customer, "household": shaped_members, "policies": detail["policies"],
            "timeline": detail["timeline"], "gap": gaps[0] if gaps else None, "actions": actions, "tags": tags,
            "agent": agent}


def reveal(state: AppState, principal: Principal, customer_id: str, fields: list[str], reason: str,
           request: Request) -> dict[str, Any]:
    """Clear values of masked fields, for a principal with the reveal grant; every use is audited."""
    if not can_reveal(principal):
        raise HTTPException(403, "you have no permission to reveal personal data")
    if len(reason.strip()) < 2:
        raise HTTPException(400, "say why you need to see the data (reason)")
    row = record_or_404(state, principal, customer_id)
    refused = [f for f in fields if field_view(principal, f) is not FieldView.MASKED]
    if refused or not fields:
        raise HTTPException(403, f"you may not reveal {refused or 'nothing'}")
    values = reveal_values(row, fields, state.cipher)
    record(state, principal, "reveal", "customer", customer_id, request, reason=reason.strip(), fields=fields)
    return {"customer_id": customer_id, "values": values}


EXPORT_COLUMNS = ("customer_id", "name", "gender", "age", "city", "lifecycle_stage", "policies_in_force",
                  "annualised_premium", "phone")


def export_csv(state: AppState, principal: Principal, customer_ids: list[str], request: Request,
               purpose: str, use: str = "service") -> tuple[str, int]:
    """A CSV of the given customers that the caller may see (masked as on screen); audited. ``use`` other
    than ``service`` (a marketing campaign, sharing with a partner, profiling) keeps only the customers
    whose consent covers it (``storage.journeys.consented``); returns the text and how many were left
    out for want of consent."""
    rule = row_rule(principal)
    keep = store.scoped_ids(state.engine, rule, customer_ids)
    no_consent = 0
    if use != "service":
        allowed_ids = journey_store.consented(state.engine, sorted(keep), use)
        no_consent, keep = len(keep - allowed_ids), keep & allowed_ids
    rows = (shape(principal, row, state.cipher) for row in
            (store.get_record(state.engine, rule, cid) for cid in sorted(keep)) if row is not None)
    text = csv_text(EXPORT_COLUMNS, rows)  # formulas neutralised (privacy.csv_export)
    record(state, principal, "export", "customers", f"{len(keep)} customers", request, reason=purpose,
           count=len(keep), refused=len(set(customer_ids)) - len(keep) - no_consent, use=use, no_consent=no_consent)
    return text, no_consent
