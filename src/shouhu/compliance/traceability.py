"""The sales traceability ledger (销售可回溯): versioned sales pages, the customer's operations as minimised,
hash-chained events, Merkle seals with inclusion proofs, a masked replay, signed sales receipts and
retention by contract term. docs/traceability.md is the user guide.

* A sales page version (投保须知, 条款, 免责条款说明, 健康告知, 风险提示, ...) is stored with the SHA-256 of its
  content (UTF-8, LF line ends); an event names the version and its hash.
* An event records what happened, never free text in clear: its type, the page version, codes (field,
  question, answer, method), flags, numbers. Anything personal (``personal``) is sealed with the customer's
  own key (``compliance.subject_keys``); the hash is over the sealed text, so destroying the key
  (crypto-shredding) leaves every hash and proof valid while the personal parts become unreadable.
* Per session: ``genesis`` = SHA-256 over the session's header (who, what, when), then
  ``hash = SHA-256(prev_hash + canonical JSON of the event incl. seq)``.
* A seal is a Merkle tree (RFC 6962: SHA-256, leaf prefix 0x00, node prefix 0x01) over the heads of
  closed sessions (leaf data ``<session id>:<head hash>``); seals are hash-chained too.
* A sales receipt is an Ed25519 signature over the canonical JSON of the session's facts, pages, head,
  seal root and inclusion proof; anyone with the public key verifies it offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from shouhu.compliance import subject_keys
from shouhu.errors import ConfigError, InvalidInput, ShouhuError, StorageError
from shouhu.filemodes import private_dir, private_file
from shouhu.model.masking import mask
from shouhu.privacy.crypto import FieldCipher
from shouhu.settings import Settings
from shouhu.storage import traceability as store

GENESIS = "0" * 64
FORMAT = "shouhu.sales-receipt.v1"
KEY_FILE = "trace-signing.key"
KEY_ENV = "SHOUHU_TRACE_SIGNING_KEY"
SHORT_YEARS, LONG_YEARS = 5, 10  # cover of one year or less / longer: years kept after the contract ends
SEAL_BATCH = 10_000
MAX_EVENTS = 1_000
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
SHA = re.compile(r"^[0-9a-f]{64}$")

PAGE_KINDS: dict[str, tuple[str, str]] = {
    "notice": ("投保须知", "Application notice"), "terms": ("保险条款", "Policy terms"),
    "exclusions": ("免责条款说明", "Exclusions explained"), "health_notice": ("健康告知", "Health questions"),
    "risk": ("风险提示", "Risk warning"), "product": ("产品说明", "Product description"),
    "suitability": ("适当性评估", "Suitability"), "confirmation": ("投保确认", "Application confirmation"),
    "other": ("其他页面", "Other page"),
}
EVENT_TYPES: dict[str, tuple[str, str]] = {
    "page_view": ("浏览页面", "Page viewed"), "confirm": ("勾选确认", "Confirmation ticked"),
    "answer": ("回答问题", "Question answered"), "input": ("填写信息", "Details entered"),
    "sign": ("签名", "Signed"), "pay": ("支付", "Paid"), "submit": ("提交投保", "Application submitted"),
    "close": ("会话结束", "Session closed"),
}
OUTCOMES: dict[str, tuple[str, str]] = {
    "issued": ("已承保", "Policy issued"), "submitted": ("已提交投保", "Application submitted"),
    "declined": ("未通过核保", "Declined"), "abandoned": ("客户中止", "Abandoned"),
    "expired": ("超时结束", "Timed out"),
}
# What each client event type carries besides type/at/page: name -> (kind, required). ``personal`` is sealed.
_COMMON = {"client_event_id", "type", "at", "page_code", "page_version", "page_hash"}
_SPEC: dict[str, tuple[str, dict[str, tuple[str, bool]], str]] = {  # page rule, fields, personal rule
    "page_view": ("required", {"duration_ms": ("duration", False), "scrolled_to_end": ("bool", False)}, "no"),
    "confirm": ("required", {"field": ("code", True), "value": ("bool", True)}, "no"),
    "answer": ("required", {"question": ("code", True), "answer": ("code", True)}, "no"),
    "input": ("required", {"field": ("code", True)}, "required"),
    "sign": ("optional", {"method": ("code", True)}, "optional"),
    "pay": ("optional", {"method": ("code", True), "amount_fen": ("amount", True)}, "no"),
    "submit": ("optional", {}, "no"),
}
_lock = threading.Lock()


class NotFound(ShouhuError, LookupError):
    code = "not_found"


class Conflict(ShouhuError):
    code = "conflict"


# --- hashing -----------------------------------------------------------------------------------------

def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


HEADER = ("session_id", "customer_id", "product_code", "application_no", "channel", "started_at", "recorded_by")
EVENT_FIELDS = ("session_id", "seq", "at", "recorded_at", "type", "page_code", "page_version", "page_hash", "data",
                "sealed", "client_event_id")
SEAL_FIELDS = ("seq", "at", "size", "root", "leaves")


def genesis(header: Mapping[str, Any]) -> str:
    """The first link of a session's chain: binds who, what and when."""
    return sha256("shouhu.trace.v1\n" + canonical({k: header.get(k) for k in HEADER}))


