"""Explanations of automated decisions through the application (SQLite and PostgreSQL): the API within the
caller's row scope (an agent gets 404 for a customer outside it), audited, masked (no clear phone, ID
number or income in the answer); the console page in zh and en, linked from the 360 page; the H5 page
showing only the signed-in customer's explanations; and ``shouhu explain``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select
from typer.testing import CliRunner

from shouhu.settings import get_settings
from shouhu.storage import accounts, audit
from shouhu.storage.tables import reflected
from shouhu.web.auth import H5_COOKIE
from tests.conftest import KEY
from tests.web.conftest import Web

API = "/api/v1/customers/{}/explanations"


def _clear(web: Web, customer_id: str) -> list[str]:
    """The customer's clear phone, ID number and income, as the test's needles."""
    cipher = web.client.app.state.shouhu.cipher  # type: ignore[attr-defined]
    cust, c360 = reflected(web.engine, "customer"), reflected(web.engine, "customer_360")
    with web.engine.connect() as conn:
        row = conn.execute(select(cust.c.phone_enc, cust.c.id_number_enc)
                           .where(cust.c.customer_id == customer_id)).one()
        income = conn.execute(select(c360.c.annual_income_enc).where(c360.c.customer_id == customer_id)).scalar()
    values = [cipher.decrypt(row.phone_enc), cipher.decrypt(row.id_number_enc)]
    money = cipher.decrypt(income) if income else None
    if money and float(money) >= 10_000:
        values += [money, f"{float(money):,.0f}"]
    return [v for v in values if v]


def _console(web: Web, role: str) -> TestClient:
    client = TestClient(web.client.app, base_url="http://127.0.0.1")
    web.login(role, client)
    return client


def _h5(web: Web, customer_id: str) -> TestClient:
    token, _ = accounts.create_session(web.engine, "customer", customer_id)
    return TestClient(web.client.app, base_url="http://127.0.0.1", cookies={H5_COOKIE: token})


def test_api_is_scoped_audited_and_masked(web: Web) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    r = web.client.get(API.format(own), headers=web.auth("agent"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer_id"] == own and body["data_as_of"]
    codes = {d["code"] for d in body["decisions"]}
    assert codes >= {"lapse_risk", "customer_value", "next_best_action", "protection_gap", "tag", "lifecycle_stage"}
    made = {d["code"] for d in body["decisions"] if d["made"]}
    assert {"customer_value", "lifecycle_stage"} <= made
    lapse = [d for d in body["decisions"] if d["code"] == "lapse_risk"]
    if not any(d["made"] for d in lapse):  # the small book's refresh runs no lapse model
        assert lapse[0]["not_made"]["zh"].startswith("未作出")
    for d in body["decisions"]:
        if d["made"]:
            assert d["outcome"]["zh"] and d["outcome"]["en"] and d["made_at"]
            assert all(i["shown"]["zh"] and i["shown"]["en"] for i in d["inputs"])
    for needle in _clear(web, own):
        assert needle not in r.text, "a clear personal value is in the explanation"
    entry = audit.read(web.engine, action="explanation", actor=web.users["agent"], limit=1)[0]
    assert entry["target_id"] == own and entry["target_kind"] == "customer"
    assert entry["detail"]["count"] == body["count"]["made"]

    denied = web.client.get(API.format(foreign), headers=web.auth("agent"))
    assert denied.status_code == 404 and foreign not in denied.text.replace(foreign, "", 1)
    assert audit.read(web.engine, action="explanation", actor=web.users["agent"], limit=1)[0]["target_id"] == own
    assert web.client.get(API.format(own)).status_code == 401

    # analysts never see income: the inputs say so instead of showing it
    analyst = web.client.get(API.format(own), headers=web.auth("analyst")).json()
    incomes = [i for d in analyst["decisions"] for i in d["inputs"] if i["name"] == "annual_income"]
    assert incomes and all(i["value"] is None and i["shown"]["en"] == "(not shown to you)" for i in incomes)

    mine = web.client.get(API.format(own), params={"audience": "customer"}, headers=web.auth("agent")).json()
    assert all("internal" not in d for d in mine["decisions"])
    assert "expected_value" not in json.dumps(mine)


def test_console_page_in_zh_and_en_linked_from_the_360_page(web: Web) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    client = _console(web, "agent")
    c360 = client.get(f"/console/customers/{own}")
    assert c360.status_code == 200 and f'href="/console/customers/{own}/explanations"' in c360.text
    zh = client.get(f"/console/customers/{own}/explanations?lang=zh")
    assert zh.status_code == 200, zh.text
    assert "自动化决策说明" in zh.text and 'id="decision-1"' in zh.text and "《个人信息保护法》第二十四条" in zh.text
    assert "使用的信息" in zh.text and "申请人工复核" in zh.text
    en = client.get(f"/console/customers/{own}/explanations?lang=en")
    assert en.status_code == 200
    assert "Automated decisions explained" in en.text and "PIPL art. 24" in en.text and "Inputs used" in en.text
    for needle in _clear(web, own):
        assert needle not in zh.text and needle not in en.text
    assert client.get(f"/console/customers/{foreign}/explanations").status_code == 404
    entries = audit.read(web.engine, action="explanation", actor=web.users["agent"], limit=5)
    assert [e["detail"]["lang"] for e in entries[:2]] == ["en", "zh"]


def _outcomes(web: Web, customer_id: str) -> list[str]:
    body = web.client.get(API.format(customer_id), params={"audience": "customer"},
                          headers=web.auth("admin")).json()
    return [d["outcome"]["zh"] for d in body["decisions"] if d["made"]]


def test_h5_shows_only_the_signed_in_customers_explanations(web: Web) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    page = _h5(web, own).get("/h5/explanations", params={"customer_id": foreign})  # a slipped-in id is ignored
    assert page.status_code == 200, page.text
    assert "为什么推荐给我" in page.text
    assert 'href="/h5/requests/new?kind=human_review"' in page.text and 'href="/h5/consent"' in page.text
    shown = re.findall(r'<p class="t outcome"><b>(.*?)</b></p>', page.text)
    assert shown == [str(escape(o)) for o in _outcomes(web, own)] and shown  # exactly the customer's decisions
    assert foreign not in page.text
    other = re.findall(r'<p class="t outcome"><b>(.*?)</b></p>', _h5(web, foreign).get("/h5/explanations").text)
    assert other == [str(escape(o)) for o in _outcomes(web, foreign)]
    for needle in _clear(web, own):
        if needle.isdigit() and len(needle) >= 11:  # phone and ID number stay masked, even to the customer
            assert needle not in page.text
    for internal in ("期望价值", "利润率假设", "内部排序依据"):
        assert internal not in page.text
    entry = audit.read(web.engine, action="explanation", actor=f"customer:{own}", limit=1)[0]
    assert entry["target_id"] == own
    en = _h5(web, own).get("/h5/explanations?lang=en")
    assert "Why I see this" in en.text and "Ask for a human review" in en.text
    # staff cannot open it, nor can an anonymous visitor
    assert web.client.get("/h5/explanations", follow_redirects=False).status_code == 303
    staff = _console(web, "admin")
    assert staff.get("/h5/explanations", follow_redirects=False).headers["location"].startswith("/h5/login")


@pytest.mark.parametrize("as_json", [True, False])
def test_cli_explains_masked_and_audited(web: Web, monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    from shouhu.cli.main import app

    own = web.own["agent"]
    for name, value in (("SHOUHU_SERVING_URL", str(web.settings.serving)),
                        ("SHOUHU_WAREHOUSE_URL", str(web.settings.warehouse_url)),
                        ("SHOUHU_DATA_DIR", str(web.settings.data_dir)), ("SHOUHU_ENCRYPTION_KEY", KEY)):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["explain", own, *(["--json"] if as_json else [])])
        missing = CliRunner().invoke(app, ["explain", "CU000000000000"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    if as_json:
        body: dict[str, Any] = json.loads(result.stdout)
        assert body["customer_id"] == own and body["decisions"]
    else:
        assert "自动化决策说明" in result.stdout and "生命周期阶段" in result.stdout
    for needle in _clear(web, own):
        assert needle not in result.stdout
    assert missing.exit_code == 1 and "no customer" in missing.stderr
    entry = audit.read(web.engine, action="explanation", limit=1)[0]
    assert entry["target_id"] == own and entry["actor"].startswith("cli:")
