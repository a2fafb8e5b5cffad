"""Signed webhooks: signature known answers and verification, delivery to a real local HTTP server with retries
on the documented schedule, failures (refused, timeout, redirect), dead deliveries, automatic disable and
enable, ping, replay, concurrent workers (PostgreSQL) and sealed secrets. Times are driven explicitly."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from shouhu.errors import InvalidInput, UnknownName
from shouhu.partners import webhooks as wh
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import serving
from shouhu.storage import webhooks as store

CIPHER = FieldCipher.from_text(FieldCipher.new_key_text())
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
DOC = Path(__file__).parents[2] / "docs"


@pytest.fixture
def db(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass
class Receiver:
    """A partner's endpoint: answers from ``script`` (then 200), checks every signature with ``verify``."""

    url: str
    server: ThreadingHTTPServer
    secrets: list[str] = field(default_factory=list)
    now: datetime = T0
    script: list[int | str] = field(default_factory=list)
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        return [r["headers"][wh.HEADER_ID.lower()] for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = box[0]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                wh.verify(rec.secrets, headers, body, now=rec.now)
                verdict = "ok"
            except wh.WebhookSignatureError as e:
                verdict = e.reason
            with rec.lock:
                rec.requests.append({"headers": headers, "body": body, "verdict": verdict})
                answer = rec.script.pop(0) if rec.script else 200
            if answer == "slow":
                time.sleep(1.0)
                answer = 200
            if rec.delay:
                time.sleep(rec.delay)
            self.send_response(int(answer))
            if 300 <= int(answer) < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks", server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def endpoint_for(db: Engine, rec: Receiver, events: list[str] | None = None, partner: str = "p1") -> dict[str, Any]:
    ep = wh.add_endpoint(db, CIPHER, partner, rec.url, events or ["*"], now=T0)
    rec.secrets.append(ep["secret"])
    return ep


def only_delivery(db: Engine, event_id: str) -> dict[str, Any]:
    (found,) = store.deliveries_of_event(db, event_id)
    return found


def deliver(db: Engine, rec: Receiver | None, at: datetime, **kw: Any) -> dict[str, Any]:
    if rec is not None:
        rec.now = at
    return wh.deliver_due(db, CIPHER, now=at, **kw)


# --- signing and verification (no database) -------------------------------------------------------------

def test_signature_known_answer() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"whsec_test-secret", b"evt_0001.1796608800." + body, hashlib.sha256).hexdigest()
    assert wh.sign("whsec_test-secret", "evt_0001", 1796608800, body) == expected
    assert expected == "fed242052da531f0a1e382d86287945c8bf86b459148ea107a384a388da6e54c"
    both = f"v1={wh.sign('a', 'e', 1, b'')} v1={wh.sign('b', 'e', 1, b'')}"
    assert wh.signature_header(["a", "b"], "e", 1, b"") == both


def _signed(secret: str, body: bytes, ts: int, webhook_id: str = "evt_1") -> dict[str, str]:
    return {wh.HEADER_ID: webhook_id, wh.HEADER_TIMESTAMP: str(ts),
            wh.HEADER_SIGNATURE: f"v1={wh.sign(secret, webhook_id, ts, body)}"}


def _reason(secret: str | list[str], headers: dict[str, str], body: bytes, now: float) -> str:
    with pytest.raises(InvalidInput) as caught:
        wh.verify(secret, headers, body, now=now)
    assert isinstance(caught.value, wh.WebhookSignatureError)
    return caught.value.reason


