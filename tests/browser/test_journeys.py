"""Journeys in a real browser: head office writes a journey in the console editor (check shows the
field path of a mistake, then the node table), publishes it, the worker runs it for a customer and the
journey page shows the statistics, all in Chinese (and in English after the switch); a message template
goes from draft to approval by compliance; the customer sees the message in the H5 inbox and withdraws
a consent with one tap. Every page runs under the content security policy without a script error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shouhu.journeys import engine as jeng
from shouhu.storage import journeys as store
from tests.browser.conftest import Site, login, shot
from tests.browser.test_h5 import PHONE, h5_sign_in
from tests.browser.test_zh_cn_pages import untranslated, visible

pytestmark = pytest.mark.browser

JOURNEY = """key: browser_welcome
name: {zh-CN: 新保单欢迎, en: New policy welcome}
entry: {event: policy_issued}
goal: {event: content_read, within_days: 14}
start: split
nodes:
  split:
    type: split
    holdout: 0
    arms: {guide_first: {weight: 100, next: guide}}
  guide: {type: content, title: 新保单使用指南, link: /h5/inbox, next: done}
  done: {type: end}
"""


def test_journey_editor_publish_and_statistics(new_page: Any, site: Site) -> None:
    pg = new_page()
    login(pg, site, "head_office")
    pg.goto("/console/journeys")
    pg.fill("#journey-source", JOURNEY.replace("next: done", "next: nowhere"))
    with pg.expect_navigation():
        pg.click("#journey-check")
    assert "nodes.guide" in pg.locator("#journey-errors").inner_text()
    pg.fill("#journey-source", JOURNEY)
    with pg.expect_navigation():
        pg.click("#journey-check")
    assert pg.locator("#journey-ok").is_visible()
    assert "A/B分流" in pg.locator("#journey-nodes").inner_text()
    with pg.expect_navigation():
        pg.click("#journey-publish")
    assert pg.url.endswith("/console/journeys/browser_welcome?published=v1")
    assert "新保单欢迎" in pg.locator("#journey-title").inner_text()

    customer = site.own["head_office"]
    jeng.add_events(site.engine, [jeng.event_row(customer, "policy_issued", datetime.now(UTC))])
    jeng.Worker(site.engine, adapters={}).run(until_idle=True)
    pg.goto("/console/journeys/browser_welcome?steps=guide&by=arm")
    pg.locator("#journey-funnel").wait_for()
    stats = pg.locator("#journey-stats").inner_text()
    assert "guide" in stats and "已推送" in stats
    problems = untranslated(visible(pg, site))
    assert not problems, f"untranslated text on the journey page: {problems}"
    shot(pg, "console-journey")
    pg.goto("/console/journeys/browser_welcome?lang=en")
    assert "Node statistics" in pg.locator("body").inner_text()
    pg.goto("/console/journeys?lang=zh")


def test_form_editor_draws_the_graph_and_adds_nodes(new_page: Any, site: Site) -> None:
    """Without typing YAML: the new-journey form, then a node added on the start's exit with only the
    fields of its type shown; the graph is drawn (ECharts) and the page stays Chinese."""
    pg = new_page()
    login(pg, site, "head_office")
    pg.goto("/console/journeys")
    pg.fill("#new-key", "browser_form")
    pg.fill("#new-name-zh", "表单生日关怀")
    pg.select_option("#new-event", "birthday")
    with pg.expect_navigation():
        pg.click("#journey-new-submit")
    assert pg.locator("#journey-ok").is_visible()
    pg.locator("#journey-graph[data-ready='1']").wait_for()
    assert pg.locator("#journey-graph canvas").count() >= 1
    pg.select_option("#add-after", "@start")
    pg.select_option("#add-type", "message")
    assert pg.locator("#add-template").is_visible() and not pg.locator("#add-title").is_visible()
    pg.select_option("#add-type", "task")
    assert pg.locator("#add-title").is_visible() and not pg.locator("#add-template").is_visible()
    pg.fill("#add-node-id", "wish")
    pg.fill("#add-title", "生日祝福致电")
    with pg.expect_navigation():
        pg.click("#journey-add-node")
    assert "生日祝福致电" in pg.locator("#journey-nodes").inner_text()
    assert "start: wish" in pg.locator("#journey-source").input_value()
    pg.locator("#journey-graph[data-ready='1']").wait_for()
    assert int(pg.locator("#journey-graph").get_attribute("data-nodes") or 0) == 2
    shot(pg, "console-journey-form-editor")
    with pg.expect_navigation():
        pg.click("#journey-publish")
    assert pg.url.endswith("/console/journeys/browser_form?published=v1")
    pg.locator("#journey-graph[data-ready='1']").wait_for()


def test_template_approval_by_compliance(new_page: Any, site: Site) -> None:
    author = new_page()
    login(author, site, "head_office")
    author.goto("/console/templates")
    author.fill("#template-code", "browser_notice")
    author.select_option("#template-channel", "inbox")
    author.select_option("#template-kind", "service")
    author.fill("#template-subject-zh", "服务通知")
    author.fill("#template-body-zh", "{{ customer_name }}您好，您的保单已生效。")
    author.fill("#template-subject-en", "Notice")
    author.fill("#template-body-en", "Dear {{ customer_name }}, your policy is in force.")
    with author.expect_navigation():
        author.click("#template-save")
    assert "张*您好，您的保单已生效。" in author.locator("#template-preview-zh").inner_text()
    with author.expect_navigation():
        author.click("#template-submit")
    assert author.locator("#template-status").get_attribute("data-status") == "pending"
    assert author.locator("#template-approve").count() == 0  # head office cannot approve
    shot(author, "console-template-pending")

    reviewer = new_page()
    login(reviewer, site, "compliance")
    reviewer.goto("/console/templates")
    problems = untranslated(visible(reviewer, site))
    assert not problems, f"untranslated text on the templates page: {problems}"
    with reviewer.expect_navigation():
        reviewer.click("#template-browser_notice-1 a")
    reviewer.fill("input[name=note]", "内容合规")
    with reviewer.expect_navigation():
        reviewer.click("#template-approve")
    assert reviewer.locator("#template-status").get_attribute("data-status") == "approved"
    row = store.template_row(site.engine, "browser_notice")
    assert row is not None and row["reviewed_by"] == site.users["compliance"]


def test_h5_inbox_and_one_tap_withdrawal(new_page: Any, site: Site) -> None:
    customer = site.subject
    with site.engine.begin() as conn:
        assert store.add_inbox(conn, {"customer_id": customer, "kind": "content", "subject": "新保单使用指南",
                                      "body": "", "link": "/h5/inbox", "idempotency_key": "browser-inbox-1",
                                      "created_at": store.stamp(datetime.now(UTC))})
    pg = new_page(**PHONE)
    h5_sign_in(pg, site, site.clear(customer, "phone"))
    pg.goto("/h5/inbox")
    assert "新保单使用指南" in pg.locator("body").inner_text()
    pg.goto("/h5/consent")
    with pg.expect_navigation():
        pg.click("#h5-grant-marketing")
    with pg.expect_navigation():
        pg.click("#h5-withdraw-marketing")  # as easy as granting: one tap
    assert pg.locator("#h5-grant-marketing").is_visible()
    with site.engine.connect() as conn:
        assert store.consent_state(conn, customer)[("marketing", "any")] is False
    shot(pg, "h5-consent")
