"""The sandbox conformance report and go-live over the real application (SQLite and PostgreSQL): a partner that
did everything in the sandbox passes all six checks, goes live and gets a production key (refused before); a
partner that skipped idempotency keys, one with a bind whose session lacks a page view (seeded rows, as an
older client would have left), one with no webhook endpoint, one whose endpoint accepts a wrong signature, and
a scene partner that priced a product each fail with the right check named, and cannot go live. Webhooks go to
a real local HTTP server that checks signatures with ``webhooks.verify``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shouhu.cli.main import app as cli
from shouhu.partners import conformance, registry, sales
from shouhu.partners import webhooks as wh
from shouhu.partners.conformance_checks import bare_retries
from shouhu.settings import Settings, get_settings
from shouhu.storage import partners as store
from shouhu.web.app import create_app
from tests.conftest import KEY

ID_NUMBER, PHONE = "110101199003074514", "13912345678"
LICENSED = {"intermediary": {"licence_no": "260000000000000001"}, "scene": {}}


@dataclass
class Receiver:
    """A partner's endpoint: 200 for a genuine signature, 401 otherwise (or 200 for anything: ``checks`` off)."""

    url: str
    secrets: list[str] = field(default_factory=list)
    checks: bool = True
    verdicts: list[str] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = box[0]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                wh.verify(rec.secrets, dict(self.headers.items()), body)
                verdict = "ok"
            except wh.WebhookSignatureError as e:
                verdict = e.reason
            rec.verdicts.append(verdict)
            self.send_response(200 if verdict == "ok" or not rec.checks else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Sandbox:
    client: TestClient
    engine: Any
    cipher: Any
    receiver: Receiver
    keys: dict[str, str] = field(default_factory=dict)

    def add(self, partner_id: str, licence: str = "intermediary") -> None:
        registry.create_partner(self.engine, partner_id, f"伙伴 {partner_id}", licence, product_codes=["RS01"],
                                scenes=["ecommerce"], **LICENSED[licence])
        self.keys[partner_id] = registry.issue_key(self.engine, partner_id, "sandbox")["key"]

    def h(self, partner_id: str, idem: bool = True) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.keys[partner_id]}"}
        return out | ({"Idempotency-Key": uuid.uuid4().hex} if idem else {})

    def post(self, partner_id: str, path: str, body: Any = None, idem: bool = True, expect: int = 201) -> Any:
        r = self.client.post(f"/api/v1/partner{path}", json=body, headers=self.h(partner_id, idem))
        assert r.status_code == expect, r.text
        return r.json()


@pytest.fixture
def sandbox(serving_url: str, tmp_path: Path, receiver: Receiver) -> Iterator[Sandbox]:
    application = create_app(Settings(data_dir=tmp_path / "data", serving_url=serving_url, encryption_key=KEY))
    state = application.state.shouhu
    sales.publish_disclosures(state.engine, "compliance")
    with TestClient(application, base_url="http://127.0.0.1") as client:
        yield Sandbox(client, state.engine, state.cipher, receiver)
    state.engine.dispose()


def facts(order_no: str) -> dict[str, Any]:
    return {"seller_id": "S-889", "seller_orders_12m": 1200, "seller_returns_12m": 96, "category": "apparel",
            "order_no": order_no, "order_value_fen": 15900, "delivered_on": date.today().isoformat()}


def webhook(s: Sandbox, pid: str, idem: bool = True) -> None:
    ep = s.post(pid, "/webhooks", {"url": s.receiver.url, "events": ["*"]}, idem)
    s.receiver.secrets.append(ep["secret"])
    assert s.post(pid, f"/webhooks/{ep['endpoint_id']}/ping", idem=idem, expect=200)["status_code"] == 200


