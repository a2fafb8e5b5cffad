"""Every console page in the navigation opens for the administrator, in Chinese, with its charts
drawn and no script error; a screenshot of each goes to test-output/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, chart_drawn, login, shot

pytestmark = pytest.mark.browser


def test_every_console_page_opens_with_charts(page: Any, site: Site) -> None:
    login(page, site, "admin")
    links = page.locator("header nav a").evaluate_all("els => els.map(a => [a.getAttribute('href'), a.innerText])")
    assert len(links) >= 5, links
    links.append(["/console/tasks", "tasks"])  # linked from the dashboard
    problems = []
    for href, label in links:
        response = page.goto(href)
        status = response.status if response else None
        if status != 200:
            problems.append(f"{label} {href}: HTTP {status}")
            continue
        name = href.strip("/").split("/")[-1] if href.strip("/") != "console" else "dashboard"
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        for chart in page.locator(".chart:visible").all():
            chart_id = chart.get_attribute("id")
            if chart_id and chart_drawn(page, f"#{chart_id}") < 0.002:
                problems.append(f"{label} {href}: chart #{chart_id} is empty")
        shot(page, f"console-page-{name}")
    assert not problems, problems
