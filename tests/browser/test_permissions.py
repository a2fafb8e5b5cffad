"""Permission walls as a person meets them in the browser: foreign customers are "not found",
the analyst sees masked records without reveal or advice, anonymous visitors are sent to sign in."""

from __future__ import annotations

from typing import Any

import pytest

from shouhu.model.masking import mask_phone
from tests.browser.conftest import Site, login, search, shot
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_agent_gets_not_found_for_a_foreign_customer(page: Any, site: Site) -> None:
    foreign = site.foreign["agent"]
    phone = site.clear(foreign, "phone")
    login(page, site, "agent")
    response = page.goto(f"/console/customers/{foreign}")
    assert response is not None and response.status == 404
    assert page.locator("h1.error").inner_text().strip() == "未找到"
    text = page.content()
    assert phone not in text and mask_phone(phone) not in text  # nothing of the customer leaks
    assert site.clear(foreign, "name") not in text
    shot(page, "console-not-found")
    # the same customer through the other doors: search, the advice page, the review PDF
    page.goto("/console/customers")
    search(page, phone)
    assert page.locator("#no-results").is_visible()
    assert page.locator(f"a[href='/console/customers/{foreign}']").count() == 0
    for path in (f"/console/advice?customer_id={foreign}", f"/console/advice/review.pdf?customer_id={foreign}"):
        response = page.request.get(path)
        assert response.status == 404, f"{path}: {response.status}"


def test_analyst_has_no_reveal_and_no_advice(page: Any, site: Site) -> None:
    cid = site.own["agent"]
    login(page, site, "analyst")
    nav = page.locator("header nav")
    assert nav.locator("a[href='/console/customers']").count() == 1
    assert nav.locator("a[href='/console/advice']").count() == 0, "analysts may not run advice"
    response = page.goto(f"/console/customers/{cid}")
    assert response is not None and response.status == 200
    assert page.locator(".reveal").count() == 0 and page.locator("form[hx-post$='/reveal']").count() == 0
    assert "*" in page.locator("#field-name").inner_text(), "the analyst sees masked records"
    shot(page, "console-360-analyst")
    response = page.goto(f"/console/advice?customer_id={cid}")
    assert response is not None and response.status == 403
    assert page.locator("h1.error").inner_text().strip() == "无权访问"


@pytest.mark.parametrize("path", ["/console/", "/console/customers", "/console/advice"])
def test_anonymous_is_sent_to_login(page: Any, site: Site, path: str) -> None:
    page.goto(path)
    assert "/console/login" in page.url, f"{path} -> {page.url}"
    assert page.locator("#login-submit").is_visible()


def test_anonymous_link_to_a_customer_returns_there_after_login(page: Any, site: Site) -> None:
    cid = site.own["agent"]
    page.goto(f"/console/customers/{cid}")
    assert "/console/login" in page.url
    page.fill("input[name=user_id]", site.users["agent"])
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-submit")
    assert page.url.endswith(f"/console/customers/{cid}")