def traced(s: Sandbox, pid: str, q: dict[str, Any], idem: bool = True, skip: str | None = None) -> str:
    sid = str(s.post(pid, "/trace/sessions", {"product_code": "RS01", "customer_ref": "u-1"}, idem)["session_id"])
    events = []
    for i, d in enumerate(q["disclosures"]):
        page = {"page_code": d["code"], "page_version": d["version"], "page_hash": d["sha256"]}
        if d["code"] != skip:
            events.append({"client_event_id": f"v{i}", "type": "page_view", "at": "2026-12-07T10:00:00+08:00",
                           "duration_ms": 20_000, "scrolled_to_end": True} | page)
        events.append({"client_event_id": f"c{i}", "type": "confirm", "at": "2026-12-07T10:00:30+08:00",
                       "field": "read", "value": True} | page)
    s.post(pid, f"/trace/sessions/{sid}/events", {"events": events}, idem, expect=200)
    return sid


def acks(q: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: d[k] for k in ("code", "version", "sha256")} for d in q["disclosures"]]


def intermediary_run(s: Sandbox, pid: str, *, idem: bool = True, hooks: bool = True) -> None:
    """Everything a careful intermediary does in the sandbox: webhook and ping, quote, traced bind, claim notice."""
    if hooks:
        webhook(s, pid, idem)
    q = s.post(pid, "/quotes", {"product_code": "RS01", "facts": facts("TB-1")}, idem)
    body = {"quote_id": q["quote_id"], "partner_order_no": "TB-1", "customer_ref": "u-1",
            "applicant": {"name": "张三", "id_number": ID_NUMBER, "phone": PHONE}, "acknowledgements": acks(q),
            "trace_session_id": traced(s, pid, q, idem)}
    policy = s.post(pid, "/policies", body, idem)
    s.post(pid, "/claims", {"policy_no": policy["policy_no"], "event_type": "loss",
                            "occurred_at": f"{policy['cover_start']}T12:00:00+08:00"}, idem)


def seed_unviewed_bind(s: Sandbox, pid: str) -> str:
    """A bind as an older client (before the check) could have left it: the terms page never viewed."""
    q = s.post(pid, "/quotes", {"product_code": "RS01", "facts": facts("TB-OLD")})
    sid = traced(s, pid, q, skip="rs01_terms")
    quote = store.get_quote(s.engine, q["quote_id"])
    assert quote is not None
    policy_no = f"PPSBXOLD{uuid.uuid4().hex[:8].upper()}"
    store.add_policy(s.engine, {
        "policy_no": policy_no, "partner_id": pid, "mode": "sandbox", "partner_order_no": "TB-OLD",
        "quote_id": q["quote_id"], "product_code": "RS01", "scene": "ecommerce", "scene_key": "TB-OLD",
        "customer_ref": "u-1", "applicant": s.cipher.encrypt('{"name": "李四"}'), "trace_session_id": sid,
        "acknowledgements": acks(q), "premium_fen": quote["premium_fen"],
        "sum_assured_fen": quote["sum_assured_fen"], "status": "in_force", "cover_start": q["cover_start"],
        "cover_end": q["cover_end"], "bound_at": registry.stamp(registry.now_utc()), "via": "api",
        "cancelled_at": None, "refund_fen": None})
    log_call(s, pid, "POST", "/partner/policies", 201)  # the logged route template
    return policy_no


def log_call(s: Sandbox, pid: str, method: str, route: str, status: int) -> None:
    store.log_requests(s.engine, [{"partner_id": pid, "mode": "sandbox", "at": registry.stamp(registry.now_utc()),
                                   "method": method, "route": route, "status_code": status, "error": None,
                                   "idempotency_key": True, "duration_ms": 3}])


def hosted_run(s: Sandbox, pid: str) -> str:
    """A scene partner: webhook and ping, a refused quote, then a hosted link the customer completes."""
    webhook(s, pid)
    s.post(pid, "/quotes", {"product_code": "RS01", "facts": facts("TB-H")}, expect=403)
    link = s.post(pid, "/hosted-links", {"product_code": "RS01", "customer_ref": "u-9", "partner_order_no": "TB-H",
                                         "facts": facts("TB-H")})
    assert s.client.get(link["url"]).status_code == 200
    done = s.client.post(link["url"], data={"ack_rs01_notice": "on", "ack_rs01_terms": "on", "name": "王五",
                                            "id_number": ID_NUMBER, "phone": PHONE})
    assert done.status_code == 200 and "PPSBX" in done.text, done.text[:500]
    return str(link["url"])


