"""The zh-CN console and H5 show no untranslated codes: every console page in the navigation of every
role, plus the customer 360 page, search results, a service case, identity review (with a customer's
history), the audit log, data quality, accounts, scorecards and the simulator, needs diagnosis, the H5
pages (with a plan) and the 404 pages. Visible text must hold no snake_case identifier, no English
word outside a short allowlist, no literal "None", no ISO timestamp ("2026-01-01T08:00"), no JSON
("{"). Times are Beijing time. Also: the favicon, the accounts form's user-name pattern (it used to be
an invalid regular expression in Chromium), the H5 calling the customer 本人, and "contact my agent"
after an H5 plan creating an audited task for the customer's agent."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shouhu.storage import audit
from shouhu.storage.tables import customer_scope, task
from tests.browser.conftest import Site, login, search, shot
from tests.browser.test_h5 import PHONE, h5_sign_in

pytestmark = pytest.mark.browser
ROLES = ("admin", "head_office", "branch_manager", "agent", "service", "health_manager", "analyst", "compliance")

# Latin words that are right in a Chinese page: the brand, the language switch, and acronyms and
# names Chinese staff use as they are.
ALLOWED = {"shouhu", "English", "KPI", "ROI", "CSV", "PDF", "App", "Shapley", "JSON", "GB", "SLA", "H5", "ID",
           "CU", "YYYY", "MM", "DD"}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
NONE = re.compile(r"\bNone\b|\bnull\b|\bundefined\b|\bNaN\b")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[._@:-][A-Za-z0-9]+)*")
FILE = re.compile(r"\.(csv|xlsx|parquet|jsonl|json|pdf)$", re.IGNORECASE)
FILE_NAME = re.compile(r"[\w./-]+\.(?:csv|xlsx|parquet|jsonl|json|pdf)\b", re.IGNORECASE)  # an extract's name
QUOTED = re.compile(r"'[^'\n]*'|‘[^’\n]*’")  # a raw value echoed from a source file (data, not UI)


def untranslated(text: str) -> list[str]:
    """What in a page's visible text is not Chinese UI: codes, English words, None, ISO times, JSON."""
    text = FILE_NAME.sub(" ", QUOTED.sub(" ", text))
    found = [f"snake_case {m}" for m in SNAKE.findall(text)]
    found += [f"ISO time {m}" for m in ISO.findall(text)]
    found += [f"literal {m}" for m in NONE.findall(text)]
    found += [f"JSON {line.strip()[:60]}" for line in text.splitlines() if "{" in line or "}" in line]
    for word in WORD.findall(text):
        if any(ch.isdigit() for ch in word) or FILE.search(word) or word in ALLOWED or len(word) < 2:
            continue  # ids (customer, policy, staff, branch numbers), file names
        if word.isupper() and len(word) <= 4:
            continue  # acronyms
        found.append(f"English {word}")
    return sorted(set(found))


def visible(pg: Any, site: Site) -> str:
    """The page's visible text without data that is Latin by nature: the test accounts' names (测试agent,
    t-agent), masked values (3*****m for an e-mail) and ``<code>`` (template variables, typed as they are)."""
    pg.wait_for_load_state("networkidle")
    text = pg.locator("body").inner_text()
    literals = sorted({c.strip() for c in pg.locator("code").all_inner_texts()}, key=len, reverse=True)
    for literal in literals:  # what a user types as it is ({{ customer_name }}), longest first
        if literal:
            text = text.replace(literal, " ")
    for masked in pg.locator(".masked").all_inner_texts():
        if masked.strip():
            text = text.replace(masked.strip(), " ")
    for role, user in site.users.items():
        text = text.replace(f"测试{role}", "测试账号").replace(user, "账号")
    return text


def check(pg: Any, site: Site, where: str, problems: dict[str, list[str]]) -> None:
    bad = untranslated(visible(pg, site))
    if bad:
        problems[where] = bad


