"""Signed webhooks to partners: endpoints, an event queue with delivery attempts, retries with backoff, ping,
disable/enable and replay. User guide: docs/partners.md ("Webhooks").

Every delivery is an HTTP ``POST`` of the event's JSON envelope ``{"id", "type", "created", "mode", "data"}``,
serialised once when the event is emitted (the stored bytes are the bytes sent, on every attempt and replay),
with three headers::

    Shouhu-Webhook-Id: evt_...              the event id: the same on retries and replays (de-duplicate on it)
    Shouhu-Webhook-Timestamp: 1796608800    Unix seconds when this attempt was signed
    Shouhu-Signature: v1=<hex> [v1=<hex>]   HMAC-SHA256(secret, f"{id}.{timestamp}." + body), one per secret

The key is the endpoint secret (``whsec_...``) as UTF-8 bytes. During a secret rotation both secrets sign, so
the header carries two ``v1=`` values; a receiver accepts the request when any one matches. Partners check
requests with :func:`verify` (or the same few lines in their own language).

A 2xx answer is a success; anything else (another status, a redirect, which is never followed, a timeout, a
refused connection, a TLS error) is a failed attempt, retried after ``RETRY_SCHEDULE`` (each delay lengthened
by up to ``JITTER``), and the delivery is ``dead`` when the schedule is used up. Only ids and status codes are
logged, never secrets, URLs or bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine

from shouhu.errors import InvalidInput, UnknownName
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import webhooks as store

log = logging.getLogger(__name__)

HEADER_ID = "Shouhu-Webhook-Id"
HEADER_TIMESTAMP = "Shouhu-Webhook-Timestamp"
HEADER_SIGNATURE = "Shouhu-Signature"
TOLERANCE = 300  # seconds a signed timestamp may be away from the receiver's clock, either way
TIMEOUT = 10.0  # seconds to connect and to wait for each read of the answer
# Delay after the 1st, 2nd, ... failed attempt: 9 attempts over about 2.9 days (68 h 36 min without jitter).
RETRY_SCHEDULE = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                  timedelta(hours=6), timedelta(hours=12), timedelta(hours=24), timedelta(hours=24))
JITTER = 0.1  # each delay is lengthened by a random 0-10 %, so that a recovered endpoint is not hit all at once
DISABLE_AFTER = 20  # an endpoint is disabled when a delivery dies while it has failed this many attempts in a row
ROTATION_OVERLAP = timedelta(hours=24)
CHUNK = 10  # deliveries claimed at a time; the lease covers sending all of them
EVENT_TYPES: dict[str, tuple[str, str]] = {
    "policy.bound": ("保单已承保", "Policy bound"),
    "policy.changed": ("保单已批改", "Policy changed"),
    "policy.cancelled": ("保单已退保", "Policy cancelled"),
    "claim.noticed": ("已报案", "Claim noticed"),
    "claim.approved": ("理赔已核准", "Claim approved"),
    "claim.rejected": ("理赔已拒绝", "Claim rejected"),
    "ping": ("连通性测试", "Ping (sent by ping only, to one endpoint)"),
}
MODES = ("sandbox", "production")
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# (url, body, headers, timeout) -> HTTP status; raises OSError (timeouts, refused connections, TLS) or
# http.client.HTTPException when no answer came.
Send = Callable[[str, bytes, Mapping[str, str], float], int]


class WebhookSignatureError(InvalidInput):
    """A webhook request that must be refused. ``reason`` is stable: ``missing_header``, ``invalid_timestamp``,
    ``stale_timestamp`` (older or newer than the tolerance) or ``bad_signature``."""

    code = "webhook_signature_invalid"

    def __init__(self, message: str, reason: str, **data: Any) -> None:
        super().__init__(message, reason=reason, **data)
        self.reason = reason


# --- signing (what partners use) ------------------------------------------------------------------------

def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 with key ``secret`` (UTF-8) over ``f"{webhook_id}.{timestamp}."`` followed by the body."""
    return hmac.new(secret.encode(), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets_: Sequence[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>`` for each secret, space-separated."""
    return " ".join(f"v1={sign(s, webhook_id, timestamp, body)}" for s in secrets_)


def verify(secret: str | Sequence[str], headers: Mapping[str, str], body: bytes,
           now: datetime | float | None = None, tolerance: int = TOLERANCE) -> None:
    """Check a webhook request; returns None when it is genuine, else raises :class:`WebhookSignatureError`.

    ``secret``: the endpoint secret (or several, while you roll one over yourself). ``headers``: the request
    headers, any case (e.g. ``dict(request.headers)``). ``body``: the raw bytes received, before any JSON
    parsing. ``now``: the receiver's clock (default: the system clock). The timestamp must be within
    ``tolerance`` seconds (5 minutes) of ``now`` either way, which stops old requests being replayed.
    """
    found = {k.lower(): v for k, v in headers.items()}
    for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE):
        if not found.get(name.lower()):
            raise WebhookSignatureError(f"webhook header {name} is missing", "missing_header", header=name)
    raw = found[HEADER_TIMESTAMP.lower()].strip()
    if not raw.isdigit() or len(raw) > 12:
        raise WebhookSignatureError(f"{HEADER_TIMESTAMP} is not Unix seconds", "invalid_timestamp")
    clock = time.time() if now is None else now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(clock - int(raw)) > tolerance:
        raise WebhookSignatureError(f"{HEADER_TIMESTAMP} is more than {tolerance} s away from now",
                                    "stale_timestamp", tolerance=tolerance)
    keys = [secret] if isinstance(secret, str) else list(secret)
    expected = [sign(k, found[HEADER_ID.lower()], int(raw), body) for k in keys]
    given = [part[3:] for part in re.split(r"[\s,]+", found[HEADER_SIGNATURE.lower()]) if part.startswith("v1=")]
    if not any(hmac.compare_digest(g, e) for g in given for e in expected):
        raise WebhookSignatureError("webhook signature does not match", "bad_signature")


def new_secret() -> str:
    """``whsec_`` and 32 random bytes, URL-safe base64 without padding (49 characters)."""
    return "whsec_" + secrets.token_urlsafe(32)


# --- endpoints -----------------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def check_url(url: str, allow_http: bool = False) -> str:
    """An endpoint URL: https; plain http only with ``allow_http`` (sandbox) or to 127.0.0.1/localhost. No
    user:password part, no fragment; link-local hosts (cloud metadata) are refused."""
    url = (url or "").strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if len(url) > 2048 or parts.scheme not in ("https", "http") or not host:
        raise InvalidInput("url: an absolute https:// URL of at most 2048 characters", field="url")
    if parts.scheme == "http" and not allow_http and host not in LOOPBACK:
        raise InvalidInput("url: must be https (plain http only in the sandbox or to localhost)", field="url")
    if parts.username is not None or parts.fragment:
        raise InvalidInput("url: no user:password@ part and no #fragment", field="url")
    try:
        link_local = ipaddress.ip_address(host).is_link_local
    except ValueError:
        link_local = False
    if link_local:
        raise InvalidInput("url: link-local addresses are refused", field="url")
    return url


def _events(events: Sequence[str]) -> list[str]:
    chosen = sorted({str(e).strip() for e in events if str(e).strip()})
    if chosen == ["*"]:
        return chosen
    valid = [t for t in EVENT_TYPES if t != "ping"]
    bad = [e for e in chosen if e not in valid]
    if not chosen or bad:
        raise InvalidInput(f"events: a list of {', '.join(valid)}, or [\"*\"] for all", field="events")
    return chosen


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "secret"}


def _endpoint(engine: Engine | Connection, endpoint_id: str, partner_id: str | None) -> dict[str, Any]:
    row = store.get_endpoint(engine, endpoint_id)
    if row is None or (partner_id is not None and row["partner_id"] != partner_id):
        raise UnknownName("webhook endpoint", endpoint_id,
                          [e["endpoint_id"] for e in store.endpoints_of(engine, partner_id)] if partner_id else [])
    return row


def _seal(cipher: FieldCipher, keys: Sequence[Mapping[str, str | None]]) -> str:
    sealed = cipher.encrypt(json.dumps({"secrets": [dict(k) for k in keys]}))
    assert sealed is not None
    return sealed


def _keys(cipher: FieldCipher, sealed: str) -> list[dict[str, str | None]]:
    return list(json.loads(cipher.decrypt(sealed) or "{}").get("secrets", []))


def signing_secrets(cipher: FieldCipher, sealed: str, now: datetime) -> list[str]:
    """The secrets that sign now: the current one first, then a rotated-out one until its overlap ends."""
    at = store.stamp(now)
    return [str(k["secret"]) for k in _keys(cipher, sealed) if k.get("until") is None or str(k["until"]) > at]


def add_endpoint(engine: Engine, cipher: FieldCipher, partner_id: str, url: str, events: Sequence[str], *,
                 allow_http: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Register an endpoint, enabled; the returned ``secret`` is the only time it is shown (it is stored sealed
    with the field cipher)."""
    at = store.stamp(now or _now())
    secret = new_secret()
    row = {"endpoint_id": f"whe_{secrets.token_hex(10)}", "partner_id": partner_id,
           "url": check_url(url, allow_http), "events": _events(events), "enabled": True, "disabled_reason": None,
           "failures_in_row": 0, "created_at": at, "updated_at": at}
    store.add_endpoint(engine, row | {"secret": _seal(cipher, [{"secret": secret, "until": None}])})
    return row | {"secret": secret}


def get_endpoint(engine: Engine, endpoint_id: str, *, partner_id: str | None = None) -> dict[str, Any]:
    """One endpoint, without its secret; with ``partner_id``, only that partner's."""
    return _public(_endpoint(engine, endpoint_id, partner_id))


def list_endpoints(engine: Engine, partner_id: str) -> list[dict[str, Any]]:
    return [_public(e) for e in store.endpoints_of(engine, partner_id)]


def update_endpoint(engine: Engine, endpoint_id: str, *, url: str | None = None, events: Sequence[str] | None = None,
                    allow_http: bool = False, partner_id: str | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Change an endpoint's URL or event types (new events only; queued deliveries keep theirs)."""
    _endpoint(engine, endpoint_id, partner_id)
    values: dict[str, Any] = {"updated_at": store.stamp(now or _now())}
    if url is not None:
        values["url"] = check_url(url, allow_http)
    if events is not None:
        values["events"] = _events(events)
    store.update_endpoint(engine, endpoint_id, values)
    return get_endpoint(engine, endpoint_id)


def rotate_secret(engine: Engine, cipher: FieldCipher, endpoint_id: str, *, overlap: timedelta = ROTATION_OVERLAP,
                  partner_id: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """A new secret (returned once, as ``secret``). The current one keeps signing too for ``overlap`` (two
    ``v1=`` signatures), so the partner can switch without refusing a request; earlier ones stop at once."""
    at = now or _now()
    row = _endpoint(engine, endpoint_id, partner_id)
    until = store.stamp(at + overlap)
    current = signing_secrets(cipher, row["secret"], at)[:1]
    secret = new_secret()
    keys: list[Mapping[str, str | None]] = [{"secret": secret, "until": None}]
    keys += [{"secret": s, "until": until} for s in current if overlap > timedelta(0)]
    store.update_endpoint(engine, endpoint_id, {"secret": _seal(cipher, keys), "updated_at": store.stamp(at)})
    return _public(row) | {"secret": secret, "previous_valid_until": until if len(keys) > 1 else None}


def disable(engine: Engine, endpoint_id: str, reason: str = "disabled by the partner", *,
            partner_id: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Stop sending to an endpoint. It gets no new deliveries; its pending ones wait (they are not cancelled)
    and go out when it is enabled again."""
    _endpoint(engine, endpoint_id, partner_id)
    with engine.begin() as conn:
        store.disable_endpoint(conn, endpoint_id, reason[:500], now or _now())
    log.info("webhook endpoint %s disabled", endpoint_id)
    return get_endpoint(engine, endpoint_id)


def enable(engine: Engine, endpoint_id: str, *, partner_id: str | None = None,
           now: datetime | None = None) -> dict[str, Any]:
    """Send to the endpoint again: its failure count is cleared and its waiting deliveries are due at once
    (``waiting`` says how many)."""
    _endpoint(engine, endpoint_id, partner_id)
    waiting = store.enable_endpoint(engine, endpoint_id, now or _now())
    log.info("webhook endpoint %s enabled, %d deliveries waiting", endpoint_id, waiting)
    return get_endpoint(engine, endpoint_id) | {"waiting": waiting}


# --- events --------------------------------------------------------------------------------------------

def envelope(event_id: str, type_: str, created: str, mode: str, data: Mapping[str, Any]) -> str:
    """The body of every delivery of an event: canonical JSON (sorted keys, no spaces, UTF-8 text)."""
    return json.dumps({"id": event_id, "type": type_, "created": created, "mode": mode, "data": dict(data)},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _targets(endpoints: Sequence[Mapping[str, Any]], type_: str, mode: str) -> list[Mapping[str, Any]]:
    """Enabled endpoints subscribed to ``type_``; production events never go over plain http off this machine."""
    return [e for e in endpoints if e["enabled"] and ("*" in e["events"] or type_ in e["events"])
            and (mode != "production" or e["url"].startswith("https://") or urlsplit(e["url"]).hostname in LOOPBACK)]


def _delivery(event_id: str, endpoint_id: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"delivery_id": f"whd_{secrets.token_hex(10)}", "event_id": event_id, "endpoint_id": endpoint_id,
            "state": "pending", "attempts": 0, "next_at": at, "created_at": at} | extra


def _add_event(conn: Connection, partner_id: str, mode: str, type_: str, payload: Mapping[str, Any],
               at: str) -> str:
    if mode not in MODES:
        raise InvalidInput(f"mode: sandbox or production, not {mode!r:.20}", field="mode")
    if type_ not in EVENT_TYPES:
        raise UnknownName("webhook event type", type_, list(EVENT_TYPES))
    event_id = f"evt_{secrets.token_hex(12)}"
    try:
        body = envelope(event_id, type_, at, mode, payload)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"payload: not JSON-serialisable ({type(e).__name__})", field="payload") from None
    store.add_event(conn, {"event_id": event_id, "partner_id": partner_id, "mode": mode, "type": type_,
                           "payload": body, "created_at": at})
    return event_id


def emit(db: Engine | Connection, partner_id: str, mode: str, type_: str, payload: Mapping[str, Any], *,
         now: datetime | None = None) -> str:
    """Queue an event for every enabled endpoint of the partner subscribed to ``type_``; returns its id.

    Pass a ``Connection`` to emit inside your own transaction (the event exists only if the policy change it
    announces is committed). ``payload`` becomes ``data``: ids, codes and amounts, never personal data in clear.
    Nothing is sent here: :func:`deliver_due` sends.
    """
    if type_ == "ping":
        raise InvalidInput("type: ping events are sent by ping(), to one endpoint", field="type")
    if isinstance(db, Engine):
        with db.begin() as conn:
            return emit(conn, partner_id, mode, type_, payload, now=now)
    at = store.stamp(now or _now())
    event_id = _add_event(db, partner_id, mode, type_, payload, at)
    store.add_deliveries(db, [_delivery(event_id, e["endpoint_id"], at)
                              for e in _targets(store.endpoints_of(db, partner_id), type_, mode)])
    return event_id


def replay(engine: Engine, target_id: str, *, endpoint_id: str | None = None, partner_id: str | None = None,
           now: datetime | None = None) -> list[str]:
    """Send an event again: ``target_id`` is a delivery (sent again to its endpoint) or an event (sent again to
    each endpoint that had it, or only ``endpoint_id``). The body and ``Shouhu-Webhook-Id`` are the original
    ones; the timestamp and signature are fresh. New deliveries (``replay_of`` = the one replayed) are due at
    once; returns their ids. Disabled endpoints are refused: enable them first."""
    at = store.stamp(now or _now())
    original = store.get_delivery(engine, target_id)
    event_id = original["event_id"] if original else target_id
    event = store.get_event(engine, event_id)
    if event is None or (partner_id is not None and event["partner_id"] != partner_id):
        raise UnknownName("webhook event or delivery", target_id, [])
    earlier = [original] if original else store.deliveries_of_event(engine, event_id)
    latest = {d["endpoint_id"]: d["delivery_id"] for d in earlier}  # oldest first, so the newest wins
    wanted = [endpoint_id] if endpoint_id else sorted(latest)
    if not wanted:
        raise InvalidInput(f"event {event_id} was never delivered: name the endpoint_id to send it to",
                           field="endpoint_id")
    rows = []
    for eid in wanted:
        found = _endpoint(engine, eid, event["partner_id"])
        if not found["enabled"]:
            raise InvalidInput(f"webhook endpoint {eid} is disabled: enable it before replaying", field="endpoint_id")
        rows.append(_delivery(event_id, eid, at, replay_of=latest.get(eid)))
    with engine.begin() as conn:
        store.add_deliveries(conn, rows)
    return [r["delivery_id"] for r in rows]


# --- delivery ------------------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the 3xx it is (a failed attempt), never followed."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Message, newurl: str) -> None:
        return None


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST with the standard library; the HTTP status. Proxies come from ``HTTPS_PROXY``/``NO_PROXY`` except
    for 127.0.0.1/localhost; certificates are checked against the system store."""
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if urlsplit(url).hostname in LOOPBACK:
        handlers.append(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "shouhu-webhooks/1", **headers})
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as answer:
            answer.read(65536)  # the answer's text is not kept
            return int(answer.status)
    except urllib.error.HTTPError as e:
        e.close()
        return int(e.code)


def _failure(exc: BaseException) -> str:
    """A short, safe description of a failed exchange (no URL, no answer text)."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException) else exc
    if isinstance(reason, TimeoutError):
        return "timeout"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return f"no answer ({type(reason).__name__})"


def _exchange(send: Send, url: str, body: bytes, headers: Mapping[str, str],
              timeout: float) -> tuple[int | None, str | None]:
    try:
        status = send(url, body, headers, timeout)
    except (OSError, http.client.HTTPException, ValueError) as e:
        return None, _failure(e)
    if 200 <= status < 300:
        return status, None
    return status, f"redirect not followed (HTTP {status})" if 300 <= status < 400 else f"HTTP {status}"


def retry_at(failed: int, at: datetime, rng: random.Random | None = None) -> datetime | None:
    """When to try again after the ``failed``-th failed attempt; None when the schedule is used up (dead)."""
    if failed > len(RETRY_SCHEDULE):
        return None
    delay = RETRY_SCHEDULE[failed - 1]
    return at + delay * (1 + JITTER * (rng or random).random())


def _attempt(engine: Engine, cipher: FieldCipher, item: Mapping[str, Any], worker: str, at: datetime, send: Send,
             timeout: float, *, counts: bool = True, disable_after: int = DISABLE_AFTER,
             rng: random.Random | None = None) -> dict[str, Any]:
    """Sign and send one leased delivery, then record the attempt and its outcome."""
    body = str(item["payload"]).encode()
    ts = int(at.timestamp())
    headers = {HEADER_ID: item["event_id"], HEADER_TIMESTAMP: str(ts),
               HEADER_SIGNATURE: signature_header(signing_secrets(cipher, item["secret"], at), item["event_id"], ts,
                                                  body)}
    started = time.monotonic()
    status, error = _exchange(send, item["url"], body, headers, timeout)
    n = int(item["attempts"]) + 1
    row = {"n": n, "at": store.stamp(at), "status_code": status, "error": error,
           "duration_ms": int((time.monotonic() - started) * 1000)}
    values: dict[str, Any] = {"attempts": n, "last_status": status, "last_error": error}
    later = retry_at(n, at, rng) if counts else None
    if error is None:
        values |= {"state": "delivered", "delivered_at": store.stamp(at)}
    else:
        values |= {"state": "pending", "next_at": store.stamp(later)} if later else {"state": "dead"}
    disabled = False
    with engine.begin() as conn:
        kept = store.finish_attempt(conn, item["delivery_id"], worker, values, row)
        if kept and counts and error is None:
            store.reset_failures(conn, item["endpoint_id"], at)
        elif kept and counts:
            failures = store.count_failure(conn, item["endpoint_id"], at)
            if values["state"] == "dead" and failures >= disable_after:
                disabled = store.disable_endpoint(
                    conn, item["endpoint_id"], f"disabled automatically after {failures} failed attempts in a row "
                    f"(last: {error}) at {store.stamp(at)}", at)
    log.info("webhook delivery %s (event %s, endpoint %s) attempt %d: %s", item["delivery_id"], item["event_id"],
             item["endpoint_id"], n, error or status)
    state = values["state"] if kept else "lost"
    return row | {"delivery_id": item["delivery_id"], "event_id": item["event_id"],
                  "endpoint_id": item["endpoint_id"], "state": state, "ok": error is None,
                  "endpoint_disabled": disabled}


def deliver_due(engine: Engine, cipher: FieldCipher, *, now: datetime | None = None, worker: str = "webhooks",
                limit: int = 100, send: Send | None = None, timeout: float = TIMEOUT,
                disable_after: int = DISABLE_AFTER, rng: random.Random | None = None) -> dict[str, Any]:
    """Send up to ``limit`` due deliveries of enabled endpoints, ``CHUNK`` leased at a time to ``worker``.

    Returns counts (``claimed``, ``delivered``, ``retrying``, ``dead``, ``lost``: taken over by another worker
    after the lease ran out) and the endpoints ``disabled`` automatically. ``now`` fixes the clock (tests,
    catch-up runs); by default each chunk reads the system clock. ``send`` replaces the HTTP client.
    """
    summary: dict[str, Any] = {"claimed": 0, "delivered": 0, "retrying": 0, "dead": 0, "lost": 0, "disabled": []}
    names = {"delivered": "delivered", "pending": "retrying", "dead": "dead", "lost": "lost"}
    while summary["claimed"] < limit:
        at = now or _now()
        size = min(CHUNK, limit - summary["claimed"])
        lease = timedelta(seconds=timeout * size + 60)
        ids = store.claim_due(engine, worker, at, at + lease, size)
        summary["claimed"] += len(ids)
        for item in store.work_items(engine, ids):
            done = _attempt(engine, cipher, item, worker, now or _now(), send or post, timeout,
                            disable_after=disable_after, rng=rng)
            summary[names[done["state"]]] += 1
            if done["endpoint_disabled"]:
                summary["disabled"].append(done["endpoint_id"])
        if len(ids) < size:
            break
    return summary


def ping(engine: Engine, cipher: FieldCipher, endpoint_id: str, *, mode: str = "sandbox",
         partner_id: str | None = None, now: datetime | None = None, send: Send | None = None,
         timeout: float = TIMEOUT) -> dict[str, Any]:
    """Send a ``ping`` event to this endpoint only, at once (enabled or not), and return the attempt
    (``ok``, ``status_code``, ``error``, ``duration_ms``, ids). A ping is tried once: it is not retried and does
    not count towards the endpoint's failures."""
    at = now or _now()
    row = _endpoint(engine, endpoint_id, partner_id)
    worker = f"ping:{secrets.token_hex(6)}"
    with engine.begin() as conn:
        event_id = _add_event(conn, row["partner_id"], mode, "ping", {"endpoint_id": endpoint_id}, store.stamp(at))
        first = _delivery(event_id, endpoint_id, store.stamp(at), locked_by=worker,
                          locked_until=store.stamp(at + timedelta(seconds=timeout + 60)))
        store.add_deliveries(conn, [first])
    item = store.work_items(engine, [first["delivery_id"]])[0]
    return _attempt(engine, cipher, item, worker, at, send or post, timeout, counts=False)


# --- listings ------------------------------------------------------------------------------------------

def deliveries(engine: Engine, partner_id: str, *, endpoint_id: str | None = None, event_id: str | None = None,
               state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """A partner's deliveries, newest first (state, attempts, last status and error, next try, replay_of)."""
    return store.deliveries_of(engine, partner_id, endpoint_id=endpoint_id, event_id=event_id, state=state,
                               limit=limit)


def attempts(engine: Engine, delivery_id: str, *, partner_id: str | None = None) -> list[dict[str, Any]]:
    """The attempts of one delivery, in order: when, the HTTP status (None: no answer), error, duration."""
    found = store.get_delivery(engine, delivery_id)
    if found is None or (partner_id is not None and found["partner_id"] != partner_id):
        raise UnknownName("webhook delivery", delivery_id, [])
    return store.attempts_of(engine, delivery_id)


def event(engine: Engine, event_id: str, *, partner_id: str | None = None) -> dict[str, Any]:
    """One event with its envelope decoded (``body``: exactly what is sent)."""
    found = store.get_event(engine, event_id)
    if found is None or (partner_id is not None and found["partner_id"] != partner_id):
        raise UnknownName("webhook event", event_id, [])
    return found | {"body": json.loads(found["payload"])}
