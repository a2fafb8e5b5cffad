"""Data quality over the web: ingested files (load_log), refresh runs, the quarantine (masked), the
503 when the warehouse is locked by a writer, and who may see it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from shouhu.storage import serving
from tests.web.conftest import Web

CLEAR_ID = re.compile(r"(?<![\w*])\d{17}[\dXx](?![\d*])")
CLEAR_PHONE = re.compile(r"(?<![\w*])1[3-9]\d{9}(?![\d*])")


def test_files_runs_and_quarantine(web: Web) -> None:
    serving.publish_ingest_results(web.settings.serving, [
        {"file_id": "f1", "source": "agent_crm", "entity": "party", "file_name": "customers.csv", "rows_in": 100,
         "rows_loaded": 97, "rows_quarantined": 3, "seconds": 0.5}])
    headers = web.auth("analyst")
    files = web.client.get("/api/v1/quality/files", headers=headers)
    assert files.status_code == 200, files.text
    assert files.json()["totals"] == {"rows_in": 100, "rows_loaded": 97, "rows_quarantined": 3}
    assert files.json()["items"][0]["file_name"] == "customers.csv"

    runs = web.client.get("/api/v1/quality/runs", headers=headers).json()
    assert runs["count"] >= 1 and runs["items"][0]["status"] == "succeeded"
    assert "identity" in [s["step"] for s in runs["items"][0]["steps"]]

    r = web.client.get("/api/v1/quality/quarantine?limit=1000", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] > 0 and body["count"] == min(body["total"], 1000)
    first = body["items"][0]
    assert set(first) == {"source", "entity", "file", "row", "field", "reason", "value"}
    assert not CLEAR_ID.search(r.text) and not CLEAR_PHONE.search(r.text)
    assert "raw_record" not in r.text
    sensitive = [i for i in body["items"] if i["field"] in ("phone", "id_number")]
    assert sensitive and all("*" in i["value"] for i in sensitive if i["value"])
    assert sum(b["rows"] for b in body["by_source_field"]) == body["total"]

    source = first["source"]
    only = web.client.get(f"/api/v1/quality/quarantine?source={source}", headers=headers).json()
    assert only["items"] and {i["source"] for i in only["items"]} == {source}
    page = web.client.get("/api/v1/quality/quarantine?limit=2&offset=1", headers=headers).json()
    assert page["items"] == body["items"][1:3]
    assert web.client.get("/api/v1/quality/quarantine?limit=0", headers=headers).status_code == 422


def test_roles_without_quality(web: Web) -> None:
    for role in ("agent", "service", "health_manager"):
        for path in ("/api/v1/quality/files", "/api/v1/quality/runs", "/api/v1/quality/quarantine"):
            assert web.client.get(path, headers=web.auth(role)).status_code == 403, (role, path)


def test_locked_warehouse_is_a_503(web: Web, tmp_path: Path) -> None:
    """While another process holds the warehouse's write lock (a refresh), the quarantine answers 503."""
    locked = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"c = duckdb.connect({str(locked)!r}); c.execute('CREATE TABLE t (x INT)'); print('ready', flush=True)\n"
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        state = web.client.app.state.shouhu  # type: ignore[attr-defined]
        original = state.settings
        state.settings = original.model_copy(update={"warehouse_url": f"duckdb:///{locked}"})
        try:
            r = web.client.get("/api/v1/quality/quarantine", headers=web.auth("admin"))
            assert r.status_code == 503 and "busy" in r.json()["message"]
            # the queue still answers (without the records' fields); segments answer 503
            q = web.client.get("/api/v1/identity/queue", headers=web.auth("admin"))
            assert q.status_code == 200 and q.json()["records_unavailable"]
            s = web.client.post("/api/v1/segments/count", headers=web.auth("admin"), json={"rule": "age > 1"})
            assert s.status_code == 503
            page = web.client.get("/api/v1/quality/files", headers=web.auth("admin"))
            assert page.status_code == 200  # the serving side needs no warehouse
        finally:
            state.settings = original
    finally:
        holder.communicate("", timeout=30)


def test_console_quality(web: Web) -> None:
    web.login("compliance")
    page = web.client.get("/console/quality")
    assert page.status_code == 200
    for element in ('id="quarantine-rows"', 'id="refresh-runs"', 'id="chart-quarantine"', 'id="quarantine-filter"',
                    'id="kpi-rows-quarantined"'):
        assert element in page.text
    assert not CLEAR_ID.search(page.text) and not CLEAR_PHONE.search(page.text)
    part = web.client.get("/console/quality?source=core", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text and "core" in part.text
    assert web.client.get("/console/quality?lang=en").text.count("Quarantined rows") >= 1

    web.client.cookies.clear()
    web.login("agent")
    assert web.client.get("/console/quality").status_code == 403
