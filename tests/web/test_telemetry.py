"""Telemetry of the real application: trace headers, one access line per request without the URL's
values, Prometheus metrics by route template (loopback or token only), refresh-run history as gauges."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shouhu.settings import Settings
from shouhu.storage import runs
from shouhu.web.app import create_app
from tests.conftest import KEY

PHONE = "13912345678"


def _client(serving_url: str, tmp_path: Path, **settings: object) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path / "data", serving_url=serving_url, encryption_key=KEY,
                              **settings))  # type: ignore[arg-type]
    return TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 50000))


@pytest.fixture
def client(serving_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with _client(serving_url, tmp_path) as c:
        yield c


def test_answers_carry_request_id_and_traceparent_continuing_the_callers_trace(client: TestClient) -> None:
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    r = client.get("/console/login", headers={"traceparent": caller})
    assert r.headers["x-request-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    version, trace, span, flags = r.headers["traceparent"].split("-")
    assert (version, trace, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span != "00f067aa0ba902b7"  # our own span under the caller's trace
    fresh = client.get("/console/login")
    assert len(fresh.headers["x-request-id"]) == 32 and fresh.headers["x-request-id"] != trace


def test_access_lines_name_the_route_template_never_the_values(client: TestClient,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="shouhu.access"):
        r = client.get(f"/api/v1/customers/{PHONE}?q={PHONE}")
    assert r.status_code == 401
    lines = [rec for rec in caplog.records if rec.name == "shouhu.access"]
    assert len(lines) == 1
    rec = lines[0]
    assert rec.route == "/api/v1/customers/{customer_id}" and rec.status == 401  # type: ignore[attr-defined]
    assert rec.trace_id == r.headers["x-request-id"]  # type: ignore[attr-defined]
    assert PHONE not in rec.getMessage() and PHONE not in json.dumps(vars(rec), default=str)


def test_metrics_count_requests_by_route_template_and_status(client: TestClient) -> None:
    for customer in ("C1", "C2", "C3"):
        client.get(f"/api/v1/customers/{customer}")
    client.get("/no/such/page/13912345678")
    client.get("/static/app.css")
    body = client.get("/metrics").text
    assert ('shouhu_http_requests_total{method="GET",route="/api/v1/customers/{customer_id}",status="401"} 3.0'
            in body), body[:2000]
    assert 'route="unmatched",status="404"' in body
    assert 'route="/static/{path}",status="200"' in body
    assert "C1" not in body and PHONE not in body
    assert 'shouhu_http_request_duration_seconds_bucket{le="0.005",method="GET",' \
           'route="/api/v1/customers/{customer_id}"}' in body


def test_refresh_run_history_is_exported_as_gauges(client: TestClient) -> None:
    url = str(client.app.state.shouhu.settings.serving)  # type: ignore[attr-defined]
    runs.start_run(url, "run-1", "duckdb", date(2026, 12, 1))
    runs.finish_run(url, "run-1", "succeeded", [{"step": "identity", "seconds": 1.5}, {"step": "publish",
                                                                                       "seconds": 0.5}])
    body = client.get("/metrics").text
    assert 'shouhu_refresh_last_step_seconds{step="identity"} 1.5' in body
    assert "shouhu_refresh_last_success_seconds 2.0" in body
    assert 'shouhu_refresh_last_started_timestamp_seconds{status="succeeded"}' in body


def test_metrics_are_loopback_only_without_a_token(serving_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", serving_url=serving_url, encryption_key=KEY))
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        r = remote.get("/metrics")
        assert r.status_code == 403 and "SHOUHU_METRICS_TOKEN" in r.text


def test_metrics_need_the_token_when_one_is_set(serving_url: str, tmp_path: Path) -> None:
    with _client(serving_url, tmp_path, metrics_token="s3cret-token") as c:
        assert c.get("/metrics").status_code == 403  # even from loopback
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        ok = c.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