def event_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return sha256(prev_hash + canonical({k: row.get(k) for k in EVENT_FIELDS}))


def seal_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return sha256(prev_hash + canonical({k: row.get(k) for k in SEAL_FIELDS}))


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- Merkle tree (RFC 6962 / RFC 9162) ---------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def session_leaf(session_id: str, head_hash: str) -> bytes:
    return leaf_hash(f"{session_id}:{head_hash}".encode())


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The tree head over leaf hashes (already ``leaf_hash``-ed)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf ``index`` (RFC 6962 section 2.1.1)."""
    n = len(leaves)
    if not 0 <= index < n:
        raise InvalidInput(f"leaf {index} is outside a tree of {n}", field="index")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), merkle_root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), merkle_root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does ``proof`` lead from ``leaf`` at ``index`` to ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- sales pages -------------------------------------------------------------------------------------

def _code(value: Any, where: str) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise InvalidInput(f"{where}: must be a code (letters, digits, _ . : -; at most 64), got {value!r:.80}",
                           field=where)
    return value


def decode_page(raw: bytes | str, source: str = "content") -> str:
    """Page text as stored and hashed: UTF-8 (with or without BOM) or GBK/GB18030 decoded, CRLF and CR made LF."""
    if isinstance(raw, bytes):
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                content = raw.decode("gb18030")
            except UnicodeDecodeError as e:
                raise InvalidInput(f"{source}: neither UTF-8 nor GBK/GB18030 (byte {e.start})",
                                   field="content") from e
    else:
        content = raw.removeprefix("\ufeff")
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in content:
        raise InvalidInput(f"{source}: holds NUL characters; is it a binary file?", field="content")
    if not content.strip():
        raise InvalidInput(f"{source}: the page is empty", field="content")
    return content


def publish_page(engine: Engine, code: str, kind: str, title: str, content: bytes | str, by: str,
                 now: datetime | None = None, source: str = "content") -> dict[str, Any]:
    """A new version of page ``code`` (1, 2, ...); the same content as the latest version adds none."""
    _code(code, "code")
    if kind not in PAGE_KINDS:
        raise InvalidInput(f"kind: unknown page kind {kind!r}; valid: {', '.join(PAGE_KINDS)}", field="kind")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidInput("title: needs 1 to 200 characters", field="title")
    body = decode_page(content, source)
    digest = sha256(body)
    for _ in range(20):
        try:
            with engine.begin() as conn:
                last = store.latest_page(conn, code)
                if last is not None and last["sha256"] == digest and last["title"] == title and last["kind"] == kind:
                    return {k: last[k] for k in ("code", "version", "kind", "title", "sha256")} | {"unchanged": True}
                row = {"code": code, "version": 1 if last is None else int(last["version"]) + 1, "kind": kind,
                       "title": title, "content": body, "sha256": digest, "published_at": _stamp(now or utcnow()),
                       "published_by": by[:64]}
                store.add_page(conn, row)
            return {k: row[k] for k in ("code", "version", "kind", "title", "sha256")} | {"unchanged": False}
        except IntegrityError:
            continue  # another publisher took the version number
    raise StorageError(f"could not publish page {code}: the database stayed busy")


# --- events ------------------------------------------------------------------------------------------

@dataclass
class Parsed:
    type: str
    at: str
    page: tuple[str, int] | None
    page_hash: str | None
    data: dict[str, Any]
    personal: dict[str, str] | None
    client_event_id: str | None
    where: str


def _at(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: needs an ISO 8601 time with offset, e.g. 2026-12-07T10:00:00+08:00",
                           field=where)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{where}: not an ISO 8601 time: {value!r:.60}", field=where) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{where}: needs a time zone offset, e.g. 2026-12-07T10:00:00+08:00", field=where)
    try:
        return _stamp(parsed)
    except OverflowError:  # year 1 or 9999 with an offset has no UTC time
        raise InvalidInput(f"{where}: outside the years 1 to 9999 in UTC", field=where) from None


def _value(kind: str, value: Any, where: str) -> Any:
    if kind == "code":
        return _code(value, where)
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInput(f"{where}: must be true or false", field=where)
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{where}: must be a whole number", field=where)
    limit = 86_400_000 if kind == "duration" else 10_000_000_000_000  # a day in ms; 1e11 yuan in fen
    if not 0 <= value <= limit:
        raise InvalidInput(f"{where}: must be between 0 and {limit}", field=where)
    return value


def _personal(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value or len(value) > 20:
        raise InvalidInput(f"{where}: must be an object of 1 to 20 code: text pairs", field=where)
    out = {}
    for key, v in value.items():
        _code(key, f"{where}.{key}" if isinstance(key, str) else where)
        if not isinstance(v, str) or len(v) > 2000:
            raise InvalidInput(f"{where}.{key}: must be text of at most 2000 characters", field=f"{where}.{key}")
        out[key] = v
    return out


def parse_event(raw: Any, where: str = "event") -> Parsed:
    """Check one client event; an InvalidInput names the field (``events[3].page_version``)."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{where}: must be an object", field=where)
    kind = raw.get("type")
    if kind is None:
        raise InvalidInput(f"{where}.type: missing", field=f"{where}.type")
    if not isinstance(kind, str) or kind not in _SPEC:
        raise InvalidInput(f"{where}.type: unknown event type {kind!r:.40}; valid: {', '.join(_SPEC)}",
                           field=f"{where}.type")
    page_rule, fields, personal_rule = _SPEC[kind]
    allowed = _COMMON | set(fields) | ({"personal"} if personal_rule != "no" else set())
    extra = sorted(str(k) for k in raw if k not in allowed)
    if extra:
        raise InvalidInput(f"{where}.{extra[0]}: not a field of {kind} events (events carry codes, never free "
                           f"text; personal details go in 'personal' where allowed)", field=f"{where}.{extra[0]}")
    if "at" not in raw:
        raise InvalidInput(f"{where}.at: missing", field=f"{where}.at")
    at = _at(raw["at"], f"{where}.at")
    page = None
    if raw.get("page_code") is not None or raw.get("page_version") is not None or page_rule == "required":
        for name in ("page_code", "page_version"):
            if raw.get(name) is None:
                raise InvalidInput(f"{where}.{name}: missing ({kind} events name the page version shown)",
                                   field=f"{where}.{name}")
        version = raw["page_version"]
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 2_147_483_647:
            raise InvalidInput(f"{where}.page_version: must be a version number (1, 2, ...)",
                               field=f"{where}.page_version")
        page = (_code(raw["page_code"], f"{where}.page_code"), version)
    page_hash = raw.get("page_hash")
    if page_hash is not None and (not isinstance(page_hash, str) or not SHA.match(page_hash)):
        raise InvalidInput(f"{where}.page_hash: must be 64 lower-case hex digits", field=f"{where}.page_hash")
    data = {}
    for name, (vkind, required) in fields.items():
        if raw.get(name) is None:
            if required:
                raise InvalidInput(f"{where}.{name}: missing (needed by {kind} events)", field=f"{where}.{name}")
            continue
        data[name] = _value(vkind, raw[name], f"{where}.{name}")
    personal = None
    if raw.get("personal") is not None:
        personal = _personal(raw["personal"], f"{where}.personal")
    elif personal_rule == "required":
        raise InvalidInput(f"{where}.personal: missing (needed by {kind} events)", field=f"{where}.personal")
    if personal:
        data["personal_keys"] = sorted(personal)
    cid = raw.get("client_event_id")
    if cid is not None:
        _code(cid, f"{where}.client_event_id")
    return Parsed(str(kind), at, page, page_hash, data, personal, cid, where)