def test_verify_accepts_genuine_and_rejects_the_rest() -> None:
    secret, body, ts = wh.new_secret(), b'{"data":{"policy_no":"P1"},"id":"evt_1"}', 1796608800
    headers = _signed(secret, body, ts)
    wh.verify(secret, headers, body, now=ts + 299)
    wh.verify(secret, {k.upper(): v for k, v in headers.items()}, body, now=datetime.fromtimestamp(ts, UTC))
    assert _reason(secret, headers, body + b" ", ts) == "bad_signature"
    assert _reason(secret, headers, body.replace(b"P1", b"P2"), ts) == "bad_signature"
    assert _reason(wh.new_secret(), headers, body, ts) == "bad_signature"
    assert _reason(secret, headers | {wh.HEADER_ID: "evt_2"}, body, ts) == "bad_signature"
    assert _reason(secret, headers | {wh.HEADER_SIGNATURE: "v0=" + headers[wh.HEADER_SIGNATURE][3:]}, body,
                   ts) == "bad_signature"
    assert _reason(secret, headers, body, ts + 301) == "stale_timestamp"  # old
    assert _reason(secret, headers, body, ts - 301) == "stale_timestamp"  # from the future
    assert _reason(secret, headers | {wh.HEADER_TIMESTAMP: "soon"}, body, ts) == "invalid_timestamp"
    for name in (wh.HEADER_ID, wh.HEADER_TIMESTAMP, wh.HEADER_SIGNATURE):
        assert _reason(secret, {k: v for k, v in headers.items() if k != name}, body, ts) == "missing_header"


def test_verify_accepts_either_of_two_signatures() -> None:
    old, new, body, ts = wh.new_secret(), wh.new_secret(), b"{}", 1796608800
    headers = _signed(old, body, ts)
    headers[wh.HEADER_SIGNATURE] = wh.signature_header([new, old], "evt_1", ts, body)
    wh.verify(old, headers, body, now=ts)
    wh.verify(new, headers, body, now=ts)
    wh.verify([wh.new_secret(), new], headers, body, now=ts)
    assert _reason(wh.new_secret(), headers, body, ts) == "bad_signature"


def test_secrets_and_urls() -> None:
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", wh.new_secret())
    assert wh.new_secret() != wh.new_secret()
    assert wh.check_url("https://partner.example.com/hooks?x=1") == "https://partner.example.com/hooks?x=1"
    assert wh.check_url("http://127.0.0.1:8080/h").startswith("http://")
    assert wh.check_url("http://sandbox.example.com/h", allow_http=True)
    for bad in ("http://partner.example.com/h", "ftp://x/y", "https://user:pw@x.example/h", "/relative",
                "https://169.254.169.254/latest", "https://x.example/h#frag"):
        with pytest.raises(InvalidInput):
            wh.check_url(bad)


def test_retry_schedule_is_bounded() -> None:
    import random

    rng = random.Random(3)
    for n, delay in enumerate(wh.RETRY_SCHEDULE, start=1):
        at = wh.retry_at(n, T0, rng)
        assert at is not None and delay <= at - T0 <= delay * 1.1
    assert wh.retry_at(len(wh.RETRY_SCHEDULE) + 1, T0) is None
    assert timedelta(days=2, hours=20) < sum(wh.RETRY_SCHEDULE, timedelta()) < timedelta(days=3)


# --- delivery to a real HTTP server --------------------------------------------------------------------

