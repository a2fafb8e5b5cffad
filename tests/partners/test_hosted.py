"""Hosted sales pages over the real application (SQLite and PostgreSQL): an unlicensed scene partner asks
for a link with its scene facts and order number; the customer's page shows the insurer's price and each
disclosure page version, and the insurer records the page views, ticks and submit in the traceability
session; a full submit binds one policy via "hosted", which the partner reads by its order number and
hears of by webhook; a missing tick or a bad ID number is refused naming what is missing and binds
nothing; the page is framed only by the partner's origins, zh-CN by default, and never shows or logs the
ID number or mobile in clear."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shouhu.partners import hosted, registry, sales
from shouhu.settings import Settings
from shouhu.web.app import create_app
from tests.conftest import KEY

ID_NUMBER, PHONE, NAME = "110101199003074514", "13912345678", "张三"
ORIGINS = ["https://m.shop.example", "https://shop.example"]
PAGES = ("rs01_notice", "rs01_terms")


@pytest.fixture
def api(serving_url: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path / "data", serving_url=serving_url, encryption_key=KEY))
    engine = app.state.shouhu.engine
    sales.publish_disclosures(engine, "compliance")
    registry.create_partner(engine, "shop-a", "某电商平台", "scene", product_codes=["RS01"], scenes=["ecommerce"],
                            frame_origins=ORIGINS)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.key = registry.issue_key(engine, "shop-a", "sandbox")["key"]  # type: ignore[attr-defined]
        client.engine = engine  # type: ignore[attr-defined]
        yield client
    engine.dispose()


def h(api: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.key}", "Idempotency-Key": uuid.uuid4().hex}  # type: ignore[attr-defined]


def facts(order_no: str) -> dict[str, Any]:
    return {"seller_id": "S-889", "seller_orders_12m": 1200, "seller_returns_12m": 96, "category": "apparel",
            "order_no": order_no, "order_value_fen": 15900, "delivered_on": date.today().isoformat()}


def make_link(api: TestClient, order_no: str = "TB20261207001", **extra: Any) -> str:
    body = {"product_code": "RS01", "customer_ref": "u-1", "partner_order_no": order_no, "facts": facts(order_no)}
    r = api.post("/api/v1/partner/hosted-links", json=body | extra, headers=h(api))
    assert r.status_code == 201, r.text
    assert r.json()["url"].startswith("/hosted/") and r.json()["expires_at"].endswith("Z")
    return str(r.json()["url"])


def full(**over: str) -> dict[str, str]:
    return {f"ack_{code}": "on" for code in PAGES} | {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE} | over


def rows(api: TestClient, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with api.engine.connect() as conn:  # type: ignore[attr-defined]
        return [tuple(r) for r in conn.execute(text(sql), params)]


def session_of(api: TestClient, url: str) -> str:
    return str(hosted.link(api.engine, url.rsplit("/", 1)[1])["trace_session_id"])  # type: ignore[attr-defined]


def events(api: TestClient, sid: str) -> list[tuple[Any, ...]]:
    return rows(api, "SELECT type, page_code, page_version, page_hash FROM trace_event WHERE session_id = :s "
                     "ORDER BY seq", s=sid)


def test_open_shows_price_and_each_page_version_and_records_the_views(api: TestClient) -> None:
    url = make_link(api)
    r = api.get(url)
    assert r.status_code == 200, r.text
    q = rows(api, "SELECT premium_fen, disclosures FROM partner_quote")
    assert len(q) == 1 and q[0][0] > 0
    assert f"¥{sales.yuan(q[0][0])}" in r.text
    published = {c: rows(api, "SELECT version, sha256, title FROM sales_page_version WHERE code = :c", c=c)[0]
                 for c in PAGES}
    for code, (version, _, title) in published.items():
        section = re.search(rf'<section[^>]*id="page-{code}" data-version="(\d+)".*?</section>', r.text, re.S)
        assert section and int(section.group(1)) == version and title in section.group(0)
        assert f'<label class="opt" for="ack-{code}">' in section.group(0)  # each tick has its label
    sid = session_of(api, url)
    assert sorted(e[1:] for e in events(api, sid)) == sorted((c, v, s) for c, (v, s, _) in published.items())
    assert {e[0] for e in events(api, sid)} == {"page_view"}
    s = rows(api, "SELECT channel, product_code, closed_at FROM trace_session WHERE session_id = :s", s=sid)
    assert s == [("shop-a", "RS01", None)]
    api.get(url)  # every showing is a view; the same session and quote
    assert len(events(api, sid)) == 2 * len(PAGES) and session_of(api, url) == sid
    assert len(rows(api, "SELECT quote_id FROM partner_quote")) == 1


def test_full_submit_binds_once_via_hosted_and_the_partner_hears(api: TestClient,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hook = api.post("/api/v1/partner/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["*"]},
                    headers=h(api))
    assert hook.status_code == 201, hook.text
    url = make_link(api, return_url="https://shop.example/orders/TB20261207001")
    api.get(url)
    r = api.post(url, data=full())
    assert r.status_code == 200, r.text
    policy_no = re.search(r'id="hosted-policy-no">([A-Z0-9]+)<', r.text)
    assert policy_no and 'href="https://shop.example/orders/TB20261207001" target="_top"' in r.text
    stored = rows(api, "SELECT policy_no, via, partner_id, partner_order_no, status, trace_session_id "
                       "FROM partner_policy")
    sid = session_of(api, url)
    assert stored == [(policy_no.group(1), "hosted", "shop-a", "TB20261207001", "in_force", sid)]
    kinds = [e[0] for e in events(api, sid)]
    assert kinds.count("confirm") == len(PAGES) and kinds[-2:] == ["submit", "close"]
    assert rows(api, "SELECT outcome, policy_no FROM trace_session WHERE session_id = :s", s=sid) == [
        ("issued", policy_no.group(1))]
    got = api.get("/api/v1/partner/orders/TB20261207001", headers=h(api))
    assert got.status_code == 200 and got.json()["policy_no"] == policy_no.group(1) and got.json()["via"] == "hosted"
    queued = rows(api, "SELECT e.type, d.endpoint_id, e.payload FROM webhook_event e JOIN webhook_delivery d "
                       "ON d.event_id = e.event_id WHERE e.type = 'policy.bound'")
    assert [q[:2] for q in queued] == [("policy.bound", hook.json()["endpoint_id"])]
    assert '"via": "hosted"' in queued[0][2] or '"via":"hosted"' in queued[0][2]  # the partner hears how it sold
    everything = r.text + got.text + caplog.text + " ".join(str(v) for v in stored[0])
    assert ID_NUMBER not in everything and PHONE not in everything and ID_NUMBER[-4:] + "<" not in r.text
    # submitting again, or reopening, says it is done; still one policy
    for again in (api.post(url, data=full()), api.get(url)):
        assert again.status_code == 200 and f'id="hosted-policy-no">{policy_no.group(1)}<' in again.text
        assert ID_NUMBER not in again.text and PHONE not in again.text
    assert len(rows(api, "SELECT policy_no FROM partner_policy")) == 1
    # a new link for the bound order is refused to the partner
    body = {"product_code": "RS01", "customer_ref": "u-1", "partner_order_no": "TB20261207001",
            "facts": facts("TB20261207001")}
    refused = api.post("/api/v1/partner/hosted-links", json=body, headers=h(api))
    assert refused.status_code == 409 and refused.json()["field"] == "partner_order_no"


def test_missing_tick_is_refused_naming_the_page_and_binds_nothing(api: TestClient) -> None:
    url = make_link(api)
    api.get(url)
    form = full()
    del form["ack_rs01_terms"]
    r = api.post(url, data=form)
    assert r.status_code == 422
    error = re.search(r'<p class="error" id="hosted-error" role="alert" data-field="ack">(.*?)</p>', r.text)
    terms_title = rows(api, "SELECT title FROM sales_page_version WHERE code = 'rs01_terms'")[0][0]
    notice_title = rows(api, "SELECT title FROM sales_page_version WHERE code = 'rs01_notice'")[0][0]
    assert error and "请阅读并勾选确认" in error.group(1) and terms_title in error.group(1)
    assert notice_title not in error.group(1)
    assert re.search(r'id="ack-rs01_notice"\s+checked', r.text)  # the tick given is kept
    assert re.search(r'id="ack-rs01_terms"\s+aria-invalid="true"', r.text)
    assert ID_NUMBER not in r.text and PHONE not in r.text  # asked again, never echoed
    assert rows(api, "SELECT count(*) FROM partner_policy") == [(0,)]
    assert "confirm" not in [e[0] for e in events(api, session_of(api, url))]
    en = api.post(url + "?lang=en", data=form)
    assert en.status_code == 422 and "Please read and tick" in en.text and '<html lang="en">' in en.text


def test_bad_id_number_is_refused_naming_the_field(api: TestClient) -> None:
    url = make_link(api)
    api.get(url)
    wrong = ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")
    r = api.post(url, data=full(id_number=wrong))
    assert r.status_code == 422
    assert 'data-field="applicant.id_number"' in r.text and "请填写正确的身份证号码" in r.text
    assert re.search(r'id="hosted-id_number"[^>]*aria-invalid="true"', r.text)
    assert wrong not in r.text and rows(api, "SELECT count(*) FROM partner_policy") == [(0,)]
    assert api.post(url, data=full()).status_code == 200  # corrected: binds


def test_expired_link_is_410_and_unknown_token_is_404(api: TestClient) -> None:
    caller = registry.authenticate(api.engine, api.key)  # type: ignore[attr-defined]
    made = hosted.create_link(api.engine, caller, product_code="RS01",  # type: ignore[attr-defined]
                              customer_ref="u-2", partner_order_no="TB-OLD", facts=facts("TB-OLD"),
                              now=registry.now_utc() - hosted.LINK_VALID - timedelta(seconds=1))
    r = api.get(made["url"])
    assert r.status_code == 410 and 'id="hosted-gone"' in r.text and "链接已失效" in r.text
    assert "frame-ancestors " + " ".join(ORIGINS) in r.headers["content-security-policy"]  # clear inside the app
    assert api.post(made["url"], data=full()).status_code == 410
    assert rows(api, "SELECT count(*) FROM partner_policy") == [(0,)]
    for token in ("A" * 43, "short", "x" * 300):
        r = api.get(f"/hosted/{token}")
        assert r.status_code == 404 and "未找到该投保链接" in r.text
        assert r.headers["x-frame-options"] == "DENY"  # no partner to name: nobody frames it


def test_link_input_errors_name_the_field(api: TestClient) -> None:
    base = {"product_code": "RS01", "customer_ref": "u-1", "partner_order_no": "TB9", "facts": facts("TB9")}
    for bad in ("https://evil.example/x", "https://shop.example.evil/x", "https://shop.example:444/x",
                "http://shop.example/x"):
        r = api.post("/api/v1/partner/hosted-links", json=base | {"return_url": bad}, headers=h(api))
        assert r.status_code == 422 and r.json()["field"] == "return_url", (bad, r.text)
        assert "https://shop.example" in r.json()["message"]
    r = api.post("/api/v1/partner/hosted-links", json=base | {"facts": {"order_no": "TB9"}}, headers=h(api))
    assert r.status_code == 422 and r.json()["field"] == "seller_id", r.text  # refused to the partner, not the customer
    r = api.post("/api/v1/partner/hosted-links", json=base | {"product_code": "TD01"}, headers=h(api))
    assert r.status_code == 403 and r.json()["field"] == "product_code"
    assert rows(api, "SELECT count(*) FROM hosted_link") == [(0,)]


def test_frame_ancestors_name_exactly_the_partners_origins(api: TestClient) -> None:
    url = make_link(api)
    r = api.get(url)
    policy = r.headers["content-security-policy"]
    framers = [d for d in policy.split("; ") if d.startswith("frame-ancestors ")]
    assert len(framers) == 1 and framers[0].split()[1:] == ORIGINS
    assert "x-frame-options" not in r.headers and "form-action 'self'" in policy and "script-src 'self'" in policy
    console = api.get("/console/login")
    assert console.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in console.headers[
        "content-security-policy"]


def test_zh_cn_by_default_and_english_on_request(api: TestClient) -> None:
    url = make_link(api)
    zh = api.get(url)
    assert '<html lang="zh-CN">' in zh.text and "确认投保" in zh.text and "退货运费损失保险" in zh.text
    assert "某电商平台 仅提供入口" in zh.text and 'id="hosted-sandbox"' in zh.text
    api.cookies.clear()
    en = api.get(url + "?lang=en")
    assert '<html lang="en">' in en.text and ">Apply</button>" in en.text and "确认投保" not in en.text
    assert f'action="{url}?lang=en"' in en.text  # carried in the form: no cookie inside a partner's frame