def _append(conn: Connection, cipher: FieldCipher, s: dict[str, Any], parsed: list[Parsed],
            now: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    facts = store.page_facts(conn, {p.page for p in parsed if p.page})
    for p in parsed:
        if p.page is None:
            continue
        found = facts.get(p.page)
        if found is None:
            raise InvalidInput(f"{p.where}.page_version: no published version {p.page[1]} of page {p.page[0]}",
                               field=f"{p.where}.page_version")
        if p.page_hash is not None and p.page_hash != found["sha256"]:
            raise InvalidInput(f"{p.where}.page_hash: differs from the hash of {p.page[0]} v{p.page[1]} "
                               f"({found['sha256'][:12]}...): the page shown is not the version published",
                               field=f"{p.where}.page_hash")
    seen = store.client_ids(conn, s["session_id"])
    seq, prev = int(s["events"]), str(s["head_hash"])
    rows, duplicates = [], []
    recorded_at = _stamp(now)
    for p in parsed:
        if p.client_event_id is not None:
            if p.client_event_id in seen:
                duplicates.append(p.client_event_id)
                continue
            seen[p.client_event_id] = seq + 1
        seq += 1
        sealed = (subject_keys.seal(conn, cipher, s["customer_id"], canonical(p.personal))
                  if p.personal else None)
        row = {"session_id": s["session_id"], "seq": seq, "at": p.at, "recorded_at": recorded_at, "type": p.type,
               "page_code": p.page[0] if p.page else None, "page_version": p.page[1] if p.page else None,
               "page_hash": facts[p.page]["sha256"] if p.page else None, "data": canonical(p.data),
               "sealed": sealed, "client_event_id": p.client_event_id, "prev_hash": prev}
        row["hash"] = event_hash(prev, row)
        prev = row["hash"]
        rows.append(row)
    store.add_events(conn, rows)
    return rows, duplicates


def start_session(engine: Engine, *, customer_id: str, product_code: str, application_no: str | None = None,
                  channel: str = "web", recorded_by: str, started_at: datetime | None = None,
                  session_id: str | None = None) -> dict[str, Any]:
    """Open a session; returns its id and genesis hash."""
    header = {"session_id": session_id or f"TS{uuid.uuid4().hex[:20].upper()}",
              "customer_id": _code(customer_id, "customer_id"), "product_code": _code(product_code, "product_code"),
              "application_no": None if application_no is None else _code(application_no, "application_no"),
              "channel": _code(channel, "channel"), "started_at": _stamp(started_at or utcnow()),
              "recorded_by": recorded_by[:64]}
    first = genesis(header)
    try:
        store.add_session(engine, header | {"genesis": first, "head_hash": first, "events": 0})
    except IntegrityError:
        raise Conflict(f"session {header['session_id']} exists already", field="session_id") from None
    return header | {"genesis": first, "events": 0}


def _open(s: dict[str, Any] | None, session_id: str) -> dict[str, Any]:
    if s is None:
        raise NotFound(f"no traceability session {session_id}", field="session_id")
    if s["closed_at"]:
        raise Conflict(f"session {session_id} was closed at {s['closed_at']}; it takes no more events",
                       field="session_id")
    return s


def record_events(engine: Engine, cipher: FieldCipher, session_id: str, events: Sequence[Any],
                  now: datetime | None = None) -> dict[str, Any]:
    """Append a batch to the session's chain, all or none. Idempotent by ``client_event_id``: an id seen
    before (in an earlier batch or earlier in this one) is skipped and listed in ``duplicates``."""
    if not isinstance(events, Sequence) or isinstance(events, str | bytes) or not 1 <= len(events) <= MAX_EVENTS:
        raise InvalidInput(f"events: needs a list of 1 to {MAX_EVENTS} events", field="events")
    _open(store.get_session(engine, session_id), session_id)  # unknown or closed: say so before the details
    parsed = [parse_event(e, f"events[{i}]") for i, e in enumerate(events)]
    with store.locked_session(engine, session_id) as (conn, found):
        s = _open(found, session_id)
        rows, duplicates = _append(conn, cipher, s, parsed, now or utcnow())
        head = rows[-1]["hash"] if rows else s["head_hash"]
        count = int(s["events"]) + len(rows)
        store.update_session(conn, session_id, {"events": count, "head_hash": head})
    return {"session_id": session_id, "received": len(parsed), "recorded": len(rows), "duplicates": duplicates,
            "events": count, "head_hash": head}


def _date(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{where}: not an ISO date (YYYY-MM-DD): {value!r:.40}", field=where) from None
    if not date(1900, 1, 1) <= day <= date(2200, 12, 31):
        raise InvalidInput(f"{where}: {day} is outside 1900-2200", field=where)
    return day


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


def retention(cover_start: date | None, cover_end: date | None, closed_on: date,
              contract_end: date | None = None) -> tuple[str, date | None, date | None]:
    """(term class, contract end, retain until). Cover of one year or less: kept SHORT_YEARS after the
    contract ends; longer (or open-ended, e.g. whole life): LONG_YEARS. No contract (no cover start):
    SHORT_YEARS after the session closed. A running contract whose end is unknown: retain until None."""
    if cover_start is None:
        return "none", None, add_years(closed_on, SHORT_YEARS)
    short = cover_end is not None and cover_end <= add_years(cover_start, 1)
    end = contract_end or cover_end
    return ("short" if short else "long"), end, (add_years(end, SHORT_YEARS if short else LONG_YEARS)
                                                 if end else None)


def close_session(engine: Engine, session_id: str, *, outcome: str, policy_no: str | None = None,
                  cover_start: Any = None, cover_end: Any = None, at: datetime | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Close with a ``close`` event (outcome, policy, cover period); sets what retention needs."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome: unknown outcome {outcome!r:.40}; valid: {', '.join(OUTCOMES)}", field="outcome")
    if policy_no is not None:
        _code(policy_no, "policy_no")
    start, end = _date(cover_start, "cover_start"), _date(cover_end, "cover_end")
    if end is not None and start is None:
        raise InvalidInput("cover_start: missing (a cover end needs its start)", field="cover_start")
    if start and end and end < start:
        raise InvalidInput("cover_end: before cover_start", field="cover_end")
    moment = now or utcnow()
    closed_at = at or moment
    term, contract_end, keep = retention(start, end, closed_at.astimezone(UTC).date())
    data = {"outcome": outcome, "policy_no": policy_no, "cover_start": start and start.isoformat(),
            "cover_end": end and end.isoformat()}
    with store.locked_session(engine, session_id) as (conn, found):
        s = _open(found, session_id)
        seq = int(s["events"]) + 1
        row = {"session_id": session_id, "seq": seq, "at": _stamp(closed_at), "recorded_at": _stamp(moment),
               "type": "close", "page_code": None, "page_version": None, "page_hash": None,
               "data": canonical(data), "sealed": None, "client_event_id": None, "prev_hash": s["head_hash"]}
        row["hash"] = event_hash(s["head_hash"], row)
        store.add_events(conn, [row])
        values = {"events": seq, "head_hash": row["hash"], "closed_at": row["at"], "outcome": outcome,
                  "policy_no": policy_no, "cover_start": data["cover_start"], "cover_end": data["cover_end"],
                  "term_class": term, "contract_end": contract_end and contract_end.isoformat(),
                  "retain_until": keep and keep.isoformat()}
        store.update_session(conn, session_id, values)
    return {"session_id": session_id} | values


def set_contract_end(engine: Engine, session_id: str, contract_end: Any) -> dict[str, Any]:
    """The contract ended (expiry, surrender, claim): retention now runs from that day. The term class (how
    long the cover was) stays as the session recorded it. Not part of the evidence (not hash-chained)."""
    end = _date(contract_end, "contract_end")
    if end is None:
        raise InvalidInput("contract_end: missing", field="contract_end")
    s = store.get_session(engine, session_id)
    if s is None:
        raise NotFound(f"no traceability session {session_id}", field="session_id")
    if not s["closed_at"] or s["term_class"] in (None, "none"):
        raise Conflict(f"session {session_id} has no contract to end (outcome {s['outcome'] or 'open'})")
    keep = add_years(end, SHORT_YEARS if s["term_class"] == "short" else LONG_YEARS)
    with engine.begin() as conn:
        store.update_session(conn, session_id, {"contract_end": end.isoformat(), "retain_until": keep.isoformat()})
    return {"session_id": session_id, "contract_end": end.isoformat(), "retain_until": keep.isoformat()}


# --- verification ------------------------------------------------------------------------------------

def check_session(s: Mapping[str, Any], events: Sequence[Mapping[str, Any]],
                  page_hashes: Mapping[tuple[str, int], str]) -> tuple[str | None, str]:
    """(first problem or None, head recomputed from the events)."""
    if genesis(s) != s["genesis"]:
        return "the session's header (customer, product, application, start) was changed", s["genesis"]
    prev = str(s["genesis"])
    for i, e in enumerate(events, start=1):
        if int(e["seq"]) != i:
            return f"event {i} is missing (found {e['seq']} next)", prev
        if e["prev_hash"] != prev:
            return f"event {i} does not link to event {i - 1}", prev
        if event_hash(prev, e) != e["hash"]:
            return f"event {i} was changed after it was written", prev
        if e["page_code"] is not None and page_hashes.get((e["page_code"], int(e["page_version"]))) != e["page_hash"]:
            return f"event {i} names page {e['page_code']} v{e['page_version']}, whose hash differs", prev
        prev = str(e["hash"])
    if len(events) != int(s["events"]) or prev != s["head_hash"]:
        return (f"the session holds {len(events)} events and head {prev[:12]}..., but recorded {s['events']} and "
                f"head {str(s['head_hash'])[:12]}...: an event was removed or added"), prev
    closing = bool(events) and events[-1]["type"] == "close"
    if bool(s["closed_at"]) != closing or any(e["type"] == "close" for e in events[:-1]):
        return "the session's close event does not match its state", prev
    return None, prev


@dataclass(frozen=True)
class Verification:
    ok: bool
    pages: int = 0
    sessions: int = 0
    events: int = 0
    seals: int = 0
    broken_kind: str | None = None   # page | session | seal
    broken_id: str | None = None
    problem: str = ""
    checked: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "pages": self.pages, "sessions": self.sessions, "events": self.events,
                "seals": self.seals, "broken_kind": self.broken_kind, "broken_id": self.broken_id,
                "problem": self.problem}


def verify(engine: Engine) -> Verification:
    """Every page hash, every session's chain and every seal (chain, root, leaves against the sessions);
    names the first broken page, session or seal."""
    with engine.connect() as conn:
        hashes: dict[tuple[str, int], str] = {}
        for p in store.all_pages(conn):
            if sha256(p["content"]) != p["sha256"]:
                return Verification(False, len(hashes), broken_kind="page", broken_id=f"{p['code']} v{p['version']}",
                                    problem="the page's content no longer matches its hash")
            hashes[(p["code"], int(p["version"]))] = p["sha256"]
        sessions = store.all_sessions(conn)
        by_id = {s["session_id"]: s for s in sessions}
        grouped = {sid: list(evs) for sid, evs in groupby(store.all_events(conn), key=lambda e: e["session_id"])}
        heads: dict[str, str] = {}
        total = 0
        for n, s in enumerate(sessions):
            evs = grouped.pop(s["session_id"], [])
            problem, heads[s["session_id"]] = check_session(s, evs, hashes)
            total += len(evs)
            if problem:
                return Verification(False, len(hashes), n, total, broken_kind="session", broken_id=s["session_id"],
                                    problem=problem)
        if grouped:
            orphan = sorted(grouped)[0]
            return Verification(False, len(hashes), len(sessions), total, broken_kind="session", broken_id=orphan,
                                problem="events of a session that is not in trace_session (the session was removed)")
        prev, sealed_in = GENESIS, dict[str, int]()
        seals = store.all_seals(conn)
        for i, z in enumerate(seals, start=1):
            problem = _check_seal(z, i, prev, by_id, heads, sealed_in)
            if problem:
                return Verification(False, len(hashes), len(sessions), total, i - 1, "seal", str(z["seq"]), problem)
            prev = str(z["hash"])
        for s in sessions:
            if s["seal_seq"] is not None and sealed_in.get(s["session_id"]) != s["seal_seq"]:
                return Verification(False, len(hashes), len(sessions), total, len(seals), "session", s["session_id"],
                                    f"marked as sealed in seal {s['seal_seq']}, which does not hold it")
    return Verification(True, len(hashes), len(sessions), total, len(seals))


def _check_seal(z: Mapping[str, Any], i: int, prev: str, by_id: Mapping[str, Mapping[str, Any]],
                heads: Mapping[str, str], sealed_in: dict[str, int]) -> str | None:
    if int(z["seq"]) != i:
        return f"seal {i} is missing"
    if z["prev_hash"] != prev:
        return f"seal {i} does not link to seal {i - 1}"
    if seal_hash(prev, z) != z["hash"]:
        return f"seal {i} was changed after it was written"
    leaves = json.loads(z["leaves"])
    root = merkle_root([session_leaf(sid, head) for sid, head in leaves]).hex()
    if root != z["root"] or len(leaves) != int(z["size"]):
        return f"seal {i}: its Merkle root does not match its leaves"
    for sid, head in leaves:
        if sid not in by_id:
            return f"seal {i} holds session {sid}, which is gone"
        if heads.get(sid) != head:
            return (f"seal {i} holds session {sid} with head {head[:12]}..., but its events give "
                    f"{heads.get(sid, '')[:12]}...")
        if sid in sealed_in:
            return f"session {sid} is in seals {sealed_in[sid]} and {i}"
        sealed_in[sid] = i
    return None


# --- sealing -----------------------------------------------------------------------------------------

def seal(engine: Engine, now: datetime | None = None, limit: int = SEAL_BATCH) -> dict[str, Any]:
    """Seal the closed, not yet sealed sessions (oldest first, up to ``limit``) under one Merkle root.
    A session whose chain does not verify is left out and named in ``refused``."""
    with _lock:
        for _ in range(50):
            try:
                return _seal(engine, now or utcnow(), limit)
            except (IntegrityError, OperationalError):
                continue
    raise StorageError("could not write a traceability seal: the database stayed busy")


def _seal(engine: Engine, now: datetime, limit: int) -> dict[str, Any]:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7262016)"))
        candidates = store.unsealed(conn, limit)
        hashes = _page_hashes(conn, candidates)
        leaves, refused = [], []
        for s in candidates:
            problem, head = check_session(s, store.events_of(conn, s["session_id"]), hashes)
            if problem:
                refused.append({"session_id": s["session_id"], "problem": problem})
            else:
                leaves.append([s["session_id"], head])
        if not leaves:
            return {"sealed": 0, "refused": refused, "seal": None}
        last = store.last_seal(conn)
        row: dict[str, Any] = {
            "seq": 1 if last is None else int(last["seq"]) + 1, "at": _stamp(now), "size": len(leaves),
            "root": merkle_root([session_leaf(sid, head) for sid, head in leaves]).hex(),
            "leaves": canonical(leaves), "prev_hash": GENESIS if last is None else last["hash"]}
        row["hash"] = seal_hash(row["prev_hash"], row)
        store.add_seal(conn, row, [sid for sid, _ in leaves])
    return {"sealed": len(leaves), "refused": refused,
            "seal": {k: row[k] for k in ("seq", "at", "size", "root", "hash")}}