def test_retries_at_the_scheduled_times_then_delivered_once(db: Engine, receiver: Receiver) -> None:
    ep = endpoint_for(db, receiver)
    receiver.script = [500, 500]
    event_id = wh.emit(db, "p1", "sandbox", "policy.bound", {"policy_no": "P1", "premium_fen": 990}, now=T0)

    assert deliver(db, receiver, T0)["retrying"] == 1
    first = only_delivery(db, event_id)
    assert (first["state"], first["attempts"], first["last_status"]) == ("pending", 1, 500)
    due = store.parse_stamp(first["next_at"])
    assert T0 + timedelta(minutes=1) <= due <= T0 + timedelta(minutes=1, seconds=6)
    assert deliver(db, receiver, due - timedelta(seconds=1))["claimed"] == 0  # not before its time

    assert deliver(db, receiver, due)["retrying"] == 1
    second = only_delivery(db, event_id)
    due2 = store.parse_stamp(second["next_at"])
    assert due + timedelta(minutes=5) <= due2 <= due + timedelta(minutes=5, seconds=30)
    assert deliver(db, receiver, due2)["delivered"] == 1
    assert deliver(db, receiver, due2 + timedelta(days=5))["claimed"] == 0

    done = only_delivery(db, event_id)
    assert (done["state"], done["attempts"], done["delivered_at"]) == ("delivered", 3, store.stamp(due2))
    assert [a["status_code"] for a in wh.attempts(db, done["delivery_id"], partner_id="p1")] == [500, 500, 200]
    assert [r["verdict"] for r in receiver.requests] == ["ok"] * 3
    assert receiver.ids() == [event_id] * 3
    assert {r["body"] for r in receiver.requests} == {wh.event(db, event_id)["payload"].encode()}
    assert json.loads(receiver.requests[0]["body"]) == {
        "id": event_id, "type": "policy.bound", "created": store.stamp(T0), "mode": "sandbox",
        "data": {"policy_no": "P1", "premium_fen": 990}}
    assert len({r["headers"][wh.HEADER_TIMESTAMP.lower()] for r in receiver.requests}) == 3
    assert wh.get_endpoint(db, ep["endpoint_id"])["failures_in_row"] == 0


def test_refused_timeout_and_redirect_are_failures(db: Engine, receiver: Receiver) -> None:
    refused = wh.add_endpoint(db, CIPHER, "p1", closed_port_url(), ["policy.bound"], now=T0)
    ep = endpoint_for(db, receiver, ["policy.cancelled"])
    bound = wh.emit(db, "p1", "sandbox", "policy.bound", {"policy_no": "P1"}, now=T0)
    receiver.script = ["slow", 302]
    cancelled = wh.emit(db, "p1", "sandbox", "policy.cancelled", {"policy_no": "P1"}, now=T0)

    summary = deliver(db, receiver, T0, timeout=0.5)
    assert (summary["claimed"], summary["retrying"]) == (2, 2)
    (a,) = wh.attempts(db, only_delivery(db, bound)["delivery_id"])
    assert (a["status_code"], a["error"]) == (None, "connection refused")
    (b,) = wh.attempts(db, only_delivery(db, cancelled)["delivery_id"])
    assert (b["status_code"], b["error"]) == (None, "timeout")
    assert deliver(db, receiver, T0 + timedelta(minutes=2))["retrying"] == 2
    c = wh.attempts(db, only_delivery(db, cancelled)["delivery_id"])[-1]
    assert (c["status_code"], c["error"]) == (302, "redirect not followed (HTTP 302)")
    assert len(receiver.requests) == 2  # the redirect was not followed
    assert wh.get_endpoint(db, refused["endpoint_id"])["failures_in_row"] == 2
    assert wh.get_endpoint(db, ep["endpoint_id"])["failures_in_row"] == 2


def _run_schedule(db: Engine, start: datetime, rounds: int) -> tuple[datetime, list[dict[str, Any]]]:
    at, summaries = start, []
    for _ in range(rounds):
        summaries.append(deliver(db, None, at))
        pending = [store.parse_stamp(d["next_at"]) for d in wh.deliveries(db, "p1", state="pending")]
        if not pending:
            break
        at = max(pending)
    return at, summaries


