"""The partner registry: who a partner is (licensed intermediary or scene partner), what it may sell and
where, its API keys (stored as SHA-256 only, scoped, rotatable with an overlap), sandbox and production
modes, and its rate limit.

An API key reads ``shk_test_<key id>_<secret>`` (sandbox) or ``shk_live_<key id>_<secret>`` (production);
it is shown once, when issued. Going live needs a passed conformance report (``partners.conformance``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from shouhu.errors import InvalidInput, ShouhuError
from shouhu.partners.products import products
from shouhu.storage import partners as store

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")  # 32 at most: it is the channel of traceability sessions
LICENCES: dict[str, tuple[str, str]] = {
    "intermediary": ("持牌保险中介机构", "Licensed insurance intermediary"),
    "scene": ("场景合作方（非持牌）", "Scene partner (unlicensed)"),
}
MODES: dict[str, tuple[str, str]] = {"sandbox": ("沙箱", "Sandbox"), "production": ("生产", "Production")}
SCOPES: dict[str, tuple[str, str]] = {
    "quote": ("询价", "Quote"), "bind": ("投保出单", "Bind"), "change": ("退保与批改", "Cancel and modify"),
    "claim": ("报案", "Claim notice"), "trigger": ("理赔触发事件", "Trigger events"),
    "hosted": ("托管投保页", "Hosted sales pages"), "read": ("查询保单", "Read policies"),
    "webhooks": ("回调管理", "Webhooks"),
}
KEY = re.compile(r"^shk_(test|live)_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")
ROTATION_OVERLAP = timedelta(hours=24)
DEFAULT_RATE = 600


class Unauthorised(ShouhuError):
    code = "not_authenticated"


class Forbidden(ShouhuError):
    """The partner's licence, scopes, products, scenes or status do not allow the call."""

    code = "forbidden"


@dataclass(frozen=True)
class Caller:
    """The authenticated partner of one request."""

    partner_id: str
    name: str
    licence: str
    mode: str                 # the key's mode: sandbox keys work on sandbox data only
    key_id: str
    scopes: frozenset[str]
    products: frozenset[str]
    scenes: frozenset[str]
    rate_per_minute: int
    frame_origins: tuple[str, ...]


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc() -> datetime:
    return datetime.now(UTC)


def _list(value: Iterable[str] | None, allowed: Iterable[str], field: str) -> list[str]:
    items = sorted({str(v).strip() for v in (value or []) if str(v).strip()})
    valid = set(allowed)
    for item in items:
        if item not in valid:
            raise InvalidInput(f"{field}: unknown {item!r:.40}; valid: {', '.join(sorted(valid))}", field=field)
    return items


def _origins(value: Iterable[str] | None) -> list[str]:
    out = []
    for origin in value or []:
        if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d{1,5})?|http://(localhost|127\.0\.0\.1)(:\d{1,5})?",
                            origin.strip()):
            raise InvalidInput(f"frame_origins: {origin!r:.80} is not an https origin (scheme://host[:port])",
                               field="frame_origins")
        out.append(origin.strip())
    return sorted(set(out))


