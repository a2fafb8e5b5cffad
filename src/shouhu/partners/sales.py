"""Quote → bind → change (preview, then confirm) → claim, for a partner's scene products.

* A quote prices the product on the partner's scene facts (``partners.scene``) and returns the
  disclosure pages the customer must see, each with its version and SHA-256 (from the traceability
  ledger's versioned pages); it is valid for ``QUOTE_VALID``.
* Binding needs the customer's acknowledgement of each of those exact versions and the id of a
  traceability session (channel = the partner) that shows each page viewed and confirmed; it closes the
  session as issued. A quote binds once; a partner order number binds once per partner.
* A change is previewed (refund or new premium, effective date) and confirmed within ``CHANGE_VALID``.
* Claims: a notice from the partner, or automatic on a trigger event (a parcel returned, a flight
  delayed), one claim per policy and trigger id.

Unlicensed scene partners cannot quote, bind or change (``partners.licence``): the hosted pages do it
for them, calling the ``*_for`` functions with the insurer as the seller.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from shouhu.compliance import traceability as trace
from shouhu.errors import InvalidInput, ShouhuError, UnknownName
from shouhu.partners import licence
from shouhu.partners.products import product
from shouhu.partners.registry import Caller, Forbidden, now_utc, stamp
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import partners as store
from shouhu.storage import traceability as trace_store

QUOTE_VALID = timedelta(minutes=30)
CHANGE_VALID = timedelta(minutes=15)
BEIJING = timezone(timedelta(hours=8))
EVENTS = ("policy.bound", "policy.cancelled", "policy.changed", "claim.noticed", "claim.approved")


class NotFound(ShouhuError, LookupError):
    code = "not_found"


class Conflict(ShouhuError):
    code = "conflict"


class Gone(ShouhuError):
    code = "expired"


def today(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _new_id(prefix: str, mode: str) -> str:
    return f"{prefix}{'SBX' if mode == 'sandbox' else ''}{secrets.token_hex(8).upper()}"


def check(caller: Caller, scope: str, product_code: str | None = None) -> None:
    """Licence, key scope, agreed products and scenes: Forbidden names what is missing."""
    if not licence.allows(caller.licence, scope):
        raise Forbidden(licence.refusal(caller.licence, scope), field="licence", rule=licence.RULE)
    if scope not in caller.scopes:
        raise Forbidden(f"this API key lacks the scope {scope!r}", field="scope")
    if product_code is not None:
        found = product(product_code)
        if product_code not in caller.products or found.scene not in caller.scenes:
            raise Forbidden(f"product {product_code} is not agreed with partner {caller.partner_id}",
                            field="product_code")


def _emit(engine: Engine, partner_id: str, mode: str, kind: str, data: Mapping[str, Any]) -> None:
    from shouhu.partners import webhooks

    webhooks.emit(engine, partner_id, mode, kind, dict(data))


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal
        return str(value)
    return value


# --- quote -------------------------------------------------------------------------------------------

def disclosures(engine: Engine, product_code: str) -> list[dict[str, Any]]:
    """The latest version of each page the product's customers must see (Conflict if one is missing)."""
    out = []
    with engine.connect() as conn:
        for code in product(product_code).disclosures:
            page = trace_store.latest_page(conn, code)
            if page is None:
                raise Conflict(f"disclosure page {code} of {product_code} is not published "
                               "(shouhu partners publish-disclosures)", field="product_code")
            out.append({"code": code, "version": int(page["version"]), "sha256": page["sha256"],
                        "kind": page["kind"], "title": page["title"],
                        "url": f"/api/v1/partner/disclosures/{code}/{int(page['version'])}"})
    return out


def quote_for(engine: Engine, partner_id: str, mode: str, product_code: str, facts: Mapping[str, Any],
              now: datetime | None = None) -> dict[str, Any]:
    from shouhu.partners.scene import price

    moment = now or now_utc()
    item = product(product_code)
    if not isinstance(facts, Mapping):
        raise InvalidInput("facts: must be an object", field="facts")
    priced = price(item, facts, on=today(moment))
    pages = disclosures(engine, product_code)
    row = {"quote_id": _new_id("Q", mode), "partner_id": partner_id, "mode": mode, "product_code": product_code,
           "scene": item.scene, "inputs": _plain(priced.facts_used), "premium_fen": priced.premium_fen,
           "sum_assured_fen": priced.sum_assured_fen,
           "pricing": _plain({"basis": priced.basis, "cover_start": priced.cover_start,
                              "cover_end": priced.cover_end, "scene_key": priced.scene_key}),
           "disclosures": [{k: p[k] for k in ("code", "version", "sha256")} for p in pages],
           "created_at": stamp(moment), "valid_until": stamp(moment + QUOTE_VALID)}
    store.add_quote(engine, row)
    return public_quote(row) | {"disclosures": pages}