def test_dead_after_the_schedule_then_disabled_and_enabled_again(db: Engine, receiver: Receiver) -> None:
    ep = wh.add_endpoint(db, CIPHER, "p1", closed_port_url(), ["*"], now=T0)
    events = [wh.emit(db, "p1", "sandbox", "claim.noticed", {"claim_id": f"C{i}"}, now=T0) for i in range(3)]
    last, summaries = _run_schedule(db, T0, 12)
    assert len(summaries) == len(wh.RETRY_SCHEDULE) + 1
    assert summaries[-1]["dead"] == 3 and summaries[-1]["disabled"] == [ep["endpoint_id"]]
    for event_id in events:
        d = only_delivery(db, event_id)
        assert (d["state"], d["attempts"], d["last_error"]) == ("dead", 9, "connection refused")
    tries = [store.parse_stamp(a["at"]) for a in wh.attempts(db, only_delivery(db, events[0])["delivery_id"])]
    span = sum(wh.RETRY_SCHEDULE, timedelta())
    assert span <= tries[-1] - tries[0] <= span * 1.1
    off = wh.get_endpoint(db, ep["endpoint_id"])
    assert not off["enabled"] and off["failures_in_row"] == 27
    assert "25 failed attempts in a row" in off["disabled_reason"]  # the first of the three to die

    later = wh.emit(db, "p1", "sandbox", "claim.noticed", {"claim_id": "C9"}, now=last)
    assert store.deliveries_of_event(db, later) == []  # a disabled endpoint gets no new deliveries
    with pytest.raises(InvalidInput, match="disabled"):
        wh.replay(db, events[0], now=last)

    wh.update_endpoint(db, ep["endpoint_id"], url=receiver.url, partner_id="p1", now=last)
    receiver.secrets.append(ep["secret"])
    on = wh.enable(db, ep["endpoint_id"], partner_id="p1", now=last)
    assert on["enabled"] and on["failures_in_row"] == 0 and on["disabled_reason"] is None
    wh.replay(db, events[0], now=last)
    assert deliver(db, receiver, last)["delivered"] == 1
    assert receiver.ids() == [events[0]] and receiver.requests[0]["verdict"] == "ok"


def test_disabled_endpoint_keeps_its_pending_deliveries_waiting(db: Engine, receiver: Receiver) -> None:
    ep = endpoint_for(db, receiver)
    receiver.script = [503]
    event_id = wh.emit(db, "p1", "production", "policy.changed", {"policy_no": "P1"}, now=T0)
    deliver(db, receiver, T0)
    wh.disable(db, ep["endpoint_id"], "maintenance", partner_id="p1", now=T0)
    assert wh.get_endpoint(db, ep["endpoint_id"])["disabled_reason"] == "maintenance"
    assert deliver(db, receiver, T0 + timedelta(hours=3))["claimed"] == 0
    assert only_delivery(db, event_id)["state"] == "pending"
    on = wh.enable(db, ep["endpoint_id"], now=T0 + timedelta(hours=3))
    assert on["waiting"] == 1
    assert deliver(db, receiver, T0 + timedelta(hours=3))["delivered"] == 1
    assert receiver.ids() == [event_id] * 2
    with pytest.raises(UnknownName):
        wh.disable(db, ep["endpoint_id"], partner_id="p2")


def test_events_go_to_subscribed_enabled_endpoints_only(db: Engine, receiver: Receiver) -> None:
    bound_only = endpoint_for(db, receiver, ["policy.bound"])
    every = endpoint_for(db, receiver, ["*"])
    endpoint_for(db, receiver, ["*"], partner="p2")
    off = endpoint_for(db, receiver, ["*"])
    wh.disable(db, off["endpoint_id"], now=T0)
    plain = wh.add_endpoint(db, CIPHER, "p1", "http://sandbox.partner.example/h", ["*"], allow_http=True, now=T0)

    bound = wh.emit(db, "p1", "sandbox", "policy.bound", {}, now=T0)
    claim = wh.emit(db, "p1", "sandbox", "claim.approved", {}, now=T0)
    live = wh.emit(db, "p1", "production", "claim.approved", {}, now=T0)
    targets = {e: {d["endpoint_id"] for d in store.deliveries_of_event(db, e)} for e in (bound, claim, live)}
    assert targets[bound] == {bound_only["endpoint_id"], every["endpoint_id"], plain["endpoint_id"]}
    assert targets[claim] == {every["endpoint_id"], plain["endpoint_id"]}
    assert targets[live] == {every["endpoint_id"]}  # production events never go over plain http off the machine

    with pytest.raises(UnknownName):
        wh.emit(db, "p1", "sandbox", "policy.exploded", {}, now=T0)
    with pytest.raises(InvalidInput):
        wh.emit(db, "p1", "sandbox", "ping", {}, now=T0)
    with pytest.raises(InvalidInput):
        wh.add_endpoint(db, CIPHER, "p1", receiver.url, ["ping"], now=T0)
    with db.connect() as conn, conn.begin() as tx:  # emitted in a transaction that rolls back: nothing kept
        gone = wh.emit(conn, "p1", "sandbox", "policy.bound", {}, now=T0)
        tx.rollback()
    assert store.get_event(db, gone) is None and store.deliveries_of_event(db, gone) == []


