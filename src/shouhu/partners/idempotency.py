"""Idempotency keys for the partner API's writes (``Idempotency-Key`` header).

* The first request with a key takes it (a row ``in_flight``) and, when answered, stores its status and
  body; a later request with the same key and the same body gets that answer again, byte for byte.
* While the first is still running, another with the key gets 409 ``request_in_flight``.
* The same key with a different body (or on another route) gets 422 ``idempotency_key_reused``.
* A request that fails on our side (5xx) releases its key, so that the partner's retry runs; an
  ``in_flight`` row older than ``STALE`` (its process died) is taken over by the next request: the
  operations behind the keys are themselves safe to repeat (a quote binds once, an order number once).
* Keys are kept ``KEEP`` (72 hours) and then purged (``shouhu partners purge-keys``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from shouhu.errors import InvalidInput, ShouhuError
from shouhu.partners.registry import now_utc, stamp
from shouhu.storage import partners as store

KEEP = timedelta(hours=72)
STALE = timedelta(minutes=2)
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class InFlight(ShouhuError):
    code = "request_in_flight"


class Reused(ShouhuError):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: str


def request_hash(route: str, body: bytes) -> str:
    return hashlib.sha256(route.encode() + b"\n" + body).hexdigest()


def begin(engine: Engine, partner_id: str, mode: str, key: str, route: str, body: bytes,
          now: datetime | None = None) -> Replay | None:
    """Take ``key`` for this request (None: go on and call ``finish``) or return the stored answer."""
    if not KEY.match(key):
        raise InvalidInput("Idempotency-Key: 1 to 255 visible ASCII characters", field="Idempotency-Key")
    digest = request_hash(route, body)
    for _ in range(3):
        moment = now or now_utc()
        row = {"partner_id": partner_id, "key": key, "mode": mode, "route": route[:128], "request_sha256": digest,
               "state": "in_flight", "status_code": None, "response": None, "created_at": stamp(moment),
               "expires_at": stamp(moment + KEEP)}
        try:
            store.idempotency_add(engine, row)
            return None
        except IntegrityError:
            pass
        found = store.idempotency_get(engine, partner_id, key)
        if found is None:
            continue  # released in between: try to take it again
        if found["expires_at"] <= stamp(moment):
            store.idempotency_release(engine, partner_id, key, created_at=found["created_at"])
            continue
        if found["request_sha256"] != digest or found["mode"] != mode:
            raise Reused(f"Idempotency-Key {key!r:.60} was used at {found['created_at']} for a different request "
                         f"({found['route']}); use a new key for a new request", field="Idempotency-Key")
        if found["state"] == "done":
            return Replay(int(found["status_code"]), str(found["response"]))
        if found["created_at"] > stamp(moment - STALE):
            raise InFlight(f"a request with Idempotency-Key {key!r:.60} is still being processed; retry in a few "
                           "seconds", field="Idempotency-Key")
        store.idempotency_release(engine, partner_id, key, state="in_flight", created_at=found["created_at"])
    raise InFlight("the key is contended; retry in a few seconds", field="Idempotency-Key")


def finish(engine: Engine, partner_id: str, key: str, status_code: int, body: str) -> None:
    """Store the answer (2xx and 4xx), or release the key for a retry (5xx, 409 in flight, 429)."""
    if status_code >= 500 or status_code == 429:
        store.idempotency_release(engine, partner_id, key, state="in_flight")
    else:
        store.idempotency_finish(engine, partner_id, key, status_code, body)


def purge(engine: Engine, now: datetime | None = None) -> int:
    """Delete keys past their 72 hours."""
    return store.idempotency_purge(engine, stamp(now or now_utc()))