def _page_hashes(conn: Connection, sessions: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], str]:
    return {(p["code"], int(p["version"])): p["sha256"] for p in store.all_pages(conn)}


def proof(engine: Engine, session_id: str) -> dict[str, Any]:
    """The inclusion proof of a sealed session: leaf, index, tree size, audit path and root (hex)."""
    s = store.get_session(engine, session_id)
    if s is None:
        raise NotFound(f"no traceability session {session_id}", field="session_id")
    if s["seal_seq"] is None:
        raise Conflict(f"session {session_id} is not sealed yet" + ("" if s["closed_at"] else " (still open)"))
    z = store.get_seal(engine, int(s["seal_seq"]))
    if z is None:
        raise Conflict(f"seal {s['seal_seq']} of session {session_id} is missing")
    leaves = [session_leaf(sid, head) for sid, head in z["leaves"]]
    index = next((i for i, (sid, _) in enumerate(z["leaves"]) if sid == session_id), None)
    if index is None:
        raise Conflict(f"seal {z['seq']} does not hold session {session_id}")
    return {"session_id": session_id, "head_hash": z["leaves"][index][1], "leaf": leaves[index].hex(),
            "seal_seq": int(z["seq"]), "sealed_at": z["at"], "index": index, "size": int(z["size"]),
            "root": z["root"], "path": [h.hex() for h in inclusion_proof(index, leaves)]}