def _nav(pg: Any) -> list[str]:
    hrefs = pg.locator("header nav a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    return [str(h) for h in hrefs]


def _open_case(pg: Any, customer_id: str) -> str:
    pg.goto(f"/console/cases/new?customer_id={customer_id}")
    pg.select_option("#case-type", "complaint")
    pg.fill("#case-subject", "客户投诉服务态度")
    with pg.expect_navigation():
        pg.click("#case-submit")
    assert re.search(r"/console/cases/\d+$", pg.url), f"the case was not opened: {pg.url}"
    return str(pg.url)


def test_every_console_page_is_chinese_for_every_role(new_page: Any, site: Site) -> None:
    problems: dict[str, list[str]] = {}
    for role in ROLES:
        pg = new_page()
        login(pg, site, role)
        pages = _nav(pg)
        assert pages, f"{role} has no navigation"
        pages += ["/console/tasks", "/console/tasks?action=", f"/console/customers/{site.own[role]}",
                  "/console/cases?view=all"]
        if role in ("admin", "head_office"):
            pages += ["/console/workforce/simulate", "/console/workforce/simulate?plan=volume"]
        for href in pages:
            response = pg.goto(href)
            assert response is not None and response.status == 200, f"{role} {href}: {response and response.status}"
            check(pg, site, f"{role} {href}", problems)
        pg.goto("/console/customers")
        name = site.clear(site.own[role], "name")
        search(pg, name[0])  # a surname: many rows, cities and stages
        check(pg, site, f"{role} search", problems)
    shot(pg, "zh-console-last-role")
    assert not problems, "untranslated text in zh-CN pages:\n" + "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_pages_behind_actions_are_chinese(new_page: Any, site: Site) -> None:
    """A case, identity review with a customer's history, the audit log's hash check, the quality
    filter, channel attribution, needs diagnosis with a result, and the accounts form."""
    problems: dict[str, list[str]] = {}
    pg = new_page()
    login(pg, site, "admin")
    _open_case(pg, site.subject)
    check(pg, site, "case", problems)
    shot(pg, "zh-case")

    pg.goto("/console/identity")
    check(pg, site, "identity", problems)
    customer = pg.locator("#identity-queue a[href^='/console/customers/']").first.inner_text().strip() \
        if pg.locator("#identity-queue a[href^='/console/customers/']").count() else site.subject
    pg.fill("#history-customer", customer)
    pg.click("#history-submit")
    pg.locator("#history-view").wait_for()
    check(pg, site, "identity history", problems)
    pg.goto("/console/identity?view=split&min=50")
    check(pg, site, "identity filtered", problems)
    shot(pg, "zh-identity")

    pg.goto("/console/audit")
    pg.locator("#audit-entries").wait_for()
    check(pg, site, "audit", problems)
    pg.goto("/console/quality")
    check(pg, site, "quality", problems)
    pg.select_option("#quarantine-source", index=1)
    pg.click("#quarantine-submit")
    check(pg, site, "quality filtered", problems)
    pg.goto("/console/channels")
    pg.locator("#attribution-table").wait_for()
    check(pg, site, "channels", problems)
    pg.goto(f"/console/advice?customer_id={site.subject}&run=1")
    check(pg, site, "advice", problems)
    pg.goto(f"/console/advice?q={site.clear(site.subject, 'name')[0]}")  # the customer picker's results
    assert pg.locator(".advice-pick").count() > 0
    check(pg, site, "advice search", problems)
    pg.goto("/console/users")
    check(pg, site, "users", problems)
    assert not problems, "untranslated text:\n" + "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_audit_times_are_beijing_time(page: Any, site: Site) -> None:
    login(page, site, "compliance")
    page.goto("/console/audit?action=login")
    first = page.locator("#audit-entries tr[id^='audit-'] td").nth(1).inner_text().strip()
    shown = datetime.strptime(first, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert abs(datetime.now(UTC) - shown) < timedelta(minutes=10), f"{first} is not Beijing time now"


def test_404_pages_are_chinese(new_page: Any, site: Site) -> None:
    anonymous = new_page()
    for path in ("/console/no-such-page", "/h5/no-such-page", "/no-such-page"):
        response = anonymous.goto(path)
        assert response is not None and response.status == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        text = visible(anonymous, site)
        assert "未找到" in text and not untranslated(text), (path, text)
    staff = new_page()
    login(staff, site, "agent")
    response = staff.goto(f"/console/customers/{site.foreign['agent']}")  # outside the agent's scope
    assert response is not None and response.status == 404
    text = visible(staff, site)
    assert "未找到" in text and "权限范围" in text and not untranslated(text), text
    shot(staff, "zh-404")


def test_favicon(page: Any, site: Site) -> None:
    response = page.request.get("/favicon.ico")
    assert response.status == 200 and response.headers["content-type"].startswith("image/svg+xml")
    page.goto("/console/login")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href and page.request.get(href).status == 200


def test_accounts_form_checks_the_user_name_in_the_browser(page: Any, site: Site) -> None:
    """The user-name pattern compiles under Chromium's /v flag (no console error, which the page fixture
    would report) and refuses a Chinese name before the form is sent."""
    login(page, site, "admin")
    page.goto("/console/users")
    page.fill("#new-user-id", "张 三")
    assert page.locator("#new-user-id").evaluate("el => el.validity.patternMismatch") is True
    page.fill("#new-user-id", "zhang.san@sz-01")
    assert page.locator("#new-user-id").evaluate("el => el.validity.patternMismatch") is False


def _plan(pg: Any, site: Site) -> None:
    pg.goto("/h5/advisor")
    if pg.locator("#h5-risk-submit").count():  # an earlier test of the session may have assessed the customer
        for fieldset in pg.locator("#h5-risk-form fieldset").all():
            fieldset.locator("input[type=radio]").last.check()
        with pg.expect_navigation():
            pg.click("#h5-risk-submit")
    me = site.record(site.subject)
    pg.evaluate("document.querySelectorAll('#h5-step-fact details').forEach(d => { d.open = true; })")
    form = pg.locator("#h5-fact-form")
    form.locator("input[name=age]").fill(str(me["age"]))
    form.locator("select[name=sex]").select_option("F" if me["gender"] == "F" else "M")
    form.locator("input[name=annual_income]").fill("240000")
    form.locator("select[name=dependents-0-relation]").select_option("child")
    form.locator("input[name=dependents-0-age]").fill("6")
    with pg.expect_navigation():
        pg.click("#h5-fact-submit")
    assert "/h5/plan" in pg.url
    pg.locator("#h5-plan").wait_for()


def test_h5_is_chinese_calls_the_customer_self_and_contacts_the_agent(new_page: Any, site: Site) -> None:
    problems: dict[str, list[str]] = {}
    pg = new_page(**PHONE)
    h5_sign_in(pg, site, site.clear(site.subject, "phone"))
    for path in ("/h5/", "/h5/advisor", "/h5/policies", "/h5/cases"):
        pg.goto(path)
        check(pg, site, path, problems)
    _plan(pg, site)
    check(pg, site, "/h5/plan", problems)
    assert not problems, problems

    own = [el.inner_text() for el in pg.locator("#h5-plan .plan-item .m").all()]
    why = pg.locator("#h5-plan .plan-item details p").all_text_contents()
    mine = [text for text in why if "本人" in text]
    assert mine, f"no plan item is the customer's own (本人): {why}"
    assert all("户主(" not in text and "配偶(" not in text for text in mine)
    assert any(text.startswith("本人") for text in own), own

    since = datetime.now(UTC) - timedelta(minutes=1)
    with pg.expect_navigation():
        pg.click("#h5-contact-submit")
    assert pg.locator("#h5-contact-done").is_visible()
    shot(pg, "zh-h5-contact", full_page=False)
    with site.engine.connect() as conn:
        agent = conn.execute(select(customer_scope.c.agent_id)
                             .where(customer_scope.c.customer_id == site.subject)).scalar_one()
        made = conn.execute(select(task).where(task.c.customer_id == site.subject, task.c.source == "customer")
                            ).mappings().all()
    assert len(made) == 1 and made[0]["owner_staff_id"] == agent and made[0]["status"] == "open", made
    entries = [e for e in audit.read(site.engine, action="contact_agent", limit=20)
               if e["target_id"] == str(made[0]["id"])]
    assert entries and datetime.fromisoformat(entries[0]["at"]) >= since, entries

    pg.goto("/h5/plan")  # asking again while the first request is open adds nothing
    with pg.expect_navigation():
        pg.click("#h5-contact-submit")
    assert pg.locator("#h5-contact-pending").is_visible()
    with site.engine.connect() as conn:
        again = conn.execute(select(task.c.id).where(task.c.customer_id == site.subject,
                                                     task.c.source == "customer")).all()
    assert len(again) == 1, again

    staff = new_page()
    login(staff, site, "agent")
    staff.goto("/console/tasks?action=&offset=0")
    check(staff, site, "agent tasks after contact", problems)
    staff.goto(f"/console/advice?customer_id={site.subject}")  # the customer's answers, with their times
    assert staff.locator("#advice-risk-level").inner_text().strip()
    check(staff, site, "advice after the H5 questionnaires", problems)
    assert not problems, problems