def failed(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["checks"] if not c["passed"]]


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def test_a_partner_that_did_everything_passes_goes_live_and_gets_a_production_key(sandbox: Sandbox) -> None:
    s = sandbox
    s.add("broker-a")
    with pytest.raises(registry.Forbidden, match="not live yet"):
        registry.issue_key(s.engine, "broker-a", "production")
    with pytest.raises(conformance.NotConformant, match="no conformance report"):
        conformance.go_live(s.engine, "broker-a", "admin1")
    none = s.client.get("/api/v1/partner/conformance-reports/latest", headers=s.h("broker-a", idem=False))
    assert none.status_code == 404 and none.json()["error"] == "not_found"
    intermediary_run(s, "broker-a")
    report = s.post("broker-a", "/conformance-reports")
    assert report["passed"] is True and failed(report) == [], report
    assert [c["name"] for c in report["checks"]] == list(conformance.CHECKS)
    assert all(c["zh"] and c["en"] and c["title_zh"] for c in report["checks"])
    assert check(report, "idempotency")["evidence"]["writes"] == 7
    assert check(report, "disclosures")["evidence"]["verified"] == 1
    assert check(report, "webhooks")["evidence"]["bad_signature_probes"] and "bad_signature" in s.receiver.verdicts
    latest = s.client.get("/api/v1/partner/conformance-reports/latest", headers=s.h("broker-a", idem=False))
    assert latest.status_code == 200 and latest.json()["report_id"] == report["report_id"]
    assert ID_NUMBER not in latest.text and PHONE not in latest.text and "张三" not in latest.text
    # a change of configuration after the report: go-live needs a new one
    later = registry.now_utc() + timedelta(minutes=1)
    registry.update(s.engine, "broker-a", rate_per_minute=700, now=later)
    with pytest.raises(conformance.NotConformant, match=r"was changed at .* run the report again"):
        conformance.go_live(s.engine, "broker-a", "admin1")
    again = conformance.run(s.engine, "broker-a", now=later + timedelta(minutes=1))
    assert again["passed"]
    with pytest.raises(conformance.NotConformant, match="older than 30 days"):
        conformance.go_live(s.engine, "broker-a", "admin1", now=later + timedelta(days=31))
    live = conformance.go_live(s.engine, "broker-a", "admin1")
    assert live["mode"] == "production" and live["live_report_id"] == again["report_id"]
    key = registry.issue_key(s.engine, "broker-a", "production")["key"]
    assert key.startswith("shk_live_")
    r = s.client.get("/api/v1/partner/orders/none", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 404, r.text  # authenticated as live; just no such order
    r = s.client.post("/api/v1/partner/conformance-reports", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403 and r.json()["field"] == "mode"


@pytest.mark.parametrize("variant, failing", [
    ("no_idempotency_keys", ["idempotency"]),
    ("unviewed_page", ["disclosures"]),
    ("no_webhook", ["webhooks"]),
    ("unverified_signature", ["webhooks"]),
])
def test_a_partner_that_skipped_a_step_fails_the_right_check(sandbox: Sandbox, variant: str,
                                                             failing: list[str]) -> None:
    s = sandbox
    s.add("broker-x")
    s.receiver.checks = variant != "unverified_signature"
    intermediary_run(s, "broker-x", idem=variant != "no_idempotency_keys", hooks=variant != "no_webhook")
    seeded = seed_unviewed_bind(s, "broker-x") if variant == "unviewed_page" else None
    report = s.post("broker-x", "/conformance-reports")
    assert report["passed"] is False and failed(report) == failing == report["failed"], report
    found = check(report, failing[0])
    if variant == "no_idempotency_keys":
        assert found["evidence"]["without_key"] == 7 and "POST /quotes" in found["evidence"]["routes_without_key"]
    if variant == "unviewed_page":
        assert seeded is not None
        assert found["evidence"]["problems"] == {seeded: [found["evidence"]["problems"][seeded][0]]}
        assert "rs01_terms" in found["en"] and "not viewed" in found["en"] and seeded in found["zh"]
    if variant == "no_webhook":
        assert found["evidence"]["endpoints"] == 0 and "POST /api/v1/partner/webhooks" in found["zh"]
    if variant == "unverified_signature":
        assert set(found["evidence"]["bad_signature_probes"].values()) == {200} and "wrong signature" in found["en"]
    with pytest.raises(conformance.NotConformant, match=f"failed: {failing[0]}") as e:
        conformance.go_live(s.engine, "broker-x", "admin1")
    assert e.value.data["failing"] == failing
    with pytest.raises(registry.Forbidden, match="not live yet"):
        registry.issue_key(s.engine, "broker-x", "production")


def test_a_scene_partner_passes_on_hosted_pages_and_fails_after_a_successful_price_call(sandbox: Sandbox) -> None:
    s = sandbox
    s.add("shop-s", "scene")
    hosted_run(s, "shop-s")
    report = s.post("shop-s", "/conformance-reports")
    assert report["passed"] is True, report
    path = check(report, "happy_path")["evidence"]
    assert path["hosted_bound"] == 1 and path["price_or_bind_refused_403"] == 1
    assert path["price_or_bind_succeeded"] == {}
    assert check(report, "error_handling")["evidence"]["licence_refusals_left_out"] == 1
    log_call(s, "shop-s", "POST", "/partner/quotes", 201)  # as if the licence check had been bypassed
    report = conformance.run(s.engine, "shop-s")
    assert failed(report) == ["happy_path"]
    assert check(report, "happy_path")["evidence"]["price_or_bind_succeeded"] == {"POST /quotes": 1}
    assert "非持牌" in check(report, "happy_path")["zh"]
    store.update_partner(s.engine, "shop-s", {"products": ["RS01", "TD01"]})  # TD01's scene was never agreed
    report = conformance.run(s.engine, "shop-s")
    assert failed(report) == ["happy_path", "licence"]
    assert "TD01" in check(report, "licence")["en"]
    with pytest.raises(conformance.NotConformant, match="failed: happy_path, licence"):
        conformance.go_live(s.engine, "shop-s", "admin1")


def test_a_retry_without_its_key_after_a_409_is_named() -> None:
    def call(at: str, status: int, key: bool, route: str = "/api/v1/partner/policies") -> dict[str, Any]:
        return {"method": "POST", "route": route, "at": at, "status_code": status, "idempotency_key": key}

    calls = [call("2026-12-07T02:00:00Z", 409, True), call("2026-12-07T02:00:05Z", 201, False),
             call("2026-12-07T02:10:00Z", 409, True), call("2026-12-07T02:10:02Z", 201, True, "/api/v1/partner/claims"),
             call("2026-12-07T02:10:03Z", 201, True), call("2026-12-07T03:00:00Z", 409, True),
             call("2026-12-07T03:05:00Z", 201, False)]
    assert bare_retries(calls) == ["POST /policies at 2026-12-07T02:00:05Z"]


def test_cli_conformance_and_go_live(sandbox: Sandbox, serving_url: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    s = sandbox
    s.add("broker-c")
    intermediary_run(s, "broker-c", hooks=False)
    monkeypatch.setenv("SHOUHU_SERVING_URL", serving_url)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    run = CliRunner().invoke
    try:
        result = run(cli, ["partners", "conformance", "broker-c"])
        assert result.exit_code == 1, result.output
        assert "webhooks" in result.output and "FAIL" in result.output and "failed 未通过: webhooks" in result.output
        result = run(cli, ["partners", "go-live", "broker-c", "--by", "admin1"])
        assert result.exit_code == 1 and "cannot go live" in result.output and "webhooks" in result.output
        webhook(s, "broker-c")
        result = run(cli, ["partners", "conformance", "broker-c", "--json"])
        assert result.exit_code == 0, result.output
        result = run(cli, ["partners", "go-live", "broker-c", "--by", "admin1"])
        assert result.exit_code == 0 and "is live" in result.output, result.output
        result = run(cli, ["partners", "conformance", "broker-c", "--since", "yesterday"])
        assert result.exit_code == 1 and "since: an ISO 8601 time" in result.output
    finally:
        get_settings.cache_clear()
    assert registry.get(s.engine, "broker-c")["mode"] == "production"
