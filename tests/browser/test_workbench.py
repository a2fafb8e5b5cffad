"""The agent workbench on a phone (390 × 844): nothing wider than the screen, one tap completes a task
with its outcome (the card changes in place, no reload), snooze, and the diagnosis link opens the
customer's needs diagnosis."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shouhu.storage import activities as activity_store
from tests.browser.conftest import Site, login, shot
from tests.browser.test_h5 import PHONE

pytestmark = pytest.mark.browser


def _width_overflow(pg: Any) -> int:
    return int(pg.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_workbench_on_a_phone(new_page: Any, site: Site) -> None:
    own, me = site.own["agent"], site.users["agent"]
    ids = [activity_store.create_task(site.engine, {
        "customer_id": own, "owner_user_id": me, "title": f"手机工作台任务{i}", "source": "manual",
        "status": "open", "priority": 1, "due_date": date.today().isoformat()}, "browser") for i in range(2)]
    pg = new_page(**PHONE)
    login(pg, site, "agent")
    pg.goto("/console/work")
    assert pg.locator("#wb-title").inner_text() == "我的工作台"
    assert _width_overflow(pg) <= 0, "the workbench is wider than a 390px screen"
    card = pg.locator(f"#task-{ids[0]}")
    box = card.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(pg, "console-workbench-phone")

    card.locator("select[name=outcome]").select_option("contacted")
    card.locator(f"#task-{ids[0]}-submit").tap()
    done = pg.locator(f"#task-{ids[0]}-done")
    done.wait_for()
    assert "已联系" in done.inner_text()
    pg.locator(f"#task-{ids[1]}-snooze-1").tap()
    pg.locator(f"#task-{ids[1]}-snoozed").wait_for()
    assert _width_overflow(pg) <= 0
    shot(pg, "console-workbench-phone-done")

    with pg.expect_navigation():
        pg.locator(".wb-cust .wb-links a.button").first.tap()
    assert "/console/advice?customer_id=" in pg.url and "run=1" in pg.url
    pg.locator("#advice-result").wait_for()
