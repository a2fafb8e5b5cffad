"""The health programme's operations on the serving database: enrol, import wearable data, record
events, the daily points run, redemption, a member's summary. Rules are in the sibling modules; SQL in
``shouhu.storage.health``.

Health data needs its own consent: the ``health_data`` purpose of the consent ledger
(``shouhu.storage.journeys.consented``; no answer there means no consent). Enrolment, import, events and
earning all refuse a customer without it; a withdrawal stops earning from the next run.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine

from shouhu.errors import InvalidInput, UnknownName
from shouhu.health import fairness, ledger, membership, status, wearables
from shouhu.health.config import Programme, shipped
from shouhu.health.errors import ConsentMissing, NotAMember
from shouhu.health.ledger import Entry
from shouhu.health.wearables.common import Parsed
from shouhu.storage import health as store
from shouhu.storage.journeys import consented

PURPOSE = "health_data"
CHINA = ZoneInfo("Asia/Shanghai")  # days are China days: a sample dated today in Beijing is not "future"


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def china_day(now: datetime) -> date:
    return now.astimezone(CHINA).date()


def require_consent(engine: Engine, customer_id: str) -> None:
    if customer_id not in consented(engine, [customer_id], PURPOSE):
        raise ConsentMissing(f"customer {customer_id}: no consent to the health_data purpose; record the "
                             f"customer's grant first (shouhu consent grant {customer_id} --purpose health_data)",
                             customer_id=customer_id, purpose=PURPOSE)


def enrol(engine: Engine, customer_id: str, product_code: str, on: date, now: datetime,
          programme: Programme | None = None) -> dict[str, Any]:
    """Enrol (or re-enrol) a customer under the reward table of ``product_code``."""
    p = programme or shipped()
    require_consent(engine, customer_id)
    status.table(p, product_code)  # refuses a product without a guaranteed reward table
    row = {"customer_id": customer_id, "product_code": product_code, "enrolled_on": on.isoformat(),
           "status": "active", "updated_at": stamp(now)}
    store.upsert_member(engine, row)
    return row


def _store_parsed(engine: Engine, parsed: Parsed, customer_id: str, name: str, fmt: str, digest: str,
                  now: datetime) -> dict[str, Any]:
    import_id = f"hi-{uuid.uuid4().hex[:16]}"
    log = {"import_id": import_id, "customer_id": customer_id, "file_name": name, "format": fmt,
           "source": parsed.source, "sha256": digest, "rows_read": parsed.rows_read,
           "days_stored": len(parsed.days), "rows_quarantined": len(parsed.issues), "imported_at": stamp(now)}
    days = [{"customer_id": customer_id, "day": d.day.isoformat(), "source": d.source, "steps": d.steps,
             "active_minutes": d.active_minutes, "resting_hr": d.resting_hr, "import_id": import_id,
             "updated_at": stamp(now)} for d in parsed.days]
    issues = [{"import_id": import_id, "customer_id": customer_id, "file_name": name, "row_no": i.row,
               "field": i.field, "reason": i.reason, "value": i.value} for i in parsed.issues]
    store.save_import(engine, log, days, issues)
    return log | {"already_imported": False, "issues": issues}


def import_file(engine: Engine, path: Path, customer_id: str, fmt: str, now: datetime,
                source: str | None = None) -> dict[str, Any]:
    """Import one export for one customer. The same file twice changes nothing (``already_imported``); an
    overlapping file replaces the days it covers for its source."""
    require_consent(engine, customer_id)
    if fmt not in wearables.FORMATS:
        raise UnknownName("format", fmt, wearables.FORMATS)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        raise InvalidInput(f"file: cannot read {path}: {e}", field="file") from e
    before = store.find_import(engine, customer_id, digest)
    if before is not None:
        return before | {"already_imported": True, "issues": store.quarantined(engine, before["import_id"])}
    parsed = wearables.parse(path, fmt, china_day(now), source)
    return _store_parsed(engine, parsed, customer_id, path.name, fmt, digest, now)


def import_payload(engine: Engine, payload: object, customer_id: str, now: datetime) -> dict[str, Any]:
    """The generic JSON push (see ``shouhu.health.wearables.json_push``), idempotent like a file."""
    import json

    require_consent(engine, customer_id)
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    before = store.find_import(engine, customer_id, digest)
    if before is not None:
        return before | {"already_imported": True, "issues": store.quarantined(engine, before["import_id"])}
    parsed = wearables.parse_payload(payload, china_day(now))
    parsed.days = wearables.merge(parsed.days)
    return _store_parsed(engine, parsed, customer_id, "push", "json", digest, now)


def record_event(engine: Engine, customer_id: str, kind: str, ref: str, day: date, actor: str, now: datetime,
                 programme: Programme | None = None) -> bool:
    """A completed health check, quiz or review; it earns at the next points run. False if already recorded."""
    p = programme or shipped()
    if kind not in p.event_kinds:
        raise UnknownName("event kind", kind, p.event_kinds)
    if not ref.strip():
        raise InvalidInput("ref: the check, quiz or review id is required", field="ref")
    require_consent(engine, customer_id)
    if day > china_day(now):
        raise InvalidInput(f"day: {day.isoformat()} is in the future", field="day")
    return store.add_event(engine, {"customer_id": customer_id, "kind": kind, "ref": ref.strip(),
                                    "day": day.isoformat(), "recorded_at": stamp(now), "actor": actor})


# --- ledger rows -----------------------------------------------------------------------------------------

def to_row(e: Entry, now: datetime) -> dict[str, Any]:
    return {"entry_key": e.key, "customer_id": e.customer_id, "kind": e.kind, "category": e.category,
            "points": e.points, "day": e.day.isoformat(), "programme_year": e.programme_year,
            "expires_on": e.expires_on.isoformat() if e.expires_on else None, "lot_key": e.lot, "note": e.note,
            "created_at": stamp(now)}


def from_row(r: Mapping[str, Any]) -> Entry:
    return Entry(str(r["entry_key"]), str(r["customer_id"]), str(r["kind"]), str(r["category"]), int(r["points"]),
                 date.fromisoformat(r["day"]), int(r["programme_year"]),
                 date.fromisoformat(r["expires_on"]) if r["expires_on"] else None, r["lot_key"], r["note"])


def _lot(r: Mapping[str, Any]) -> ledger.Lot:
    return ledger.Lot(from_row(r), int(r["remaining"]))


# --- redemption and summaries ----------------------------------------------------------------------------

def tier_in_force(conn: Connection | Engine, p: Programme, customer_id: str, on: date) -> status.Progress:
    year = p.year_of(on)
    this = sum(v for (c, _), v in store.year_totals(conn, year, [customer_id]).items() if c == customer_id)
    last = sum(v for (c, _), v in store.year_totals(conn, year - 1, [customer_id]).items() if c == customer_id)
    return status.progress(p, this, last)


def redeem(engine: Engine, customer_id: str, voucher_code: str, request_key: str, on: date, now: datetime,
           programme: Programme | None = None) -> dict[str, Any]:
    """Buy a voucher of the member's reward table with points, soonest-expiring first; idempotent per key."""
    p = programme or shipped()
    with engine.begin() as conn:
        done = store.find_redemption(conn, request_key)
        if done is not None:
            return done | {"already_done": True}
        m = store.lock_member(conn, customer_id)
        if m is None or m["status"] != "active":
            raise NotAMember(f"customer {customer_id}: not an active member of the health programme",
                             field="customer_id")
        tier = tier_in_force(conn, p, customer_id, on).tier
        voucher = status.voucher_for(p, m["product_code"], tier.code, voucher_code)
        entries = [from_row(r) for r in store.entries_of(conn, customer_id)]
        draws = ledger.redeem(entries, voucher.points, on, request_key, p.year_of(on), note=voucher.code)
        store.append(conn, [to_row(d, now) for d in draws])
        row = {"redemption_id": f"hr-{uuid.uuid4().hex[:16]}", "customer_id": customer_id,
               "product_code": m["product_code"], "voucher_code": voucher.code, "points": voucher.points,
               "request_key": request_key, "redeemed_at": stamp(now)}
        store.add_redemption(conn, row)
    return row | {"already_done": False}


