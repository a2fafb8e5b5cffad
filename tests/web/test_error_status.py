"""One table maps shouhu's errors to HTTP status: client mistakes are 4xx, a failed backend or a
misconfigured server is 5xx with a generic message and the trace id, the detail in the log only."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from shouhu.errors import (
    ConfigError,
    InvalidInput,
    MissingExtra,
    ShouhuError,
    SourceFileError,
    StorageError,
    UnknownName,
)
from shouhu.settings import Settings
from shouhu.web.app import create_app
from shouhu.web.errors import status_for
from tests.conftest import KEY


@pytest.mark.parametrize("exc, status", [
    (UnknownName("segment", "x", ["a"]), 404), (InvalidInput("bad"), 400), (SourceFileError("bad file"), 400),
    (StorageError("writing customer_360 on db.internal failed"), 500), (ConfigError("no key"), 500),
    (MissingExtra("spark", "spark"), 501), (ShouhuError("other"), 400), (RuntimeError("x"), 500)])
def test_the_table_maps_the_most_specific_class(exc: BaseException, status: int) -> None:
    assert status_for(exc) == status


def test_a_storage_error_is_a_500_without_its_detail(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(data_dir=tmp_path / "d", serving_url=f"sqlite:///{tmp_path / 's.sqlite'}",
                              encryption_key=KEY))
    router = APIRouter()

    @router.get("/boom/{kind}")
    def boom(kind: str) -> None:
        raise {"storage": StorageError("writing customer_360 on db.internal failed"),
               "input": InvalidInput("age: must be a number")}[kind]

    app.include_router(router)
    with TestClient(app, client=("127.0.0.1", 1)) as client, caplog.at_level(logging.ERROR):
        r = client.get("/boom/storage")
        assert r.status_code == 500
        assert "db.internal" not in r.text and r.json()["trace_id"] == r.headers["x-request-id"]
        assert any("db.internal" in rec.getMessage() for rec in caplog.records)  # the operators see it
        r = client.get("/boom/input")
        assert r.status_code == 400 and r.json()["message"] == "age: must be a number"
