"""Data-subject requests in a real browser: the customer asks for a copy on the H5 pages, compliance completes
it from the console queue, the customer downloads it; every page Chinese first, no script errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Site, login, shot
from tests.browser.test_h5 import PHONE, h5_sign_in
from tests.browser.test_zh_cn_pages import untranslated, visible

pytestmark = pytest.mark.browser


def test_a_copy_from_request_to_download(new_page: Any, site: Site) -> None:
    customer = site.subject
    pg = new_page(**PHONE)
    h5_sign_in(pg, site, site.clear(customer, "phone"))
    pg.goto("/h5/consent")
    with pg.expect_navigation():
        pg.click("#h5-to-requests")
    pg.select_option("#h5-request-kind", "portability")
    with pg.expect_navigation():
        pg.click("#h5-request-submit")
    assert pg.locator("#h5-request-saved").is_visible()
    problems = untranslated(visible(pg, site))
    assert not problems, f"untranslated text on the H5 requests page: {problems}"
    shot(pg, "h5-requests")

    staff = new_page()
    login(staff, site, "compliance")
    staff.goto("/console/requests")
    row = staff.locator(".request-row", has_text=customer).first
    with staff.expect_navigation():
        row.locator("a").first.click()
    problems = untranslated(visible(staff, site))
    assert not problems, f"untranslated text on the request page: {problems}"
    with staff.expect_navigation():
        staff.click("#request-complete")
    assert staff.locator("#request-status").get_attribute("data-status") == "done"
    assert "✓" in staff.locator("#request-outcome").inner_text()
    shot(staff, "console-request-done")

    pg.goto("/h5/requests")
    link = pg.locator("a[id^='h5-copy-']").first
    with pg.expect_download() as got:
        link.click()
    data = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert data["customer_id"] == customer and data["tables"]["customer"]
