"""The audit log over the web (list, filter, verify) with tamper detection, the consent overview,
who may read them, and ``shouhu audit verify`` exiting 1 on a tampered log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from shouhu.settings import get_settings
from shouhu.storage import audit, serving
from shouhu.storage.tables import audit_log, reflected
from tests.web.conftest import Web, post_login

runner = CliRunner()


def _some_entries(web: Web) -> None:
    """Five entries: token logins leave none, so write reveals and a failed login."""
    for i in range(4):
        r = web.client.post(f"/api/v1/customers/{web.own['agent']}/reveal", headers=web.auth("agent"),
                            json={"fields": ["phone"], "reason": f"回访核实{i}"})
        assert r.status_code == 200, r.text
    r = post_login(web.client, {"user_id": "nobody", "password": "wrong-password"})
    assert r.status_code == 401


def test_list_filter_and_verify(web: Web) -> None:
    _some_entries(web)
    headers = web.auth("compliance")
    r = web.client.get("/api/v1/audit", headers=headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [e["seq"] for e in items] == sorted((e["seq"] for e in items), reverse=True)
    assert {e["action"] for e in items} >= {"reveal", "login_failed"}
    reveals = web.client.get("/api/v1/audit?action=reveal", headers=headers).json()["items"]
    assert len(reveals) == 4 and all(e["actor"] == web.users["agent"] for e in reveals)
    assert reveals[0]["reason"] == "回访核实3" and reveals[0]["detail"] == {"fields": ["phone"]}
    mine = web.client.get(f"/api/v1/audit?actor={web.users['agent']}&target_id={web.own['agent']}",
                          headers=headers).json()
    assert mine["count"] == 4
    page = web.client.get("/api/v1/audit?limit=2", headers=headers).json()
    assert page["count"] == 2 and page["next_before_seq"] == page["items"][-1]["seq"]
    older = web.client.get(f"/api/v1/audit?limit=2&before_seq={page['next_before_seq']}", headers=headers).json()
    assert older["items"][0]["seq"] == page["next_before_seq"] - 1
    assert web.client.get("/api/v1/audit?limit=0", headers=headers).status_code == 422

    verified = web.client.get("/api/v1/audit/verify", headers=web.auth("admin")).json()
    assert verified["ok"] is True and verified["entries"] == audit.count(web.engine) and verified["broken_at"] is None
    head = verified["head"]
    r = web.client.get(f"/api/v1/audit/verify?expect_head={head}", headers=headers)
    assert r.json()["ok"] is True
    r = web.client.get("/api/v1/audit/verify?expect_head=abc", headers=headers)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "query.expect_head"


def test_tampering_is_reported(web: Web) -> None:
    _some_entries(web)
    headers = web.auth("compliance")
    with web.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(reason="nothing to see"))
    r = web.client.get("/api/v1/audit/verify", headers=headers).json()
    assert r["ok"] is False and r["broken_at"] == 3 and r["entries"] == 2 and "changed" in r["problem"]


def test_deleting_entries_is_reported(web: Web) -> None:
    _some_entries(web)
    headers = web.auth("admin")
    before = web.client.get("/api/v1/audit/verify", headers=headers).json()
    assert before["ok"] is True
    last = before["entries"]
    with web.engine.begin() as conn:  # cut the tail: only a head hash kept from before can tell
        conn.execute(delete(audit_log).where(audit_log.c.seq == last))
    assert web.client.get("/api/v1/audit/verify", headers=headers).json()["ok"] is True
    r = web.client.get(f"/api/v1/audit/verify?expect_head={before['head']}", headers=headers).json()
    assert r["ok"] is False and r["broken_at"] is None and "head differs" in r["problem"]
    with web.engine.begin() as conn:  # remove one from the middle
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    r = web.client.get("/api/v1/audit/verify", headers=headers).json()
    assert r["ok"] is False and r["broken_at"] == 3 and "entry 2 is missing" in r["problem"]


def test_roles_without_audit(web: Web) -> None:
    for role in ("head_office", "branch_manager", "agent", "service", "health_manager", "analyst"):
        headers = web.auth(role)
        assert web.client.get("/api/v1/audit", headers=headers).status_code == 403, role
        assert web.client.get("/api/v1/audit/verify", headers=headers).status_code == 403, role
        assert web.client.get("/api/v1/consent", headers=headers).status_code == 403, role
    assert web.client.get("/api/v1/consent", headers=web.auth("admin")).status_code == 200


def test_consent_overview(web: Web) -> None:
    r = web.client.get("/api/v1/consent", headers=web.auth("compliance"))
    assert r.status_code == 200, r.text
    body = r.json()
    c360 = reflected(web.engine, "customer_360")
    with web.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(c360)).scalar_one()
        yes = conn.execute(select(func.count()).where(c360.c.marketing_consent.is_(True))).scalar_one()
    assert body["customers"] == total and body["consented"] == yes
    assert body["consented"] + body["not_consented"] + body["unknown"] == total
    assert sum(s["customers"] for s in body["by_lifecycle_stage"]) == total


def test_console_audit(web: Web) -> None:
    _some_entries(web)
    web.login("compliance")
    page = web.client.get("/console/audit")
    assert page.status_code == 200
    for element in ('id="audit-entries"', 'id="audit-verify-btn"', 'id="audit-filter"', 'id="consent-summary"',
                    'id="chart-consent"'):
        assert element in page.text
    part = web.client.get("/console/audit?action=reveal", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text and part.text.count('data-action="reveal"') == 4
    ok = web.client.get("/console/audit/verify")
    assert ok.status_code == 200 and 'id="audit-ok"' in ok.text
    with web.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone-else"))
    broken = web.client.get("/console/audit/verify")
    assert 'id="audit-broken"' in broken.text and 'id="audit-broken-seq">2<' in broken.text

    web.client.cookies.clear()
    web.login("analyst")
    assert web.client.get("/console/audit").status_code == 403


@pytest.fixture
def cli_serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOUHU_SERVING_URL", url)
    get_settings.cache_clear()
    serving.upgrade(url)
    yield url
    get_settings.cache_clear()


def test_cli_audit_verify_exit_codes(cli_serving: str) -> None:
    from shouhu.cli.main import app

    engine = serving.engine_for(cli_serving)
    try:
        for i in range(3):
            audit.append(engine, actor="alice", actor_role="admin", action="reveal", target_kind="customer",
                         target_id=f"CU{i}", reason="核实")
        result = runner.invoke(app, ["audit", "verify"])
        assert result.exit_code == 0, result.output
        assert "intact: 3 entries" in result.stdout
        with engine.begin() as conn:
            conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(reason="edited"))
        result = runner.invoke(app, ["audit", "verify", "--json"])
        assert result.exit_code == 1
        assert '"broken_at": 2' in result.stdout
        result = runner.invoke(app, ["audit", "verify"])
        assert result.exit_code == 1 and "TAMPERED at entry 2" in result.stderr
    finally:
        engine.dispose()