def check_proof(p: Mapping[str, Any]) -> bool:
    try:
        leaf = session_leaf(str(p["session_id"]), str(p["head_hash"]))
        return verify_inclusion(leaf, int(p["index"]), int(p["size"]), [bytes.fromhex(h) for h in p["path"]],
                                bytes.fromhex(str(p["root"])))
    except (KeyError, TypeError, ValueError):
        return False


# --- replay ------------------------------------------------------------------------------------------

SHREDDED = "shredded"


def _mask_personal(key: str, value: str) -> str:
    k = key.lower()
    kind = ("phone" if "phone" in k or "mobile" in k else "id_number" if k.startswith("id") or "id_number" in k
            else "name" if "name" in k else k)
    return mask(kind, value)


def replay(engine: Engine, cipher: FieldCipher, session_id: str, *, masked: bool = True) -> dict[str, Any]:
    """The session's timeline against the page versions: which version, how long, what was ticked or
    answered; personal parts masked (``masked``) or marked shredded once the customer's key is gone."""
    s = store.get_session(engine, session_id)
    if s is None:
        raise NotFound(f"no traceability session {session_id}", field="session_id")
    with engine.connect() as conn:
        events = store.events_of(conn, session_id)
        facts = store.page_facts(conn, {(e["page_code"], int(e["page_version"])) for e in events if e["page_code"]})
        hashes = {k: v["sha256"] for k, v in facts.items()}
        problem, _ = check_session(s, events, hashes)
        timeline, shredded = [], False
        pages: dict[tuple[str, int], dict[str, Any]] = {}
        for e in events:
            data = json.loads(e["data"])
            personal: dict[str, str] | None = None
            if e["sealed"]:
                try:
                    clear = json.loads(subject_keys.unseal(conn, cipher, s["customer_id"], e["sealed"]))
                    personal = {k: _mask_personal(k, v) if masked else v for k, v in clear.items()}
                except subject_keys.Shredded:
                    personal = {k: SHREDDED for k in data.get("personal_keys", [])}
                    shredded = True
            key = (e["page_code"], int(e["page_version"])) if e["page_code"] else None
            if key:
                info = facts.get(key, {})
                p = pages.setdefault(key, {"code": key[0], "version": key[1], "sha256": e["page_hash"],
                                           "kind": info.get("kind"), "title": info.get("title"), "views": 0,
                                           "duration_ms": 0, "scrolled_to_end": False, "events": 0})
                p["events"] += 1
                if e["type"] == "page_view":
                    p["views"] += 1
                    p["duration_ms"] += int(data.get("duration_ms") or 0)
                    p["scrolled_to_end"] = p["scrolled_to_end"] or bool(data.get("scrolled_to_end"))
            timeline.append({"seq": e["seq"], "at": e["at"], "recorded_at": e["recorded_at"], "type": e["type"],
                             "page_code": e["page_code"], "page_version": e["page_version"],
                             "page_hash": e["page_hash"], "data": {k: v for k, v in data.items()
                                                                   if k != "personal_keys"},
                             "personal": personal, "hash": e["hash"]})
    return {"session": _public(s), "events": timeline, "pages": list(pages.values()), "chain_ok": problem is None,
            "problem": problem or "", "shredded": shredded}


