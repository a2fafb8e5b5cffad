"""The customer H5 on a phone-sized screen: sign in with phone + one-time code, my cover, the
robo-advisor questionnaire to a protection plan, my policies, download my review report, sign out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Site, chart_drawn, js_errors, shot
from tests.reports.cjk import assert_chinese_pdf, poppler

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def h5_sign_in(pg: Any, site: Site, phone: str) -> None:
    """Sign in with the one-time code. The suite signs the same customer in many times; each sign-in stands
    for a new hour, so the code-send counts (5 a phone and 30 a client an hour, web.h5.signin) start from zero."""
    from sqlalchemy import delete

    from shouhu.storage.tables import login_attempt

    bidx = site.app.state.shouhu.cipher.blind_index(phone)
    with site.engine.begin() as conn:  # the phone's sends and this test client's sends
        conn.execute(delete(login_attempt).where((login_attempt.c.subject == f"otp-send:{bidx}")
                                                 | login_attempt.c.client.like("send:%")))
    pg.goto("/h5/")
    assert "/h5/login" in pg.url, "anonymous visitors are sent to sign in"
    pg.fill("#h5-phone", phone)
    since = len(site.sent)
    pg.click("#h5-send-code")
    pg.locator("#h5-code").wait_for()
    pg.fill("#h5-code", site.code_for(phone, since))
    with pg.expect_navigation():
        pg.click("#h5-code-submit")
    assert pg.url.rstrip("/").endswith("/h5"), pg.url


def test_h5_sign_in_advisor_plan_report(new_page: Any, site: Site, tmp_path: Path) -> None:
    pg = new_page(**PHONE)
    cid = site.subject
    phone = site.clear(cid, "phone")
    pg.goto("/h5/login")
    shot(pg, "h5-login", full_page=False)
    h5_sign_in(pg, site, phone)
    assert pg.locator("#h5-hello").inner_text().startswith("您好")
    assert chart_drawn(pg, "#h5-cover-chart") > 0.005, "the cover chart is empty"
    shot(pg, "h5-home", full_page=False)

    # the robo-advisor: risk questionnaire, then the needs fact-find, then the plan
    pg.click("#tab-advisor")
    pg.wait_for_url("**/h5/advisor")
    for fieldset in pg.locator("#h5-risk-form fieldset").all():
        fieldset.locator("input[type=radio]").last.check()
    with pg.expect_navigation():
        pg.click("#h5-risk-submit")
    assert pg.locator("#h5-risk-level").inner_text().strip()
    shot(pg, "h5-advisor", full_page=False)
    me = site.record(cid)
    form = pg.locator("#h5-fact-form")
    form.locator("input[name=age]").fill(str(me["age"]))
    form.locator("select[name=sex]").select_option("F" if me["gender"] == "F" else "M")
    form.locator("input[name=annual_income]").fill("240000")
    form.locator("select[name=dependents-0-relation]").select_option("child")
    form.locator("input[name=dependents-0-age]").fill("6")
    with pg.expect_navigation():
        pg.click("#h5-fact-submit")
    assert "/h5/plan" in pg.url, f"the fact-find was refused: {pg.locator('main').inner_text()[:300]}"
    pg.locator("#h5-plan").wait_for()
    gap_chart = pg.locator("#h5-gaps .chart")
    assert chart_drawn(pg, f"#{gap_chart.get_attribute('id')}") > 0.005, "my gap chart is empty"
    assert pg.locator("#h5-plan .plan-item").count() >= 1, pg.locator("#h5-plan").inner_text()
    shot(pg, "h5-plan", full_page=False)  # phone screens: the fixed tab bar stays at the bottom

    pg.click("#tab-policies")
    pg.wait_for_url("**/h5/policies")
    assert pg.locator("#h5-our-policies").is_visible()
    shot(pg, "h5-policies", full_page=False)

    # my review report
    pg.click("#tab-home")
    with pg.expect_download() as info:
        pg.click("#h5-download-report")
    pdf = tmp_path / "my-report.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000, pdf.stat().st_size
    poppler()
    assert_chinese_pdf(pdf, "家庭保单检视报告")
    assert not js_errors(pg), js_errors(pg)

    pg.click("#h5-logout")
    pg.wait_for_url("**/h5/login")
    pg.goto("/h5/plan")
    assert "/h5/login" in pg.url


def test_h5_customer_stays_inside_the_h5(new_page: Any, site: Site) -> None:
    pg = new_page(**PHONE)
    h5_sign_in(pg, site, site.clear(site.subject, "phone"))
    pg.goto("/console/")
    assert "/console/login" in pg.url, "a customer session is no staff session"
    other = site.foreign["agent"]
    response = pg.request.get(f"/api/v1/customers/{other}")
    assert response.status == 401
    pg.goto("/h5/")
    assert site.clear(other, "name") not in pg.content()


def test_h5_wrong_code_is_refused(new_page: Any, site: Site) -> None:
    pg = new_page(**PHONE)
    pg.goto("/h5/login")
    pg.fill("#h5-phone", site.clear(site.own["agent"], "phone"))
    pg.click("#h5-send-code")
    pg.locator("#h5-code").wait_for()
    pg.fill("#h5-code", "000000" if site.sent[-1][1] != "000000" else "111111")
    pg.click("#h5-code-submit")
    pg.locator("#h5-login-error").wait_for()
    assert "/h5/login" in pg.url or pg.url.endswith("/h5/login")
    shot(pg, "h5-login-wrong-code", full_page=False)
