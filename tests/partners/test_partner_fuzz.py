"""Fuzzing the partner API (/api/v1/partner) from the application's own OpenAPI document (schemathesis, in
process through ASGI), the way tests/web/test_fuzz_openapi.py fuzzes the staff routes.

The staff fuzz sends staff tokens, which every partner route refuses with 401; here each request carries a
partner API key: a licensed intermediary's sandbox key, then an unlicensed scene partner's. A schema hook
gives every call a fresh ``Idempotency-Key`` (a repeated one would be answered from the idempotency store,
or refused as reused, instead of reaching the route) and swaps, at hypothesis' choice, generated ids and
scene facts for real ones seeded in the fixture: a quote, an open traceability session, a bound policy, a
change preview, a webhook endpoint and event, and each product's valid facts with a few of them replaced
by arbitrary JSON. So generated bodies get past "no such quote" and reach pricing, binding, event recording
and changes. Generated text includes NUL characters and unpaired surrogates, and times include the years 1
and 9999 with offsets (each was a 500 before the partner API refused them with 422). No answer may be a
server error (schemathesis' ``not_a_server_error`` check). Responses are not checked against the schema, as
in the staff fuzz: error bodies are not declared per route.

Examples per operation and mode: ``SHOUHU_PARTNER_FUZZ_EXAMPLES`` (default 20: about 35 s per
backend on two cores); raise it locally to fuzz harder. Both backends fuzz the intermediary; the scene
partner, whose routes are a subset of the intermediary's, is fuzzed on SQLite only, to keep the module
near a minute.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from shouhu.partners import registry, sales, webhooks
from shouhu.settings import Settings
from shouhu.web.app import create_app
from tests.conftest import KEY
from tests.partners.test_partner_api import bind_body, session

EXAMPLES = int(os.environ.get("SHOUHU_PARTNER_FUZZ_EXAMPLES", "20"))
PREFIX = "/api/v1/partner"
PRODUCTS = ["RS01", "TD01", "AC01", "HM01"]
SCENES = ["ecommerce", "travel", "health"]
# What an unlicensed scene partner may call; the rest (quote, bind, change, trace) is refused before the body
# is read, so fuzzing it with the scene key would only repeat one 403.
SCENE_PARTNER = re.compile(r"POST /(hosted-links|triggers|claims|webhook.*)|GET /.*")
# ISO 8601 times and dates of any year and offset: the edges of datetime arithmetic (years 1 and 9999)
OFFSETS = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                                            max_value=timedelta(hours=23, minutes=59)))
EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01", "9999-12-31"]
ISO = (st.datetimes(timezones=st.none() | OFFSETS).map(datetime.isoformat) | st.dates().map(date.isoformat)
       | st.sampled_from(EDGES))
# Text with NUL characters and unpaired surrogates (JSON carries both as \u escapes); in a URL, NUL only.
TEXT = st.text(st.characters(blacklist_categories=()), max_size=20)
URL_TEXT = st.text(max_size=12) | st.sampled_from(["\x00", "TB-FUZZ-1\x00"])
# Any JSON the client sends (it refuses NaN and Infinity, so these are not generated).
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | TEXT | ISO, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=6)


@dataclass
class Seeded:
    backend: str
    app: FastAPI
    keys: dict[str, str]
    path: dict[str, st.SearchStrategy[Any]]
    body: dict[str, st.SearchStrategy[Any]]


def valid_facts(on: date) -> dict[str, dict[str, Any]]:
    """Facts each shipped product prices on, relative to ``on`` (the quote day)."""
    return {
        "RS01": {"seller_id": "S-889", "seller_orders_12m": 1200, "seller_returns_12m": 96, "category": "apparel",
                 "order_no": "TB-FUZZ-1", "order_value_fen": 15900, "delivered_on": (on + timedelta(2)).isoformat()},
        "TD01": {"flight_no": "CA1234", "departure_date": (on + timedelta(30)).isoformat(), "departure_hour": 19,
                 "departure_airport": "PEK"},
        "AC01": {"insured_birth_date": "1991-05-20", "occupation_class": 1, "days": 7,
                 "sum_assured_fen": 50_000_000, "start_date": (on + timedelta(10)).isoformat()},
        "HM01": {"insured_birth_date": "1994-06-01", "sum_assured_fen": 200_000_000, "has_social_insurance": True,
                 "start_date": (on + timedelta(10)).isoformat()},
    }


def facts_strategy(on: date) -> st.SearchStrategy[dict[str, Any]]:
    """A product code with its valid facts, up to three of the known fact names set to arbitrary JSON or dropped."""
    valid = valid_facts(on)
    names = sorted({name for facts in valid.values() for name in facts} | {"booked_on", "shipping_region"})
    changes = st.dictionaries(st.sampled_from(names), st.just(KeyError) | JSON, max_size=3)

    def apply(code: str, change: dict[str, Any]) -> dict[str, Any]:
        out = valid[code] | {k: v for k, v in change.items() if v is not KeyError}
        return {"product_code": code, "facts": {k: v for k, v in out.items() if change.get(k) is not KeyError}}
    return st.builds(apply, st.sampled_from(PRODUCTS), changes)


def events_strategy(disclosures: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Page views and confirmations of the quote's pages, a field or two replaced by arbitrary JSON."""
    pages = [{"page_code": d["code"], "page_version": d["version"], "page_hash": d["sha256"]} for d in disclosures]
    kinds = [{"type": "page_view", "duration_ms": 20_000, "scrolled_to_end": True},
             {"type": "confirm", "field": "read", "value": True}]
    names = ["at", "client_event_id", "duration_ms", "field", "page_code", "page_hash", "page_version",
             "scrolled_to_end", "type", "value"]
    change = st.dictionaries(st.sampled_from(names), JSON, max_size=2)

    def event(page: dict[str, Any], kind: dict[str, Any], c: dict[str, Any], i: int) -> dict[str, Any]:
        return {"client_event_id": f"f{i}", "at": "2026-12-07T10:00:00+08:00"} | page | kind | c
    one = st.builds(event, st.sampled_from(pages), st.sampled_from(kinds), change, st.integers(0, 10**9))
    return st.lists(one, min_size=1, max_size=3).map(lambda events: {"events": events})