def quote(engine: Engine, caller: Caller, product_code: str, facts: Mapping[str, Any],
          now: datetime | None = None) -> dict[str, Any]:
    check(caller, "quote", product_code)
    return quote_for(engine, caller.partner_id, caller.mode, product_code, facts, now)


def public_quote(row: Mapping[str, Any]) -> dict[str, Any]:
    item = product(row["product_code"])
    pricing = row["pricing"]
    return {"quote_id": row["quote_id"], "mode": row["mode"], "product_code": row["product_code"],
            "product_name": item.name_zh, "product_name_en": item.name_en, "scene": row["scene"],
            "premium": yuan(row["premium_fen"]), "premium_fen": row["premium_fen"],
            "sum_assured": yuan(row["sum_assured_fen"]), "sum_assured_fen": row["sum_assured_fen"],
            "currency": "CNY", "cover_start": pricing["cover_start"], "cover_end": pricing["cover_end"],
            "basis": pricing["basis"], "valid_until": row["valid_until"], "disclosures": row["disclosures"]}


# --- bind --------------------------------------------------------------------------------------------

def check_applicant(raw: Any) -> dict[str, str]:
    from shouhu.ingest.validate import Invalid, normalise_id_number, normalise_phone

    if not isinstance(raw, Mapping):
        raise InvalidInput("applicant: must be an object with name, id_number and phone", field="applicant")
    name = str(raw.get("name") or "").strip()
    if not 1 <= len(name) <= 60:
        raise InvalidInput("applicant.name: needs 1 to 60 characters", field="applicant.name")
    out = {"name": name}
    for field, normalise in (("id_number", normalise_id_number), ("phone", normalise_phone)):
        value = raw.get(field)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"applicant.{field}: missing", field=f"applicant.{field}")
        try:
            out[field] = normalise(value)
        except Invalid as e:  # the message describes the rule, never the value
            raise InvalidInput(f"applicant.{field}: {e}", field=f"applicant.{field}") from None
    return out


def _acknowledged(wanted: Sequence[Mapping[str, Any]], given: Any) -> list[dict[str, Any]]:
    if not isinstance(given, list):
        raise InvalidInput("acknowledgements: a list of {code, version, sha256}", field="acknowledgements")
    seen = {}
    for i, a in enumerate(given):
        if not isinstance(a, Mapping) or not {"code", "version", "sha256"} <= a.keys():
            raise InvalidInput(f"acknowledgements[{i}]: needs code, version and sha256",
                               field=f"acknowledgements[{i}]")
        seen[str(a["code"])] = (a, i)
    out = []
    for d in wanted:
        if d["code"] not in seen:
            raise InvalidInput(f"acknowledgements: the customer has not acknowledged {d['code']} "
                               f"version {d['version']}", field="acknowledgements", disclosure=d["code"])
        a, i = seen[d["code"]]
        if a["version"] != d["version"] or a["sha256"] != d["sha256"]:
            raise InvalidInput(f"acknowledgements[{i}]: {d['code']} acknowledged at another version or hash than "
                               f"the quote's (version {d['version']})", field=f"acknowledgements[{i}]")
        out.append({"code": d["code"], "version": d["version"], "sha256": d["sha256"],
                    "at": str(a.get("at") or "")[:40] or None})
    return out