def test_ping(db: Engine, receiver: Receiver) -> None:
    ep = endpoint_for(db, receiver, ["policy.bound"])
    other = endpoint_for(db, receiver, ["*"])
    result = wh.ping(db, CIPHER, ep["endpoint_id"], partner_id="p1", now=T0)
    assert result["ok"] and result["status_code"] == 200 and result["state"] == "delivered"
    (request,) = receiver.requests
    assert request["verdict"] == "ok"
    assert json.loads(request["body"])["type"] == "ping"
    assert json.loads(request["body"])["data"] == {"endpoint_id": ep["endpoint_id"]}
    assert [d["endpoint_id"] for d in wh.deliveries(db, "p1")] == [ep["endpoint_id"]]
    assert deliver(db, receiver, T0 + timedelta(days=1))["claimed"] == 0

    receiver.script = [500]
    failed = wh.ping(db, CIPHER, other["endpoint_id"], now=T0)
    assert (failed["ok"], failed["status_code"], failed["state"]) == (False, 500, "dead")  # tried once only
    assert wh.get_endpoint(db, other["endpoint_id"])["failures_in_row"] == 0


def test_replay_sends_the_same_event_with_a_fresh_signature(db: Engine, receiver: Receiver) -> None:
    ep = endpoint_for(db, receiver)
    event_id = wh.emit(db, "p1", "sandbox", "policy.cancelled", {"policy_no": "P7", "refund_fen": 1200}, now=T0)
    deliver(db, receiver, T0)
    original = only_delivery(db, event_id)
    later = T0 + timedelta(hours=1)
    (again,) = wh.replay(db, original["delivery_id"], partner_id="p1", now=later)
    (by_event,) = wh.replay(db, event_id, now=later + timedelta(minutes=10))
    assert deliver(db, receiver, later)["delivered"] == 1
    assert deliver(db, receiver, later + timedelta(minutes=10))["delivered"] == 1

    rows = {d["delivery_id"]: d for d in wh.deliveries(db, "p1", event_id=event_id)}
    assert rows[again]["replay_of"] == original["delivery_id"]
    assert rows[by_event]["replay_of"] == again  # the latest delivery to that endpoint
    assert receiver.ids() == [event_id] * 3
    assert len({r["body"] for r in receiver.requests}) == 1
    assert len({r["headers"][wh.HEADER_SIGNATURE.lower()] for r in receiver.requests}) == 3
    assert [r["verdict"] for r in receiver.requests] == ["ok"] * 3
    with pytest.raises(UnknownName):
        wh.replay(db, event_id, partner_id="p2", now=later)
    with pytest.raises(UnknownName):
        wh.replay(db, "evt_nothing", now=later)
    assert rows[again]["endpoint_id"] == ep["endpoint_id"]


