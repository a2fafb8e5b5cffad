"""Every numeric request parameter of every route is bounded (web.params), and absurd paging numbers
get a 422 naming the field, never a 500 (OverflowError in the database driver)."""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types as at
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tests.web.conftest import Web

HUGE = "9223372036854775808"  # 2**63: one past SQLite's and PostgreSQL's BIGINT


def _numeric(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (dict, list, tuple, set):
        return False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_numeric(a) for a in typing.get_args(annotation))
    return annotation in (int, float)


def _bounded(info: FieldInfo) -> bool:
    meta = info.metadata
    return any(isinstance(m, (at.Le, at.Lt)) for m in meta) and any(isinstance(m, (at.Ge, at.Gt)) for m in meta)


def unbounded_parameters(app: FastAPI) -> list[str]:
    found = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        where = f"{sorted(route.methods or [])} {route.path}"
        for kind, fields in (("query", dependant.query_params), ("path", dependant.path_params),
                             ("form/body", dependant.body_params)):
            for field in fields:
                annotation = field.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    found += [f"{where} body {annotation.__name__}.{name}"
                              for name, info in annotation.model_fields.items()
                              if _numeric(info.annotation) and not _bounded(info)]
                elif _numeric(annotation) and not _bounded(field.field_info):
                    found.append(f"{where} {kind} {field.name}")
    return found


def test_every_numeric_parameter_of_every_route_has_both_bounds(web: Web) -> None:
    app = web.client.app
    assert isinstance(app, FastAPI)
    assert unbounded_parameters(app) == []


@pytest.mark.parametrize("path", ["/api/v1/customers?offset={n}", "/api/v1/work/tasks?offset={n}",
                                  "/api/v1/cases?offset={n}", "/api/v1/audit?before_seq={n}",
                                  "/api/v1/quality/quarantine?offset={n}", "/api/v1/work/tasks/{n}",
                                  "/api/v1/cases/{n}"])
def test_a_huge_paging_number_or_id_is_a_clear_422(web: Web, path: str) -> None:
    r = web.client.get(path.format(n=HUGE), headers=web.auth("admin"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_input"
    field = "offset" if "offset" in path else "before_seq" if "before_seq" in path else "_id"
    assert any(field in p["field"] for p in body["problems"]), body
    assert all("less than or equal" in p["reason"] for p in body["problems"]), body


def test_a_huge_number_on_a_console_page_is_refused_not_a_server_error(web: Web) -> None:
    web.login("admin")
    for path in (f"/console/customers?offset={HUGE}", f"/console/audit?before_seq={HUGE}",
                 f"/console/cases/{HUGE}", f"/console/quality?offset={HUGE}"):
        r = web.client.get(path)
        assert r.status_code == 422, (path, r.status_code)


def test_a_failing_warehouse_answers_a_generic_503_without_sql(web: Web, monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    from shouhu.errors import StorageError
    from shouhu.storage.warehouse import Warehouse

    def broken(self: Warehouse, sql: str, *args: Any, **kwargs: Any) -> Any:
        raise StorageError(f"Binder Error: near {sql!r}: name '张伟' phone 13812345678")

    monkeypatch.setattr(Warehouse, "query", broken)
    with caplog.at_level("WARNING", logger="shouhu.web"):
        r = web.client.get("/api/v1/quality/quarantine", params={"source": "agency"}, headers=web.auth("admin"))
    assert r.status_code == 503, r.text
    message = r.json()["message"]
    assert "warehouse is busy or unavailable" in message and "ref " in message
    for leak in ("SELECT", "Binder", "quarantine", "张伟", "13812345678", "agency"):
        assert leak not in message
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "Binder Error" in logged and message.split("ref ")[1].rstrip(")") in logged
    assert "13812345678" not in logged and "张伟" not in logged