def _trace_ok(engine: Engine, session_id: Any, channel: str, q: Mapping[str, Any]) -> dict[str, Any]:
    """The session exists, is the partner's, for this product, still open, and shows every disclosure
    version viewed and confirmed (a ``confirm`` event with value true on that page version)."""
    if not isinstance(session_id, str) or not session_id:
        raise InvalidInput("trace_session_id: missing (POST /api/v1/partner/trace/sessions)", field="trace_session_id")
    s = trace_store.get_session(engine, session_id)
    if s is None or s["channel"] != channel:
        raise InvalidInput(f"trace_session_id: no traceability session {session_id:.64} of this partner",
                           field="trace_session_id")
    if s["product_code"] != q["product_code"]:
        raise InvalidInput("trace_session_id: the session is for another product", field="trace_session_id")
    if s["closed_at"]:
        raise InvalidInput("trace_session_id: the session is closed", field="trace_session_id")
    viewed, confirmed = set(), set()
    for e in trace_store.events_of(engine, session_id):
        key = (e["page_code"], e["page_version"])
        if e["type"] == "page_view":
            viewed.add(key)
        elif e["type"] == "confirm" and json.loads(e["data"]).get("value") is True:
            confirmed.add(key)
    for d in q["disclosures"]:
        key = (d["code"], d["version"])
        if key not in viewed or key not in confirmed:
            missing = "viewed" if key not in viewed else "confirmed"
            raise InvalidInput(f"trace_session_id: the session does not show {d['code']} version {d['version']} "
                               f"{missing} by the customer", field="trace_session_id", disclosure=d["code"])
    return s


def bind_for(engine: Engine, cipher: FieldCipher, partner_id: str, mode: str, *, quote_id: str,
             partner_order_no: str, customer_ref: str, applicant: Any, acknowledgements: Any,
             trace_session_id: Any, via: str = "api", now: datetime | None = None) -> dict[str, Any]:
    moment = now or now_utc()
    q = store.get_quote(engine, quote_id)
    if q is None or q["partner_id"] != partner_id or q["mode"] != mode:
        raise NotFound(f"no quote {quote_id:.64}", field="quote_id")
    done = store.policy_by_quote(engine, quote_id)
    if done is not None:
        if done["partner_order_no"] == partner_order_no:
            return public_policy(done)  # the same bind again: its result
        raise Conflict(f"quote {quote_id} was bound already (policy {done['policy_no']})", field="quote_id")
    if q["valid_until"] <= stamp(moment):
        raise Gone(f"quote {quote_id} expired at {q['valid_until']}; quote again", field="quote_id")
    same = store.policy_by_order(engine, partner_id, partner_order_no)
    if same is not None:
        raise Conflict(f"partner order {partner_order_no} was bound already (policy {same['policy_no']})",
                       field="partner_order_no", policy_no=same["policy_no"])
    person = check_applicant(applicant)
    acks = _acknowledged(q["disclosures"], acknowledgements)
    _trace_ok(engine, trace_session_id, partner_id, q)
    pricing = q["pricing"]
    row = {"policy_no": _new_id("PP", mode), "partner_id": partner_id, "mode": mode,
           "partner_order_no": partner_order_no, "quote_id": quote_id, "product_code": q["product_code"],
           "scene": q["scene"], "scene_key": pricing.get("scene_key"), "customer_ref": customer_ref,
           "applicant": cipher.encrypt(json.dumps(person, ensure_ascii=False)), "trace_session_id": trace_session_id,
           "acknowledgements": acks, "premium_fen": q["premium_fen"], "sum_assured_fen": q["sum_assured_fen"],
           "status": "in_force", "cover_start": pricing["cover_start"], "cover_end": pricing["cover_end"],
           "bound_at": stamp(moment), "via": via, "cancelled_at": None, "refund_fen": None}
    try:
        store.add_policy(engine, row)
    except IntegrityError:  # a concurrent bind of the same quote or order number won
        again = store.policy_by_quote(engine, quote_id)
        if again is not None and again["partner_order_no"] == partner_order_no:
            return public_policy(again)
        raise Conflict(f"partner order {partner_order_no} or quote {quote_id} was bound already",
                       field="partner_order_no") from None
    trace.close_session(engine, str(trace_session_id), outcome="issued", policy_no=row["policy_no"],
                        cover_start=row["cover_start"], cover_end=row["cover_end"], now=moment)
    out = public_policy(store.get_policy(engine, row["policy_no"]) or row)
    _emit(engine, partner_id, mode, "policy.bound", _event_data(out))
    return out