def create_partner(engine: Engine, partner_id: str, name: str, licence: str, *, licence_no: str | None = None,
                   product_codes: Iterable[str] = (), scenes: Iterable[str] = (),
                   frame_origins: Iterable[str] = (), rate_per_minute: int = DEFAULT_RATE,
                   now: datetime | None = None) -> dict[str, Any]:
    """Register a partner, in sandbox mode. An intermediary needs its licence number."""
    if not CODE.match(partner_id or ""):
        raise InvalidInput("partner_id: 2 to 32 lower-case letters, digits, - or _", field="partner_id")
    if licence not in LICENCES:
        raise InvalidInput(f"licence: unknown {licence!r:.40}; valid: {', '.join(LICENCES)}", field="licence")
    if licence == "intermediary" and not (licence_no or "").strip():
        raise InvalidInput("licence_no: a licensed intermediary needs its licence number (许可证编号)",
                           field="licence_no")
    if not (name or "").strip() or len(name) > 200:
        raise InvalidInput("name: needs 1 to 200 characters", field="name")
    if not 1 <= int(rate_per_minute) <= 100_000:
        raise InvalidInput("rate_per_minute: 1 to 100000", field="rate_per_minute")
    shelf = products()
    codes = _list(product_codes, shelf, "products")
    scene_list = _list(scenes, {p.scene for p in shelf.values()}, "scenes")
    for code in codes:
        if shelf[code].scene not in scene_list:
            raise InvalidInput(f"products: {code} is a {shelf[code].scene} product; add the scene {shelf[code].scene}",
                               field="products")
    at = stamp(now or now_utc())
    row = {"partner_id": partner_id, "name": name.strip(), "licence": licence,
           "licence_no": (licence_no or "").strip() or None, "mode": "sandbox", "products": codes,
           "scenes": scene_list, "frame_origins": _origins(frame_origins), "rate_per_minute": int(rate_per_minute),
           "status": "active", "created_at": at, "updated_at": at, "live_report_id": None}
    try:
        store.add_partner(engine, row)
    except IntegrityError:
        raise InvalidInput(f"partner_id: {partner_id} is registered already", field="partner_id") from None
    return row


def get(engine: Engine, partner_id: str) -> dict[str, Any]:
    found = store.get_partner(engine, partner_id)
    if found is None:
        from shouhu.errors import UnknownName

        raise UnknownName("partner", partner_id, [p["partner_id"] for p in store.list_partners(engine)])
    return found


def set_status(engine: Engine, partner_id: str, status: str, now: datetime | None = None) -> dict[str, Any]:
    if status not in ("active", "suspended"):
        raise InvalidInput("status: active or suspended", field="status")
    get(engine, partner_id)
    store.update_partner(engine, partner_id, {"status": status, "updated_at": stamp(now or now_utc())})
    return get(engine, partner_id)


