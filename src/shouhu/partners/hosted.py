"""Hosted sales pages for unlicensed partners: the insurer's own page, embedded in the partner's app.

The partner asks for a link (``create_link``) with its scene facts and its order number; the insurer
prices the product there and then (``sales.quote_for``, the insurer as the seller), so bad facts or an
unpublished disclosure page are refused to the partner, not shown to its customer. The customer opens
the link inside the partner's app (only the partner's registered origins may frame it). The page shows
the quote and each disclosure page version; the insurer records the traceability session server-side
(a page view of each version at each showing, a confirmation of each when ticked, the submit) and binds
the policy (``sales.bind_for``, ``via="hosted"``). The partner never sees the price computation, the
application or the premium flow; it hears of the policy by webhook, or reads it by its order number.

The link's token (in its URL) is the only credential: 32 random bytes, stored as SHA-256, valid
``LINK_VALID``, bound once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from shouhu.compliance import traceability as trace
from shouhu.errors import InvalidInput
from shouhu.partners import sales
from shouhu.partners.products import product
from shouhu.partners.registry import Caller, now_utc, stamp
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import partners as store
from shouhu.storage import traceability as trace_store

LINK_VALID = timedelta(minutes=30)  # equal to sales.QUOTE_VALID: the quote made with the link outlives it


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def on_origins(url: str, origins: tuple[str, ...] | list[str]) -> bool:
    """Whether ``url`` is one of ``origins`` or under one (``https://a.example/x``, never ``https://a.example.evil``)."""
    return any(url == o or url.startswith(o + "/") or url.startswith(o + "?") for o in origins)


def create_link(engine: Engine, caller: Caller, *, product_code: str, customer_ref: str, partner_order_no: str,
                facts: Mapping[str, Any], return_url: str | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """A one-time link to the insurer's sales page for this order (the partner's ``hosted`` scope)."""
    sales.check(caller, "hosted", product_code)
    if return_url is not None and not on_origins(return_url, caller.frame_origins):
        known = ", ".join(caller.frame_origins) or "none registered"
        raise InvalidInput(f"return_url: must be on one of the partner's registered origins ({known})",
                           field="return_url")
    if store.policy_by_order(engine, caller.partner_id, partner_order_no) is not None:
        raise sales.Conflict(f"partner order {partner_order_no} was bound already", field="partner_order_no")
    moment = now or now_utc()
    made = sales.quote_for(engine, caller.partner_id, caller.mode, product_code, facts, moment)
    token = secrets.token_urlsafe(32)
    store.add_link(engine, {"token_sha256": _digest(token), "partner_id": caller.partner_id, "mode": caller.mode,
                            "product_code": product_code, "scene": product(product_code).scene,
                            "customer_ref": customer_ref, "partner_order_no": partner_order_no,
                            "scene_facts": dict(facts), "return_url": return_url, "trace_session_id": None,
                            "quote_id": made["quote_id"], "policy_no": None, "created_at": stamp(moment),
                            "expires_at": stamp(moment + LINK_VALID)})
    return {"url": f"/hosted/{token}", "expires_at": stamp(moment + LINK_VALID)}


def link(engine: Engine, token: str, now: datetime | None = None) -> dict[str, Any]:
    """The link of ``token``: NotFound, or Gone once expired (a bound link stays readable)."""
    found = store.get_link(engine, _digest(token)) if 20 <= len(token) <= 100 else None
    if found is None:
        raise sales.NotFound("no such sales link", field="token")
    if found["policy_no"] is None and found["expires_at"] <= stamp(now or now_utc()):
        raise sales.Gone("this sales link has expired; ask the partner's app for a new one", field="token",
                         partner_id=found["partner_id"])
    return found


def _at(moment: datetime) -> str:
    return moment.astimezone(sales.BEIJING).isoformat(timespec="seconds")


def _quote(engine: Engine, found: Mapping[str, Any], moment: datetime) -> dict[str, Any]:
    """The link's quote; a new one if it expired (a link never outlives its quote, unless bound)."""
    q = store.get_quote(engine, found["quote_id"]) if found["quote_id"] else None
    if q is None or q["valid_until"] <= stamp(moment):
        made = sales.quote_for(engine, found["partner_id"], found["mode"], found["product_code"],
                               found["scene_facts"], moment)
        q = store.get_quote(engine, made["quote_id"])
        assert q is not None
        store.update_link(engine, found["token_sha256"], {"quote_id": q["quote_id"]})
    return q


def _session(engine: Engine, found: Mapping[str, Any], moment: datetime) -> str:
    if found["trace_session_id"]:
        return str(found["trace_session_id"])
    s = trace.start_session(engine, customer_id=f"{found['partner_id']}:{found['customer_ref']}"[:64],
                            product_code=found["product_code"], channel=found["partner_id"],
                            recorded_by="hosted", started_at=moment)
    store.update_link(engine, found["token_sha256"], {"trace_session_id": s["session_id"]})
    return str(s["session_id"])


def _policy(engine: Engine, found: Mapping[str, Any]) -> dict[str, Any]:
    return sales.public_policy(store.get_policy(engine, found["policy_no"]) or {})


def _done(engine: Engine, found: Mapping[str, Any]) -> dict[str, Any]:
    return {"link": found, "policy": _policy(engine, found)}


def open_page(engine: Engine, cipher: FieldCipher, token: str, now: datetime | None = None) -> dict[str, Any]:
    """What the page shows: the quote and the disclosure pages with their content (each showing records a
    page view of each version in the session), or the policy once bound."""
    moment = now or now_utc()
    found = link(engine, token, moment)
    if found["policy_no"]:
        return _done(engine, found)
    q = _quote(engine, found, moment)
    sid = _session(engine, found, moment)
    pages = []
    for d in q["disclosures"]:
        page = trace_store.page(engine, d["code"], d["version"])
        assert page is not None  # the ledger keeps every version it published
        pages.append(page)
    trace.record_events(engine, cipher, sid, [
        {"type": "page_view", "at": _at(moment), "page_code": p["code"], "page_version": int(p["version"]),
         "page_hash": p["sha256"]} for p in pages], now=moment)
    return {"link": store.get_link(engine, found["token_sha256"]), "quote": sales.public_quote(q), "pages": pages}


def submit(engine: Engine, cipher: FieldCipher, token: str, *, ticked: set[str], applicant: Mapping[str, Any],
           now: datetime | None = None) -> dict[str, Any]:
    """The customer's submission: confirmations of the ticked pages, then the bind. A link bound already
    answers its policy (a second submit binds nothing)."""
    moment = now or now_utc()
    found = link(engine, token, moment)
    if found["policy_no"]:
        return _policy(engine, found)
    q = store.get_quote(engine, found["quote_id"] or "")
    if q is None or not found["trace_session_id"]:
        raise InvalidInput("the page was not opened; reload it", field="token")
    missing = [d["code"] for d in q["disclosures"] if d["code"] not in ticked]
    if missing:
        raise InvalidInput(f"please read and tick {', '.join(missing)}", field="ack", disclosure=missing[0],
                           missing=missing)
    sales.check_applicant(applicant)  # bad details: nothing recorded yet, the page says which field
    sid = str(found["trace_session_id"])
    try:
        trace.record_events(engine, cipher, sid, [
            {"type": "confirm", "at": _at(moment), "page_code": d["code"], "page_version": d["version"],
             "page_hash": d["sha256"], "field": "read_and_agreed", "value": True} for d in q["disclosures"]]
            + [{"type": "submit", "at": _at(moment)}], now=moment)
    except trace.Conflict:  # the session closed: a concurrent submit bound the link
        again = link(engine, token, moment)
        if again["policy_no"]:
            return _policy(engine, again)
        raise
    return _bind(engine, cipher, found, q, sid, applicant, moment)


def _bind(engine: Engine, cipher: FieldCipher, found: Mapping[str, Any], q: Mapping[str, Any], sid: str,
          applicant: Mapping[str, Any], moment: datetime) -> dict[str, Any]:
    policy = sales.bind_for(
        engine, cipher, found["partner_id"], found["mode"], quote_id=q["quote_id"],
        partner_order_no=found["partner_order_no"], customer_ref=found["customer_ref"], applicant=dict(applicant),
        acknowledgements=[dict(d, at=stamp(moment)) for d in q["disclosures"]], trace_session_id=sid, via="hosted",
        now=moment)
    store.update_link(engine, found["token_sha256"], {"policy_no": policy["policy_no"]})
    return policy