def bind(engine: Engine, cipher: FieldCipher, caller: Caller, **kw: Any) -> dict[str, Any]:
    q = store.get_quote(engine, str(kw.get("quote_id") or ""))
    check(caller, "bind", q["product_code"] if q and q["partner_id"] == caller.partner_id else None)
    return bind_for(engine, cipher, caller.partner_id, caller.mode, **kw)


def public_policy(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the partner sees of a policy: never the applicant's details."""
    return {"policy_no": row["policy_no"], "mode": row["mode"], "partner_order_no": row["partner_order_no"],
            "product_code": row["product_code"], "status": row["status"], "premium": yuan(row["premium_fen"]),
            "premium_fen": row["premium_fen"], "sum_assured": yuan(row["sum_assured_fen"]),
            "cover_start": row["cover_start"], "cover_end": row["cover_end"], "bound_at": row["bound_at"],
            "quote_id": row["quote_id"], "trace_session_id": row["trace_session_id"], "via": row["via"],
            "cancelled_at": row["cancelled_at"], "refund": yuan(row["refund_fen"])}


def _event_data(p: Mapping[str, Any]) -> dict[str, Any]:
    return {k: p[k] for k in ("policy_no", "partner_order_no", "product_code", "status", "premium_fen",
                              "cover_start", "cover_end")} | {"via": p.get("via")}


def own_policy(engine: Engine, caller: Caller, policy_no: str) -> dict[str, Any]:
    p = store.get_policy(engine, policy_no)
    if p is None or p["partner_id"] != caller.partner_id or p["mode"] != caller.mode:
        raise NotFound(f"no policy {policy_no:.64}", field="policy_no")
    return p


# --- changes -----------------------------------------------------------------------------------------

def preview_change(engine: Engine, caller: Caller, policy_no: str, kind: str, request: Mapping[str, Any],
                   now: datetime | None = None) -> dict[str, Any]:
    """What a cancellation refunds, or what a modification (new scene facts) costs; nothing changes yet."""
    from shouhu.partners.scene import price, refund

    check(caller, "change")
    moment = now or now_utc()
    p = own_policy(engine, caller, policy_no)
    if p["status"] != "in_force":
        raise Conflict(f"policy {policy_no} is {p['status']}", field="policy_no")
    item = product(p["product_code"])
    claimed = any(c["status"] == "approved" for c in store.claims_of(engine, policy_no))
    q = store.get_quote(engine, p["quote_id"]) or {}
    policy = _claim_view(p, q)
    if kind == "cancel":
        r = refund(item, policy, today(moment), claimed=claimed)
        preview = {"kind": "cancel", "refund_fen": r.amount_fen, "refund": yuan(r.amount_fen),
                   "reason_zh": r.reason_zh, "reason_en": r.reason_en, "effective": today(moment).isoformat()}
    elif kind == "modify":
        if today(moment) >= date.fromisoformat(p["cover_start"]):
            raise Conflict("a policy can be modified only before its cover starts; cancel it instead",
                           field="policy_no")
        facts = dict(q.get("inputs") or {}) | dict(request.get("facts") or {})
        priced = price(item, facts, on=today(moment))
        preview = {"kind": "modify", "premium_fen": priced.premium_fen, "premium": yuan(priced.premium_fen),
                   "difference_fen": priced.premium_fen - int(p["premium_fen"]),
                   "cover_start": priced.cover_start.isoformat(), "cover_end": priced.cover_end.isoformat(),
                   "scene_key": priced.scene_key, "facts": _plain(priced.facts_used),
                   "sum_assured_fen": priced.sum_assured_fen}
    else:
        raise InvalidInput("kind: cancel or modify", field="kind")
    row = {"change_id": _new_id("C", caller.mode), "policy_no": policy_no, "partner_id": caller.partner_id,
           "kind": kind, "request": _plain(dict(request)), "preview": preview, "status": "previewed",
           "created_at": stamp(moment), "expires_at": stamp(moment + CHANGE_VALID), "confirmed_at": None}
    store.add_change(engine, row)
    return {"change_id": row["change_id"], "policy_no": policy_no, "expires_at": row["expires_at"]} | preview


def confirm_change(engine: Engine, caller: Caller, change_id: str, now: datetime | None = None) -> dict[str, Any]:
    check(caller, "change")
    moment = now or now_utc()
    c = store.get_change(engine, change_id)
    if c is None or c["partner_id"] != caller.partner_id:
        raise NotFound(f"no change {change_id:.64}", field="change_id")
    if c["status"] == "confirmed":
        return public_policy(own_policy(engine, caller, c["policy_no"])) | {"change_id": change_id}
    if c["expires_at"] <= stamp(moment):
        raise Gone(f"preview {change_id} expired at {c['expires_at']}; preview again", field="change_id")
    p = own_policy(engine, caller, c["policy_no"])
    v = c["preview"]
    with store.transaction(engine) as conn:
        if not store.update_change(conn, change_id, {"status": "confirmed", "confirmed_at": stamp(moment)},
                                   status="previewed"):
            raise Conflict(f"change {change_id} is {c['status']}", field="change_id")
        values: dict[str, Any]
        if v["kind"] == "cancel":
            values = {"status": "cancelled", "cancelled_at": stamp(moment), "refund_fen": v["refund_fen"]}
        else:
            values = {"premium_fen": v["premium_fen"], "cover_start": v["cover_start"], "cover_end": v["cover_end"],
                      "scene_key": v["scene_key"], "sum_assured_fen": v["sum_assured_fen"]}
        if not store.update_policy(conn, p["policy_no"], values, status="in_force"):
            raise Conflict(f"policy {p['policy_no']} changed meanwhile; preview again", field="policy_no")
    out = public_policy(own_policy(engine, caller, p["policy_no"])) | {"change_id": change_id}
    _emit(engine, caller.partner_id, caller.mode, "policy.cancelled" if v["kind"] == "cancel" else "policy.changed",
          _event_data(out))
    return out


# --- claims ------------------------------------------------------------------------------------------

def _claim_view(p: Mapping[str, Any], q: Mapping[str, Any]) -> dict[str, Any]:
    pricing = q.get("pricing") or {}
    return {"policy_no": p["policy_no"], "scene_key": p["scene_key"], "cover_start": p["cover_start"],
            "cover_end": p["cover_end"], "sum_assured_fen": p["sum_assured_fen"], "premium_fen": p["premium_fen"],
            "basis": pricing.get("basis") or {}, "bound_at": p["bound_at"]}


def public_claim(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("claim_id", "policy_no", "source", "event_type", "occurred_at", "status", "reason",
                                "trigger_id", "created_at")} | {"amount": yuan(row["amount_fen"]),
                                                                 "amount_fen": row["amount_fen"]}


def _when(value: Any, field: str) -> datetime:
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field}: an ISO 8601 time with offset", field=field) from None
    if at.tzinfo is None:
        raise InvalidInput(f"{field}: needs a time zone offset", field=field)
    try:
        today(at), stamp(at)  # year 1 or 9999 with an offset has no date in Beijing or UTC
    except OverflowError:
        raise InvalidInput(f"{field}: outside the years 1 to 9999 in UTC", field=field) from None
    return at


