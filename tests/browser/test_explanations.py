"""Explanations of automated decisions in a real browser: the console page (opened from the customer 360
page's link) and the customer's H5 "why you see this" page show no untranslated English in zh, switch
to English, run under the content security policy without a script error, and the H5 page links to a
human review and to the consent page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, login, shot
from tests.browser.test_h5 import PHONE, h5_sign_in
from tests.browser.test_zh_cn_pages import untranslated, visible

pytestmark = pytest.mark.browser


def test_console_and_h5_explanations_in_chinese(new_page: Any, site: Site) -> None:
    customer = site.subject
    pg = new_page()
    login(pg, site, "agent")
    pg.goto(f"/console/customers/{customer}?lang=zh")
    with pg.expect_navigation():
        pg.click("#c360-explanations")
    assert pg.url.endswith(f"/console/customers/{customer}/explanations")
    pg.locator("#explanations").wait_for()
    assert "自动化决策说明" in pg.locator("#expl-title").inner_text()
    assert pg.locator(".decision").count() >= 6 and pg.locator(".decision.made .inputs").count() >= 1
    problems = untranslated(visible(pg, site))
    assert not problems, f"untranslated text on the console explanations page: {problems}"
    shot(pg, "console-explanations")
    pg.goto(f"/console/customers/{customer}/explanations?lang=en")
    assert "Automated decisions explained" in pg.locator("#expl-title").inner_text()
    assert "Inputs used" in pg.locator("body").inner_text()
    pg.goto(f"/console/customers/{customer}?lang=zh")  # the language cookie back to zh for later tests

    h5 = new_page(**PHONE)
    h5_sign_in(h5, site, site.clear(customer, "phone"))
    h5.goto("/h5/explanations?lang=zh")
    h5.locator("#h5-expl-title").wait_for()
    assert h5.locator(".h5-decision").count() >= 3
    assert h5.locator("#h5-expl-review").get_attribute("href") == "/h5/requests/new?kind=human_review"
    assert h5.locator("#h5-expl-consent").get_attribute("href") == "/h5/consent"
    problems = untranslated(visible(h5, site))
    assert not problems, f"untranslated text on the H5 explanations page: {problems}"
    shot(h5, "h5-explanations")
    h5.goto("/h5/explanations?lang=en")
    assert "Why I see this" in h5.locator("#h5-expl-title").inner_text()
    h5.goto("/h5/explanations?lang=zh")
