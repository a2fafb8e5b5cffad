"""Needs diagnosis in the console, as an agent would run it with a customer: find the customer,
take the risk questionnaire, diagnose and plan (charts drawn), download the review PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shouhu.storage import audit
from tests.browser.conftest import Site, chart_drawn, js_errors, login, shot
from tests.reports.cjk import assert_chinese_pdf, poppler

pytestmark = pytest.mark.browser


def test_diagnosis_plan_and_review_pdf(page: Any, site: Site, tmp_path: Path) -> None:
    cid = site.subject
    login(page, site, "agent")
    page.click("header nav a[href='/console/advice']")
    page.wait_for_url("**/console/advice")
    page.fill("#advice-search", site.clear(cid, "phone"))
    page.click("#advice-search-submit")
    page.click(f"#advice-customers a.advice-pick[href$='customer_id={cid}']")
    page.wait_for_url(f"**/console/advice?customer_id={cid}")
    assert "需求诊断" in page.locator("h1").inner_text()
    shot(page, "console-advice")

    # step 1: the risk questionnaire (the boldest answer to every question, so that products qualify)
    form = page.locator("#risk-form")
    if not form.is_visible():
        page.locator("#step-risk_tolerance summary").click()
    for fieldset in form.locator("fieldset").all():
        fieldset.locator("input[type=radio]").last.check()
    with page.expect_navigation():
        page.click("#risk-submit")
    assert page.locator("#advice-saved").is_visible()
    assert "R" in page.locator("#advice-risk-level").inner_text()

    # step 3: diagnose and plan
    page.fill("#advice-budget", "30000")
    page.click("#advice-run")
    page.locator("#advice-plan").wait_for()
    assert page.locator("#advice-diagnosis").is_visible()
    charts = page.locator("#advice-diagnosis .gap-chart")
    assert charts.count() >= 1
    assert chart_drawn(page, f"#{charts.first.get_attribute('id')}") > 0.005, "the gap chart is empty"
    assert "适当性" in page.locator("#advice-plan").inner_text()
    assert page.locator("table#plan-recommended tr").count() >= 2, "the recommended plan holds no product"
    shot(page, "console-advice-plan")

    # the review report as PDF
    before = len(audit.read(site.engine, action="export", target_id=cid))
    with page.expect_download() as info:
        page.click("#review-pdf")
    download = info.value
    pdf = tmp_path / (download.suggested_filename or "review.pdf")
    download.save_as(pdf)
    assert pdf.suffix == ".pdf" and pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 20_000, f"the review PDF is only {pdf.stat().st_size} bytes"
    assert len(audit.read(site.engine, action="export", target_id=cid)) == before + 1, "download not audited"
    poppler()
    assert_chinese_pdf(pdf, "家庭保单检视报告")
    assert not js_errors(page), js_errors(page)


def test_review_in_english(page: Any, site: Site, tmp_path: Path) -> None:
    login(page, site, "agent")
    page.goto(f"/console/advice?customer_id={site.subject}&lang=en")
    assert "Needs diagnosis" in page.locator("h1").inner_text()
    with page.expect_download() as info:
        page.click("#review-pdf")
    pdf = tmp_path / "review-en.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
    poppler()
    assert_chinese_pdf(pdf, "Household policy review")