def _public(s: Mapping[str, Any]) -> dict[str, Any]:
    return {k: s[k] for k in ("session_id", "customer_id", "product_code", "application_no", "channel", "started_at",
                              "closed_at", "outcome", "policy_no", "cover_start", "cover_end", "term_class",
                              "contract_end", "retain_until", "events", "head_hash", "seal_seq")}


# --- signed sales receipts ---------------------------------------------------------------------------

def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return sha256(_raw_public(public))[:16]


def _parse_private(text_: str) -> Ed25519PrivateKey:
    value = text_.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{KEY_ENV}: not an Ed25519 private key (PEM, or base64 of 32 bytes): {e}") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{KEY_ENV}: the key is not an Ed25519 key")
    return key


def signing_key(settings: Settings, environ: Mapping[str, str] | None = None) -> Ed25519PrivateKey:
    """The receipt signing key: ``SHOUHU_TRACE_SIGNING_KEY`` (PEM or base64 of the 32-byte seed); outside
    production, else ``trace-signing.key`` in the data directory, made 0600 on first use."""
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        return _parse_private(env[KEY_ENV])
    if settings.mode == "production":
        raise ConfigError(f"{KEY_ENV} is required in production (an Ed25519 private key for sales receipts)")
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        private_dir(path.parent)
        try:  # created 0600 from the start, as the development encryption key
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass
        else:
            pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption())
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    private_file(path)
    return _parse_private(path.read_text(encoding="ascii"))


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(data: str | bytes) -> Ed25519PublicKey:
    raw = data.decode("ascii", errors="replace") if isinstance(data, bytes) else data
    value = raw.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(value.encode())
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"public key: not an Ed25519 public key (PEM or base64): {e}", field="public_key") from e
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("public key: not an Ed25519 key", field="public_key")
    return key