def field(name: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return values.map(lambda v: {name: v})


def _partners(engine: Any) -> dict[str, str]:
    sales.publish_disclosures(engine, "compliance")
    registry.create_partner(engine, "broker-b", "某保险经纪有限公司", "intermediary", licence_no="260000000000000001",
                            product_codes=PRODUCTS, scenes=SCENES, rate_per_minute=100_000)
    registry.create_partner(engine, "shop-a", "某电商平台", "scene", product_codes=PRODUCTS, scenes=SCENES,
                            rate_per_minute=100_000)
    return {p: registry.issue_key(engine, p, "sandbox")["key"] for p in ("broker-b", "shop-a")}


def _seed(backend: str, client: Any, on: date) -> Seeded:
    """A quote, an open session, a bound policy, a change, a webhook endpoint and event: real ids to fuzz with."""
    headers = {"Authorization": f"Bearer {client.keys['broker-b']}"}

    def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = client.post(PREFIX + path, json=body, headers=headers | {"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    rs = {"product_code": "RS01", "facts": valid_facts(on)["RS01"]}
    bound = post("/quotes", rs)
    policy = post("/policies", bind_body(bound, session(client, bound), "TB-FUZZ-1"))
    unbound = post("/quotes", rs | {"facts": rs["facts"] | {"order_no": "TB-FUZZ-2"}})
    open_session = session(client, unbound)
    change = post(f"/policies/{policy['policy_no']}/changes", {"kind": "cancel"})
    closed = "http://127.0.0.1:9/hook"  # the discard port: a ping is refused at once, on this machine
    endpoint = webhooks.add_endpoint(client.engine, client.app.state.shouhu.cipher, "broker-b", closed, ["*"],
                                     allow_http=True)
    event = webhooks.emit(client.engine, "broker-b", "sandbox", "policy.bound", {"policy_no": policy["policy_no"]})
    d = bound["disclosures"][0]
    path = {"policy_no": st.just(policy["policy_no"]), "partner_order_no": st.just("TB-FUZZ-1"),
            "change_id": st.just(change["change_id"]), "session_id": st.just(open_session),
            "endpoint_id": st.just(endpoint["endpoint_id"]),
            "action": st.sampled_from(["enable", "disable", "ping", "rotate-secret"]),
            "target_id": st.just(event), "code": st.just(d["code"]), "version": st.just(d["version"])}
    body = {"quote_id": st.just(unbound["quote_id"]), "trace_session_id": st.just(open_session),
            "policy_no": st.just(policy["policy_no"]), "kind": st.sampled_from(["cancel", "modify"]),
            "order_no": st.just("TB-FUZZ-1"), "occurred_at": ISO,
            "details": st.dictionaries(TEXT, JSON, max_size=3),
            "acknowledgements": st.just(bind_body(unbound, open_session)["acknowledgements"])}
    body_seeds = {name: field(name, values) for name, values in body.items()}
    body_seeds |= {"product_code": facts_strategy(on), "facts": facts_strategy(on),
                   "events": events_strategy(unbound["disclosures"])}
    path_seeds = {name: field(name, values | URL_TEXT) for name, values in path.items()}
    return Seeded(backend, client.app, dict(client.keys), path_seeds | {"state": field("state", URL_TEXT)}, body_seeds)


@contextmanager
def _serving_url(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A fresh serving database for the module: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'serving.sqlite'}"
        return
    import psycopg

    server = str(request.getfixturevalue("pg_server"))
    name = f"shouhu_pfuzz_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("partner-fuzz")
    with _serving_url(request, folder) as url:
        app = create_app(Settings(data_dir=folder / "data", serving_url=url, encryption_key=KEY))
        engine = app.state.shouhu.engine
        with TestClient(app, base_url="http://127.0.0.1") as client:
            client.keys = _partners(engine)  # type: ignore[attr-defined]
            client.engine = engine  # type: ignore[attr-defined]
            yield _seed(str(request.param), client, sales.today(registry.now_utc()))
        engine.dispose()


def _operations(seeded: Seeded) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", seeded.app).include(path_regex=f"^{PREFIX}/")

    @schema.hook("map_case")
    def fresh_key_and_real_ids(ctx: Any, case: Any) -> Any:
        if case.method.upper() == "POST":  # every write: a key never used before
            case.headers = dict(case.headers or {}) | {"Idempotency-Key": uuid.uuid4().hex}
        return case

    @schema.hook("flatmap_case")
    def real_ids(ctx: Any, case: Any) -> st.SearchStrategy[Any]:
        return st.fixed_dictionaries({
            "path": _picks(case.path_parameters, seeded.path), "query": _picks(case.query, seeded.path),
            "body": _picks(case.body, seeded.body),
        }).map(lambda picks: _swap(case, picks))

    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is not valid: {result.err()}"
        operations.append(result.ok())
    return operations


def _picks(values: Any, seeds: Mapping[str, st.SearchStrategy[dict[str, Any]]]) -> st.SearchStrategy[list[Any]]:
    """For each seeded name present: keep the generated value (one time in four) or take real ones."""
    names = sorted(n for n in values if n in seeds) if isinstance(values, Mapping) else []
    return st.tuples(*(st.sampled_from([True, True, True, False]).flatmap(
        lambda real, n=n: seeds[n] if real else st.just({})) for n in names)).map(list)


def _swap(case: Any, picks: dict[str, list[dict[str, Any]]]) -> Any:
    for where, updates in picks.items():
        target = {"path": case.path_parameters, "query": case.query, "body": case.body}[where]
        for update in updates:
            target.update(update)
    return case


def test_only_the_partner_operations_are_fuzzed(seeded: Seeded) -> None:
    labels = {f"{op.method.upper()} {op.path}" for op in _operations(seeded)}
    assert {"POST /api/v1/partner/quotes", "POST /api/v1/partner/policies",
            "POST /api/v1/partner/trace/sessions/{session_id}/events"} <= labels
    assert len(labels) >= 15 and all(label.split()[1].startswith(PREFIX + "/") for label in labels)


@pytest.mark.parametrize("partner", ["broker-b", "shop-a"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_partner_request_gets_a_server_error(seeded: Seeded, partner: str,
                                                          mode: GenerationMode) -> None:
    if partner == "shop-a" and seeded.backend == "postgres":
        pytest.skip("the scene partner's routes are fuzzed on SQLite; the intermediary covers them on PostgreSQL")
    headers = {"Authorization": f"Bearer {seeded.keys[partner]}"}
    errors: list[str] = []
    statuses: dict[int, int] = {}
    for operation in _operations(seeded):
        if partner == "shop-a" and not SCENE_PARTNER.fullmatch(
                f"{operation.method.upper()} {operation.path.removeprefix(PREFIX)}"):
            continue

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            try:
                response = case.call(headers=headers)
            except Exception as e:  # the in-process client re-raises what the app did not handle
                errors.append(f"{type(e).__name__} {case.method} {case.formatted_path} body={str(case.body)[:300]}: "
                              f"{e}"[:600])
                return
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=[not_a_server_error], headers=headers)
            except Exception as e:  # schemathesis raises the failed check
                errors.append(f"{response.status_code} {case.method} {case.formatted_path} "
                              f"body={str(case.body)[:300]}: {response.text[:300]} ({type(e).__name__})")

        try:
            run()
        except Unsatisfiable:  # negative mode: an operation with nothing that can be made invalid
            assert mode is GenerationMode.NEGATIVE
    assert sum(statuses.values()) > 150
    assert not errors, "\n".join(errors[:30])
    assert 401 not in statuses  # the key was accepted: the routes themselves were fuzzed
    if mode is GenerationMode.POSITIVE:  # the seeded ids and facts carried requests past validation
        assert statuses.get(200, 0) + statuses.get(201, 0) > 20, statuses