def summary(engine: Engine, customer_id: str, on: date, programme: Programme | None = None) -> dict[str, Any]:
    """What the customer's pages show: recent days, points, status and the rewards of the status."""
    p = programme or shipped()
    m = store.get_member(engine, customer_id)
    entries = [from_row(r) for r in store.entries_of(engine, customer_id)]
    prog = tier_in_force(engine, p, customer_id, on)
    out: dict[str, Any] = {
        "member": m, "balance": ledger.balance(entries), "available": ledger.available(entries, on),
        "lots": [{"key": lot.entry.key, "category": lot.entry.category, "remaining": lot.remaining,
                  "expires_on": lot.entry.expires_on} for lot in ledger.spendable(entries, on)],
        "entries": [asdict(e) for e in reversed(entries[-50:])],
        "status_points": ledger.status_points(entries, p.year_of(on)),
        "tier": prog.tier, "next_tier": prog.next_tier, "points_to_next": prog.points_to_next,
    }
    if m is not None:
        out["reward"] = status.reward(p, m["product_code"], prog.tier.code)
        out["vouchers"] = status.vouchers(p, m["product_code"], prog.tier.code)
    return out




# --- membership by value and the fairness report ---------------------------------------------------------

def sync_membership(engine: Engine, now: datetime, programme: Programme | None = None) -> list[membership.Change]:
    """Take the value tiers of the last refresh as service levels; log each change with its reason."""
    p = programme or shipped()
    found = membership.changes(p, store.current_tiers(engine), store.value_tiers(engine))
    store.apply_changes(engine, [{"customer_id": c.customer_id, "from_tier": c.from_tier, "to_tier": c.to_tier,
                                  "reason_zh": c.reason_zh, "reason_en": c.reason_en} for c in found], stamp(now))
    return found