def mask_customer_id(customer_id: str) -> str:
    if len(customer_id) <= 8:
        return mask("generic", customer_id)
    return customer_id[:4] + "*" * (len(customer_id) - 8) + customer_id[-4:]


def receipt(engine: Engine, session_id: str, key: Ed25519PrivateKey, now: datetime | None = None) -> dict[str, Any]:
    """The signed sales receipt of a sealed session (Conflict while it is open or not sealed)."""
    p = proof(engine, session_id)
    s = store.get_session(engine, session_id)
    assert s is not None
    with engine.connect() as conn:
        events = store.events_of(conn, session_id)
        keys = {(e["page_code"], int(e["page_version"])) for e in events if e["page_code"]}
        facts = store.page_facts(conn, keys)
    pages = [{"code": c, "version": v, "kind": facts[(c, v)]["kind"], "title": facts[(c, v)]["title"],
              "sha256": facts[(c, v)]["sha256"]} for c, v in sorted(keys) if (c, v) in facts]
    body = {"format": FORMAT, "issued_at": _stamp(now or utcnow()), "algorithm": "Ed25519",
            "key_id": key_id(key.public_key()),
            "session": {"session_id": session_id, "customer": mask_customer_id(str(s["customer_id"])),
                        "product_code": s["product_code"], "application_no": s["application_no"],
                        "policy_no": s["policy_no"], "channel": s["channel"], "started_at": s["started_at"],
                        "closed_at": s["closed_at"], "outcome": s["outcome"], "events": int(s["events"]),
                        "head_hash": p["head_hash"]},
            "pages": pages,
            "seal": {"seq": p["seal_seq"], "sealed_at": p["sealed_at"], "root": p["root"], "size": p["size"],
                     "index": p["index"], "leaf": p["leaf"], "path": p["path"]}}
    return body | {"signature": base64.b64encode(key.sign(canonical(body).encode("utf-8"))).decode()}