def notice(engine: Engine, caller: Caller, policy_no: str, event_type: str, occurred_at: Any,
           details: Mapping[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """A claim notice (报案): recorded for the insurer's claims staff; the partner hears by webhook."""
    check(caller, "claim")
    moment = now or now_utc()
    p = own_policy(engine, caller, policy_no)
    at = _when(occurred_at, "occurred_at")
    day = today(at)
    if not date.fromisoformat(p["cover_start"]) <= day <= date.fromisoformat(p["cover_end"]):
        raise InvalidInput(f"occurred_at: {day} is outside the cover ({p['cover_start']} to {p['cover_end']})",
                           field="occurred_at")
    if p["status"] == "cancelled" and p["cancelled_at"] and stamp(at) >= p["cancelled_at"]:
        raise InvalidInput("occurred_at: after the policy was cancelled", field="occurred_at")
    row = {"claim_id": _new_id("CL", caller.mode), "policy_no": policy_no, "partner_id": caller.partner_id,
           "source": "notice", "event_type": str(event_type)[:32], "occurred_at": stamp(at),
           "details": _plain(dict(details or {})), "amount_fen": None, "status": "noticed", "reason": None,
           "trigger_id": None, "created_at": stamp(moment)}
    store.add_claim(engine, row)
    out = public_claim(row)
    _emit(engine, caller.partner_id, caller.mode, "claim.noticed", out)
    return out


def trigger_key(trigger: Mapping[str, Any]) -> str:
    kind = trigger.get("type")
    if kind == "return_shipped":
        if not trigger.get("order_no"):
            raise InvalidInput("order_no: missing (return_shipped names the order)", field="order_no")
        return str(trigger["order_no"])
    if kind in ("flight_delayed", "flight_cancelled"):
        for name in ("flight_no", "departure_date"):
            if not trigger.get(name):
                raise InvalidInput(f"{name}: missing ({kind} names the flight and its date)", field=name)
        return f"{trigger['flight_no']}:{trigger['departure_date']}"
    raise InvalidInput(f"type: unknown trigger {kind!r:.40}; valid: return_shipped, flight_delayed, "
                       "flight_cancelled", field="type")


def on_trigger(engine: Engine, partner_id: str, mode: str, trigger: Mapping[str, Any],
               now: datetime | None = None) -> list[dict[str, Any]]:
    """Automatic claims for the partner's policies the trigger names; one per policy and trigger id
    (a repeated trigger returns the claims it made before)."""
    from shouhu.partners.scene import automatic_claim

    moment = now or now_utc()
    trigger_id = str(trigger.get("id") or "").strip()
    if not 1 <= len(trigger_id) <= 128:
        raise InvalidInput("id: the trigger's own id, 1 to 128 characters (one claim per policy and id)", field="id")
    key = trigger_key(trigger)
    made = []
    for p in store.policies_for_trigger(engine, partner_id, mode, key):
        before = store.claim_for_trigger(engine, p["policy_no"], trigger_id)
        if before is not None:
            made.append(public_claim(before))
            continue
        item = product(p["product_code"])
        if str(trigger["type"]) not in item.automatic_claims:
            continue
        payout = automatic_claim(item, _claim_view(p, store.get_quote(engine, p["quote_id"]) or {}), trigger)
        if payout is None:
            continue
        row = {"claim_id": _new_id("CL", mode), "policy_no": p["policy_no"], "partner_id": partner_id,
               "source": "automatic", "event_type": payout.event_type, "occurred_at": stamp(moment),
               "details": _plain(payout.details), "amount_fen": payout.amount_fen, "status": "approved",
               "reason": payout.reason_zh, "trigger_id": trigger_id, "created_at": stamp(moment)}
        try:
            store.add_claim(engine, row)
        except IntegrityError:  # the same trigger at the same time: the other request made the claim
            again = store.claim_for_trigger(engine, p["policy_no"], trigger_id)
            if again is not None:
                made.append(public_claim(again))
            continue
        out = public_claim(row)
        made.append(out)
        _emit(engine, partner_id, mode, "claim.approved", out)
    return made


def trigger(engine: Engine, caller: Caller, body: Mapping[str, Any], now: datetime | None = None
            ) -> list[dict[str, Any]]:
    check(caller, "trigger")
    return on_trigger(engine, caller.partner_id, caller.mode, body, now)


def applicant_of(engine: Engine, cipher: FieldCipher, policy_no: str) -> dict[str, str]:
    """The applicant's details in clear (staff reveal; the caller audits it)."""
    p = store.get_policy(engine, policy_no)
    if p is None:
        raise UnknownName("policy", policy_no, [])
    return dict(json.loads(cipher.decrypt(p["applicant"]) or "{}"))



DISCLOSURES = Path(__file__).parent / "disclosures"
_KINDS = {"notice": "notice", "terms": "terms", "exclusions": "exclusions", "health_notice": "health_notice"}


def publish_disclosures(engine: Engine, by: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Publish the shipped disclosure pages of every scene product as traceability page versions (an
    unchanged page adds no version; edit the files, or publish your own with ``shouhu trace publish``)."""
    from shouhu.partners.products import products

    done = []
    for item in products().values():
        for code in item.disclosures:
            path = DISCLOSURES / f"{code}.md"
            kind = _KINDS.get(code.split("_", 1)[1], "other")
            content = path.read_text(encoding="utf-8")
            title = content.splitlines()[0].lstrip("# ").strip()
            done.append(trace.publish_page(engine, code, kind, title, content, by, now, source=str(path)))
    return done