def fairness_frame(engine: Engine, on: date, window_days: int = 90,
                   programme: Programme | None = None) -> pd.DataFrame:
    p = programme or shipped()
    first = (on - timedelta(days=window_days - 1)).isoformat()
    frame = pd.DataFrame(store.population(engine), columns=["customer_id", "age", "province", "has_wearable"])
    ids = frame["customer_id"].tolist()
    members = {m["customer_id"] for m in store.active_members(engine)}
    allowed = consented(engine, ids, PURPOSE)
    devices = store.device_owners(engine, first, on.isoformat())
    earned, year = store.earned_between(engine, first, on.isoformat()), store.status_totals(engine, p.year_of(on))
    frame["has_device"] = frame["has_wearable"].fillna(False).astype(bool) | frame["customer_id"].isin(devices)
    frame["member"] = frame["customer_id"].isin(members)
    frame["consented"] = frame["customer_id"].isin(allowed)
    frame["earned_points"] = frame["customer_id"].map(earned).fillna(0).astype(int)
    frame["status_points"] = frame["customer_id"].map(year).fillna(0).astype(int)
    return frame


def fairness_report(engine: Engine, on: date, window_days: int = 90, min_group: int = 20,
                    programme: Programme | None = None) -> list[fairness.Group]:
    p = programme or shipped()
    return fairness.report(fairness_frame(engine, on, window_days, p), p.tiers[1].min_points, min_group)


__all__ = ["PURPOSE", "enrol", "fairness_frame", "fairness_report", "from_row", "import_file", "import_payload",
           "record_event", "redeem", "require_consent", "summary", "sync_membership", "tier_in_force", "to_row"]
