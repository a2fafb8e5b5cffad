"""The staff console in a real browser: sign in (zh), dashboard charts, search by phone and by name,
the 360 page, reveal with a reason (audited), English, sign out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shouhu.storage import audit
from tests.browser.conftest import Site, chart_drawn, login, search, shot

pytestmark = pytest.mark.browser


def test_login_dashboard_zh(page: Any, site: Site) -> None:
    page.goto("/console/")
    assert "/console/login" in page.url  # anonymous: sent to sign in first
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#login-submit").inner_text().strip() == "登录"
    shot(page, "console-login")
    login(page, site, "head_office")
    assert page.url.rstrip("/").endswith("/console")
    assert "经营看板" in page.locator("h1").first.inner_text()
    kpi = page.locator("#kpi-customers").inner_text()
    assert int(kpi.replace(",", "")) > 0
    for chart in ("#chart-lifecycle", "#chart-channels", "#chart-gaps", "#chart-tiers"):
        assert chart_drawn(page, chart) > 0.01, f"{chart} looks empty"
    shot(page, "console-dashboard")


def test_search_by_phone_and_name_then_360(page: Any, site: Site) -> None:
    cid = site.subject
    phone, name = site.clear(cid, "phone"), site.clear(cid, "name")
    login(page, site, "agent")
    page.goto("/console/customers")
    search(page, phone)
    results = page.locator("#search-results")
    assert results.locator(f"a[href='/console/customers/{cid}']").count() == 1
    text = results.inner_text()
    assert phone not in text and re.search(r"\d{3}\*{4}\d{4}", text), "the phone must be shown masked"
    shot(page, "console-search-phone")

    search(page, name)
    link = page.locator(f"#search-results a[href='/console/customers/{cid}']")
    assert link.count() == 1
    assert name not in page.locator("#search-results").inner_text(), "names are masked in results"
    shot(page, "console-search-name")

    link.click()
    page.wait_for_url(f"**/console/customers/{cid}")
    assert cid in page.locator("h1").first.inner_text()
    assert "*" in page.locator("#field-phone").inner_text()
    assert "基本信息" in page.content()
    shot(page, "console-360")


def test_reveal_with_reason_is_audited(new_page: Any, site: Site) -> None:
    page = new_page()
    cid = site.subject
    phone = site.clear(cid, "phone")
    before = len(audit.read(site.engine, action="reveal", target_id=cid))
    login(page, site, "agent")
    page.goto(f"/console/customers/{cid}")
    cell = page.locator("#field-phone")
    assert phone not in cell.inner_text()
    opener = cell.locator("summary")  # the reason form may sit behind a "reveal" disclosure
    if opener.count():
        opener.first.click()
    cell.locator("input[name=reason]").fill("客户来电核实身份")
    cell.locator(".reveal").click()
    page.wait_for_function("([sel, v]) => document.querySelector(sel).innerText.includes(v)",
                           arg=["#field-phone", phone])
    shot(page, "console-360-revealed")
    entries = audit.read(site.engine, action="reveal", target_id=cid)
    assert len(entries) == before + 1
    last = entries[0]  # newest first
    assert last["actor"] == site.users["agent"] and last["reason"] == "客户来电核实身份"
    assert "phone" in str(last["detail"])

    # the compliance officer finds it in the audit log page, and the chain verifies
    officer = new_page()
    login(officer, site, "compliance")
    officer.goto(f"/console/audit?action=reveal&target_id={cid}")
    row = officer.locator(f"#audit-{last['seq']}")
    assert site.users["agent"] in row.inner_text() and "客户来电核实身份" in row.inner_text()
    assert phone not in officer.content()
    officer.click("#audit-verify-btn")
    officer.locator("#audit-ok").wait_for()
    shot(officer, "console-audit")


def test_switch_to_english_and_sign_out(page: Any, site: Site) -> None:
    login(page, site, "agent")
    page.goto("/console/")
    page.click("header .who a[href*='lang=en']")
    page.wait_for_url("**lang=en*")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Dashboard" in page.locator("h1").first.inner_text()
    page.goto(f"/console/customers/{site.own['agent']}")  # the choice sticks (cookie)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Profile" in page.content()
    shot(page, "console-360-en")
    page.click("#logout")
    page.wait_for_url("**/console/login*")
    page.goto("/console/")
    assert "/console/login" in page.url