def test_concurrent_workers_never_send_a_delivery_twice(db: Engine, receiver: Receiver) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; SKIP LOCKED is what this checks")
    endpoint_for(db, receiver)
    events = [wh.emit(db, "p1", "sandbox", "policy.bound", {"n": i}, now=T0) for i in range(30)]
    receiver.delay = 0.01
    receiver.now = T0
    summaries: list[dict[str, Any]] = []

    def work(name: str) -> None:
        summaries.append(wh.deliver_due(db, CIPHER, now=T0, worker=name))

    threads = [threading.Thread(target=work, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(receiver.ids()) == sorted(events)
    assert sum(s["claimed"] for s in summaries) == sum(s["delivered"] for s in summaries) == 30
    assert all(s["claimed"] > 0 for s in summaries)  # both took a share
    assert {d["state"] for d in wh.deliveries(db, "p1")} == {"delivered"}


def test_secret_is_sealed_and_rotation_signs_with_both(db: Engine, receiver: Receiver) -> None:
    ep = endpoint_for(db, receiver)
    with db.connect() as conn:
        stored = conn.execute(select(store.endpoint.c.secret)
                              .where(store.endpoint.c.endpoint_id == ep["endpoint_id"])).scalar_one()
    assert ep["secret"] not in stored and stored.startswith("v1:")
    assert "secret" not in wh.get_endpoint(db, ep["endpoint_id"])
    assert all("secret" not in e for e in wh.list_endpoints(db, "p1"))

    rotated = wh.rotate_secret(db, CIPHER, ep["endpoint_id"], now=T0)
    assert rotated["secret"] != ep["secret"] and rotated["previous_valid_until"] == store.stamp(T0 + timedelta(days=1))
    with db.connect() as conn:
        stored = conn.execute(select(store.endpoint.c.secret)
                              .where(store.endpoint.c.endpoint_id == ep["endpoint_id"])).scalar_one()
    assert ep["secret"] not in stored and rotated["secret"] not in stored

    first = wh.emit(db, "p1", "sandbox", "policy.bound", {}, now=T0)
    receiver.secrets = [ep["secret"]]  # a partner still on the old secret
    deliver(db, receiver, T0 + timedelta(hours=1))
    header = receiver.requests[-1]["headers"][wh.HEADER_SIGNATURE.lower()]
    assert receiver.requests[-1]["verdict"] == "ok" and len(header.split()) == 2

    second = wh.emit(db, "p1", "sandbox", "policy.bound", {}, now=T0 + timedelta(days=2))
    receiver.secrets = [rotated["secret"]]
    deliver(db, receiver, T0 + timedelta(days=2))
    header = receiver.requests[-1]["headers"][wh.HEADER_SIGNATURE.lower()]
    assert receiver.requests[-1]["verdict"] == "ok" and len(header.split()) == 1  # the overlap is over
    assert receiver.ids() == [first, second]


# --- the guide's sample --------------------------------------------------------------------------------

def test_the_guides_verification_sample_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python sample of the partner guide, run as it is written."""
    text = next(p.read_text(encoding="utf-8") for p in (DOC / "partners-webhooks.md", DOC / "partners.md")
                if p.exists() and "<!-- sample: webhook-receiver -->" in p.read_text(encoding="utf-8"))
    code = text.split("<!-- sample: webhook-receiver -->", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    secret = wh.new_secret()
    monkeypatch.setenv("SHOUHU_WEBHOOK_SECRET", secret)
    namespace: dict[str, Any] = {}
    exec(compile(code, "partners-webhooks.md", "exec"), namespace)
    body = json.dumps({"id": "evt_1", "type": "policy.bound", "created": "2026-12-07T02:00:00Z",
                       "mode": "sandbox", "data": {"policy_no": "P1"}}).encode()
    headers = _signed(secret, body, int(time.time()))
    seen: list[dict[str, Any]] = []
    namespace["handle_event"] = seen.append
    assert namespace["receive"](headers, body) == 200
    assert seen == [json.loads(body)]
    assert namespace["receive"](headers, body + b" ") == 400
    assert namespace["receive"](_signed(secret, body, int(time.time()) - 600), body) == 400
