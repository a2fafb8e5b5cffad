"""Fuzzing the REST API from its own OpenAPI document (schemathesis, in process through ASGI).

Every operation gets a bounded number of generated requests, valid (positive) and invalid
(negative), sent as an admin with a bearer token; no answer may be a server error (5xx). The example
count per operation is ``SHOUHU_FUZZ_EXAMPLES`` (default 12), so that the module runs in about a
minute on a laptop; raise it locally to fuzz harder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from shouhu.storage import accounts
from tests.conftest import Published
from tests.web.conftest import Web
from tests.web.shared_web import module_web

EXAMPLES = int(os.environ.get("SHOUHU_FUZZ_EXAMPLES", "12"))
# Routes that end the caller's own credential: fuzzing them would sign the fuzzer out.
SELF_ENDING = {("DELETE", "/api/v1/auth/token"), ("POST", "/api/v1/auth/logout")}


@pytest.fixture(scope="module")
def fweb(request: pytest.FixtureRequest, published: Published,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    request.param = "sqlite"  # one backend: the fuzz is about the HTTP layer
    with module_web(request, published, tmp_path_factory.mktemp("fuzz")) as web:
        yield web


def _operations(app: FastAPI) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is not valid: {result.err()}"
        operations.append(result.ok())
    return operations


def test_the_openapi_document_loads_with_every_api_route(fweb: Web) -> None:
    app = fweb.client.app
    assert isinstance(app, FastAPI)
    labels = {f"{op.method.upper()} {op.path}" for op in _operations(app)}
    assert "GET /api/v1/customers" in labels and len(labels) >= 40


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(fweb: Web, mode: GenerationMode) -> None:
    app = fweb.client.app
    assert isinstance(app, FastAPI)
    token = accounts.create_token(fweb.engine, fweb.users["admin"], "fuzz")
    headers = {"Authorization": f"Bearer {token}"}
    errors: list[str] = []
    calls = 0
    for operation in _operations(app):
        if (operation.method.upper(), operation.path) in SELF_ENDING:
            continue

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            try:
                response = case.call(headers=headers)
            except Exception as e:  # the in-process client re-raises what the app did not handle
                errors.append(f"{type(e).__name__} {case.method} {case.formatted_path} query={case.query}: {e}"[:400])
                return
            if response.status_code >= 500:
                errors.append(f"{response.status_code} {case.method} {case.formatted_path} "
                              f"query={case.query} body={str(case.body)[:200]}: {response.text[:300]}")

        try:
            run()
        except Unsatisfiable:  # negative mode: an operation with nothing that can be made invalid
            assert mode is GenerationMode.NEGATIVE
    assert calls > 100
    assert not errors, "\n".join(errors[:30])