def verify_receipt(doc: Any, public: Ed25519PublicKey) -> list[str]:
    """What is wrong with a receipt (empty: the signature holds and the proof leads to the sealed root)."""
    if not isinstance(doc, Mapping):
        return ["not a receipt: a JSON object is expected"]
    problems = []
    if doc.get("format") != FORMAT:
        problems.append(f"format: expected {FORMAT}")
    signature = doc.get("signature")
    body = {k: v for k, v in doc.items() if k != "signature"}
    try:
        public.verify(base64.b64decode(str(signature), validate=True), canonical(body).encode("utf-8"))
    except (InvalidSignature, ValueError):
        problems.append("signature: does not verify with this public key (the receipt was changed, or another "
                        "key signed it)")
    if doc.get("key_id") != key_id(public):
        problems.append("key_id: the receipt names another key")
    session, z = doc.get("session"), doc.get("seal")
    if not isinstance(session, Mapping) or not isinstance(z, Mapping):
        return [*problems, "session / seal: missing"]
    p = {"session_id": session.get("session_id"), "head_hash": session.get("head_hash"), "index": z.get("index"),
         "size": z.get("size"), "path": z.get("path") or [], "root": z.get("root")}
    if not check_proof(p):
        problems.append("seal: the inclusion proof does not lead from the session's head to the sealed root")
    return problems


# --- retention ---------------------------------------------------------------------------------------

def due_for_deletion(engine: Engine, today: date | None = None) -> list[dict[str, Any]]:
    """Sessions whose retention ended before ``today``, oldest first, whose customer's key is still alive:
    [{session_id, customer_id, retain_until, term_class, contract_end, customer_fully_due}].

    The ledger's rows are append-only; deleting a session's personal data means destroying the customer's
    key (``subject_keys.destroy``), which makes every sealed part of every session of theirs unreadable
    while hashes and proofs still verify. Do that only where ``customer_fully_due`` is true (no other
    session of the customer is still within retention, open, or under a running contract), and after
    checking legal holds. A destroyed key takes the customer's sessions off this list."""
    day = (today or datetime.now(UTC).date()).isoformat()
    rows = store.past_retention(engine, day)
    kept = store.still_kept(engine, {r["customer_id"] for r in rows}, day)
    return [r | {"customer_fully_due": r["customer_id"] not in kept} for r in rows]


def status(engine: Engine) -> dict[str, int]:
    return store.counts(engine)
