"""Sales traceability in a real browser: compliance opens the ledger from the navigation, checks the whole
ledger, and replays a session (pages shown with reading time, ticks and answers, personal details masked,
all in Chinese); the customer signs in to the H5 pages, sees their sales receipt verified and downloads it,
and the downloaded JSON verifies with the public key the API serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from shouhu.compliance import traceability as trace
from shouhu.storage import audit
from tests.browser.conftest import Site, login, shot
from tests.browser.test_h5 import PHONE, h5_sign_in
from tests.browser.test_zh_cn_pages import untranslated, visible

pytestmark = pytest.mark.browser


def _sale(site: Site, phone: str) -> str:
    cipher = site.app.state.shouhu.cipher
    trace.publish_page(site.engine, "browser_terms", "terms", "重大疾病保险条款",
                       "第一条 保险责任\n被保险人初次确诊重大疾病，我们按基本保险金额给付。\n", "compliance")
    trace.publish_page(site.engine, "browser_health", "health_notice", "健康告知", "1. 过去两年内是否曾住院？\n",
                       "compliance")
    sid = trace.start_session(site.engine, customer_id=site.subject, product_code="ci_2026",
                              application_no="AP20261207001", recorded_by="browser")["session_id"]
    trace.record_events(site.engine, cipher, sid, [
        {"type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "browser_terms", "page_version": 1,
         "duration_ms": 95_000, "scrolled_to_end": True},
        {"type": "confirm", "at": "2026-12-07T10:01:40+08:00", "page_code": "browser_terms", "page_version": 1,
         "field": "read_terms", "value": True},
        {"type": "answer", "at": "2026-12-07T10:02:00+08:00", "page_code": "browser_health", "page_version": 1,
         "question": "q1_hospital", "answer": "no"},
        {"type": "input", "at": "2026-12-07T10:03:00+08:00", "page_code": "browser_health", "page_version": 1,
         "field": "applicant", "personal": {"phone": phone, "name": "张三丰"}},
        {"type": "sign", "at": "2026-12-07T10:04:00+08:00", "method": "handwritten"},
        {"type": "pay", "at": "2026-12-07T10:05:00+08:00", "method": "wechat_pay", "amount_fen": 36_800}])
    trace.close_session(site.engine, sid, outcome="issued", policy_no="P20261207001", cover_start="2026-12-08",
                        cover_end="2027-12-07")
    trace.seal(site.engine)
    return str(sid)


def test_replay_in_the_console_and_receipt_on_h5(new_page: Any, site: Site, tmp_path: Path) -> None:
    phone = site.clear(site.subject, "phone")
    sid = _sale(site, phone)

    pg = new_page()
    login(pg, site, "compliance")
    pg.click("#nav-trace")
    pg.wait_for_url("**/console/trace")
    assert pg.locator(f"tr[data-session='{sid}']").is_visible()
    with pg.expect_navigation():
        pg.click("#trace-verify")
    assert pg.locator("#trace-verify-ok").is_visible()
    problems = untranslated(visible(pg, site))
    assert not problems, f"untranslated text on the ledger page: {problems}"
    with pg.expect_navigation():
        pg.click(f"tr[data-session='{sid}'] a")
    assert pg.locator("#trace-chain-ok").is_visible()
    body = pg.locator("body").inner_text()
    assert phone not in body and "张三丰" not in body
    assert phone[:3] + "****" + phone[-4:] in body
    pages = pg.locator("#trace-pages").inner_text()
    assert "重大疾病保险条款" in pages and "95秒" in pages
    timeline = pg.locator("#trace-timeline").inner_text()
    assert "勾选确认" in timeline and "回答问题" in timeline and "否" in timeline and "368.00" in timeline
    problems = untranslated(visible(pg, site))
    assert not problems, f"untranslated text on the replay page: {problems}"
    assert audit.read(site.engine, action="trace.replay", limit=1)[0]["target_id"] == sid
    shot(pg, "console-trace-replay")
    pg.click("#trace-pages a")
    pg.wait_for_url("**/console/trace/pages/browser_terms/1")
    assert "保险责任" in pg.locator("#trace-page-content").inner_text()
    pg.goto(f"/console/trace/sessions/{sid}?lang=en")
    assert "Operation trail" in pg.locator("body").inner_text()
    pg.goto("/console/trace?lang=zh")

    h5 = new_page(**PHONE)
    h5_sign_in(h5, site, phone)
    h5.goto("/h5/trace")
    problems = untranslated(visible(h5, site))
    assert not problems, f"untranslated text on the H5 receipts: {problems}"
    with h5.expect_navigation():
        h5.click(f"#h5-receipt-{sid}")
    assert h5.locator("#h5-receipt-verified").is_visible()
    problems = untranslated(visible(h5, site))
    assert not problems, f"untranslated text on the H5 receipt: {problems}"
    shot(h5, "h5-trace-receipt", full_page=False)
    with h5.expect_download() as got:
        h5.click("#h5-receipt-download")
    saved = tmp_path / "receipt.json"
    got.value.save_as(saved)
    doc = json.loads(saved.read_text(encoding="utf-8"))
    with urlopen(f"{site.url}/api/v1/trace/public-key") as r:  # the local test server
        pem = r.read().decode()
    assert trace.verify_receipt(doc, trace.load_public_key(pem)) == []
    assert doc["session"]["session_id"] == sid and site.subject not in saved.read_text(encoding="utf-8")