def update(engine: Engine, partner_id: str, *, product_codes: Iterable[str] | None = None,
           scenes: Iterable[str] | None = None, frame_origins: Iterable[str] | None = None,
           rate_per_minute: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    p = get(engine, partner_id)
    shelf = products()
    values: dict[str, Any] = {"updated_at": stamp(now or now_utc())}
    if scenes is not None:
        values["scenes"] = _list(scenes, {x.scene for x in shelf.values()}, "scenes")
    if product_codes is not None:
        values["products"] = _list(product_codes, shelf, "products")
    scene_list = values.get("scenes", p["scenes"])
    for code in values.get("products", p["products"]):
        if shelf[code].scene not in scene_list:
            raise InvalidInput(f"products: {code} needs the scene {shelf[code].scene}", field="products")
    if frame_origins is not None:
        values["frame_origins"] = _origins(frame_origins)
    if rate_per_minute is not None:
        if not 1 <= int(rate_per_minute) <= 100_000:
            raise InvalidInput("rate_per_minute: 1 to 100000", field="rate_per_minute")
        values["rate_per_minute"] = int(rate_per_minute)
    store.update_partner(engine, partner_id, values)
    return get(engine, partner_id)


# --- keys --------------------------------------------------------------------------------------------

def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(engine: Engine, partner_id: str, mode: str, scopes: Iterable[str] | None = None,
              now: datetime | None = None) -> dict[str, Any]:
    """A new key; the returned ``key`` is the only time the secret is seen. Default scopes: what the
    partner's licence allows."""
    from shouhu.partners.licence import allowed_scopes

    p = get(engine, partner_id)
    if mode not in MODES:
        raise InvalidInput(f"mode: sandbox or production, not {mode!r:.20}", field="mode")
    if mode == "production" and p["mode"] != "production":
        raise Forbidden(f"partner {partner_id} is not live yet: production keys need a passed conformance report "
                        "(shouhu partners conformance)", field="mode")
    permitted = allowed_scopes(p["licence"])
    chosen = _list(scopes, SCOPES, "scopes") if scopes else sorted(permitted)
    refused = sorted(set(chosen) - permitted)
    if refused:
        from shouhu.partners.licence import refusal

        raise Forbidden(refusal(p["licence"], refused[0]), field="scopes")
    key_id = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    store.add_key(engine, {"key_id": key_id, "partner_id": partner_id, "secret_sha256": _digest(secret),
                           "scopes": chosen, "mode": mode, "created_at": stamp(now or now_utc()),
                           "expires_at": None, "revoked_at": None, "last_used_at": None})
    prefix = "shk_test" if mode == "sandbox" else "shk_live"
    return {"key_id": key_id, "key": f"{prefix}_{key_id}_{secret}", "mode": mode, "scopes": chosen}


def rotate_key(engine: Engine, key_id: str, now: datetime | None = None,
               overlap: timedelta = ROTATION_OVERLAP) -> dict[str, Any]:
    """A new key with the same partner, mode and scopes; the old one keeps working for ``overlap``."""
    old = store.get_key(engine, key_id)
    if old is None or old["revoked_at"]:
        raise InvalidInput(f"key_id: no live key {key_id}", field="key_id")
    moment = now or now_utc()
    new = issue_key(engine, old["partner_id"], old["mode"], old["scopes"], moment)
    store.update_key(engine, key_id, {"expires_at": stamp(moment + overlap)})
    return new | {"old_key_expires_at": stamp(moment + overlap)}


def revoke_key(engine: Engine, key_id: str, now: datetime | None = None) -> None:
    if not store.update_key(engine, key_id, {"revoked_at": stamp(now or now_utc())}):
        raise InvalidInput(f"key_id: no key {key_id}", field="key_id")


def authenticate(engine: Engine, presented: str | None, now: datetime | None = None) -> Caller:
    """The partner behind an API key; Unauthorised for a missing, unknown, wrong, expired or revoked key
    (one message for all, so that a guesser learns nothing), Forbidden for a suspended partner."""
    found = KEY.match((presented or "").strip())
    bad = Unauthorised("a valid partner API key is needed (Authorization: Bearer shk_...)")
    if not found:
        raise bad
    prefix, key_id, secret = found.groups()
    row = store.get_key(engine, key_id)
    if row is None or not hmac.compare_digest(row["secret_sha256"], _digest(secret)):
        raise bad
    at = stamp(now or now_utc())
    if row["revoked_at"] or (row["expires_at"] and row["expires_at"] <= at):
        raise bad
    if (prefix == "test") != (row["mode"] == "sandbox"):
        raise bad
    p = store.get_partner(engine, row["partner_id"])
    if p is None:
        raise bad
    if p["status"] != "active":
        raise Forbidden(f"partner {p['partner_id']} is suspended", field="partner")
    if row["mode"] == "production" and p["mode"] != "production":
        raise Forbidden(f"partner {p['partner_id']} is not live", field="mode")
    return Caller(p["partner_id"], p["name"], p["licence"], row["mode"], key_id, frozenset(row["scopes"]),
                  frozenset(p["products"]), frozenset(p["scenes"]), int(p["rate_per_minute"]),
                  tuple(p["frame_origins"]))


def touch(engine: Engine, key_id: str, now: datetime | None = None) -> None:
    store.update_key(engine, key_id, {"last_used_at": stamp(now or now_utc())})


def public_key_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("key_id", "partner_id", "scopes", "mode", "created_at", "expires_at", "revoked_at",
                                "last_used_at")}


# --- rate limit --------------------------------------------------------------------------------------

class RateLimiter:
    """A sliding one-minute window per partner and mode, in this process (several web workers each hold
    their own window: set the partner's limit per worker). ``allow`` returns the seconds to wait, or 0."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, partner_id: str, mode: str, per_minute: int) -> int:
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault((partner_id, mode), deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= per_minute:
                return max(1, int(hits[0] + 60 - now + 0.999))
            hits.append(now)
            return 0
