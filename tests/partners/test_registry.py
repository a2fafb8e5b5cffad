"""The partner registry on SQLite and PostgreSQL: keys stored as hashes only, shown once, scoped by
licence, rotated with an overlap, revoked; sandbox keys are not production keys; a suspended partner is
refused; the rate limit's sliding window; idempotency keys replay, refuse a reused key with another body
(422) and a key still in flight (409), release on a server error and expire after 72 hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from shouhu.errors import InvalidInput
from shouhu.partners import idempotency, registry
from shouhu.partners.registry import Forbidden, Unauthorised
from shouhu.storage import serving

AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@pytest.fixture
def db(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    try:
        yield engine
    finally:
        engine.dispose()


def make(db: Engine, partner_id: str = "shop-a", licence: str = "scene") -> dict[str, object]:
    return registry.create_partner(db, partner_id, "某电商平台", licence,
                                   licence_no="260000000000000000" if licence == "intermediary" else None,
                                   product_codes=["RS01"], scenes=["ecommerce"], now=AT)


def test_key_is_shown_once_and_stored_as_a_hash(db: Engine) -> None:
    make(db)
    issued = registry.issue_key(db, "shop-a", "sandbox", now=AT)
    secret = issued["key"].rsplit("_", 1)[1]
    with db.connect() as conn:
        stored = " ".join(str(v) for v in conn.execute(text("SELECT * FROM partner_key")).one())
    assert secret not in stored
    caller = registry.authenticate(db, issued["key"], now=AT)
    assert (caller.partner_id, caller.mode, caller.licence) == ("shop-a", "sandbox", "scene")
    # a scene partner's default scopes leave out quote, bind and change
    assert {"quote", "bind", "change"}.isdisjoint(caller.scopes) and "hosted" in caller.scopes


@pytest.mark.parametrize("presented", [None, "", "Bearer x", "shk_test_AAAAAAAAAAAA_" + "x" * 43])
def test_unknown_or_malformed_keys_are_refused_alike(db: Engine, presented: str | None) -> None:
    make(db)
    with pytest.raises(Unauthorised) as e:
        registry.authenticate(db, presented, now=AT)
    assert "valid partner API key" in e.value.message


def test_a_wrong_secret_or_prefix_is_refused(db: Engine) -> None:
    make(db)
    key = registry.issue_key(db, "shop-a", "sandbox", now=AT)["key"]
    with pytest.raises(Unauthorised):
        registry.authenticate(db, key[:-1] + ("A" if key[-1] != "A" else "B"), now=AT)
    with pytest.raises(Unauthorised):
        registry.authenticate(db, key.replace("shk_test_", "shk_live_"), now=AT)


def test_scene_partner_cannot_hold_a_pricing_scope(db: Engine) -> None:
    make(db)
    with pytest.raises(Forbidden) as e:
        registry.issue_key(db, "shop-a", "sandbox", ["quote"], now=AT)
    assert "第三条" in e.value.message and "hosted" in e.value.message


def test_intermediary_needs_licence_number_and_may_quote(db: Engine) -> None:
    with pytest.raises(InvalidInput) as e:
        registry.create_partner(db, "broker-b", "某经纪公司", "intermediary", product_codes=["RS01"],
                                scenes=["ecommerce"])
    assert e.value.data["field"] == "licence_no"
    make(db, "broker-b", "intermediary")
    caller = registry.authenticate(db, registry.issue_key(db, "broker-b", "sandbox", now=AT)["key"], now=AT)
    assert {"quote", "bind", "change"} <= caller.scopes


def test_production_keys_need_a_live_partner(db: Engine) -> None:
    make(db)
    with pytest.raises(Forbidden):
        registry.issue_key(db, "shop-a", "production", now=AT)


def test_rotation_keeps_the_old_key_for_the_overlap_then_refuses_it(db: Engine) -> None:
    make(db)
    old = registry.issue_key(db, "shop-a", "sandbox", now=AT)
    new = registry.rotate_key(db, old["key_id"], now=AT)
    assert registry.authenticate(db, old["key"], now=AT + timedelta(hours=23)).key_id == old["key_id"]
    with pytest.raises(Unauthorised):
        registry.authenticate(db, old["key"], now=AT + timedelta(hours=24, seconds=1))
    assert registry.authenticate(db, new["key"], now=AT + timedelta(days=30)).key_id == new["key_id"]
    registry.revoke_key(db, new["key_id"], now=AT + timedelta(days=31))
    with pytest.raises(Unauthorised):
        registry.authenticate(db, new["key"], now=AT + timedelta(days=32))


def test_a_suspended_partner_is_refused(db: Engine) -> None:
    make(db)
    key = registry.issue_key(db, "shop-a", "sandbox", now=AT)["key"]
    registry.set_status(db, "shop-a", "suspended", now=AT)
    with pytest.raises(Forbidden):
        registry.authenticate(db, key, now=AT)


def test_products_must_belong_to_the_partners_scenes(db: Engine) -> None:
    with pytest.raises(InvalidInput) as e:
        registry.create_partner(db, "shop-c", "店", "scene", product_codes=["TD01"], scenes=["ecommerce"])
    assert e.value.data["field"] == "products"
    with pytest.raises(InvalidInput) as e:
        registry.create_partner(db, "shop-c", "店", "scene", product_codes=["XX99"], scenes=["ecommerce"])
    assert "XX99" in e.value.message
    with pytest.raises(InvalidInput) as e:
        registry.create_partner(db, "shop-c", "店", "scene", frame_origins=["javascript:alert(1)"])
    assert e.value.data["field"] == "frame_origins"


def test_rate_limit_window_slides() -> None:
    clock = [0.0]
    limiter = registry.RateLimiter(clock=lambda: clock[0])
    assert [limiter.allow("p", "sandbox", 3) for _ in range(3)] == [0, 0, 0]
    assert limiter.allow("p", "sandbox", 3) > 0
    assert limiter.allow("p", "production", 3) == 0  # modes count apart
    clock[0] = 60.5
    assert limiter.allow("p", "sandbox", 3) == 0


def test_idempotency_replays_refuses_reuse_and_in_flight(db: Engine) -> None:
    route, body = "POST /api/v1/partner/quotes", b'{"a":1}'
    assert idempotency.begin(db, "p", "sandbox", "k1", route, body, now=AT) is None
    with pytest.raises(idempotency.InFlight):
        idempotency.begin(db, "p", "sandbox", "k1", route, body, now=AT + timedelta(seconds=5))
    idempotency.finish(db, "p", "k1", 201, '{"quote_id":"Q1"}')
    replay = idempotency.begin(db, "p", "sandbox", "k1", route, body, now=AT + timedelta(hours=71))
    assert replay == idempotency.Replay(201, '{"quote_id":"Q1"}')
    with pytest.raises(idempotency.Reused):
        idempotency.begin(db, "p", "sandbox", "k1", route, b'{"a":2}', now=AT + timedelta(hours=1))
    # another partner's same key is its own
    assert idempotency.begin(db, "q", "sandbox", "k1", route, body, now=AT) is None
    # kept 72 hours, then the key is free again
    assert idempotency.begin(db, "p", "sandbox", "k1", route, b'{"a":2}', now=AT + timedelta(hours=72, seconds=1)) \
        is None


def test_idempotency_releases_on_server_error_and_takes_over_stale(db: Engine) -> None:
    route, body = "POST /api/v1/partner/policies", b"{}"
    idempotency.begin(db, "p", "sandbox", "k2", route, body, now=AT)
    idempotency.finish(db, "p", "k2", 500, "")
    assert idempotency.begin(db, "p", "sandbox", "k2", route, body, now=AT) is None  # retried
    # its process died: after two minutes the key is taken over
    assert idempotency.begin(db, "p", "sandbox", "k2", route, body, now=AT + timedelta(minutes=3)) is None
    with pytest.raises(InvalidInput):
        idempotency.begin(db, "p", "sandbox", "bad key with spaces", route, body, now=AT)
    assert idempotency.purge(db, now=AT + timedelta(days=4)) >= 1
