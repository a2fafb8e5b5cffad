"""The audit log: append-only and hash-chained, so that editing or deleting any entry is detectable.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical JSON
(sequence number included), so changing, removing or reordering an entry breaks every later link.
:func:`verify` walks the chain; ``shouhu audit verify`` prints the head hash, which an operator may
keep elsewhere (and pass back with ``--expect-head``) to also detect a truncated tail.

Details never hold an ID number or phone number in clear: :func:`scrub` masks anything that looks
like one before it is written.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from shouhu.errors import StorageError
from shouhu.model.masking import mask_id_number, mask_phone
from shouhu.storage.tables import audit_log

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "actor_role", "action", "target_kind", "target_id", "reason", "detail", "client")
_ID = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?!\d)")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_lock = threading.Lock()  # one writer per process; across processes the primary key on seq decides


def scrub(value: str) -> str:
    """Mask anything that looks like a mainland ID number or mobile number."""
    return _PHONE.sub(lambda m: mask_phone(m.group(1)), _ID.sub(lambda m: mask_id_number(m.group(1)), value))


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    body = json.dumps({k: entry[k] for k in FIELDS}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(engine: Engine, *, actor: str, actor_role: str, action: str, target_kind: str, target_id: str,
           reason: str = "", detail: dict[str, Any] | None = None, client: str = "") -> dict[str, Any]:
    """Write one entry at the head of the chain; returns it (with seq and hash)."""
    body = scrub(json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str))
    entry = {"at": datetime.now(UTC).isoformat(timespec="microseconds"), "actor": actor, "actor_role": actor_role,
             "action": action, "target_kind": target_kind, "target_id": scrub(target_id), "reason": scrub(reason),
             "detail": body, "client": client}
    with _lock:
        for _ in range(50):
            try:
                with engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(7262011)"))
                    last = conn.execute(select(audit_log.c.seq, audit_log.c.hash)
                                        .order_by(audit_log.c.seq.desc()).limit(1)).first()
                    seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
                    row = entry | {"seq": seq, "prev_hash": prev}
                    row["hash"] = entry_hash(prev, row)
                    conn.execute(insert(audit_log).values(**row))
                    return row
            except (IntegrityError, OperationalError):
                continue  # another process took this sequence number (or held the lock): read the head again
    raise StorageError("could not append to the audit log: the database stayed busy")


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: str
    broken_at: int | None = None
    problem: str = ""


def _rows(engine: Engine, batch: int = 5000) -> Iterator[dict[str, Any]]:
    last = 0
    with engine.connect() as conn:
        while True:
            rows = conn.execute(select(audit_log).where(audit_log.c.seq > last)
                                .order_by(audit_log.c.seq).limit(batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield dict(r._mapping)
            last = rows[-1].seq


def verify(engine: Engine, expect_head: str | None = None) -> Verification:
    """Recompute the chain from the first entry. Reports the first entry whose link or hash is wrong."""
    prev, count, expected_seq = GENESIS, 0, 1
    for row in _rows(engine):
        if row["seq"] != expected_seq:
            return Verification(False, count, prev, row["seq"], f"entry {expected_seq} is missing")
        if row["prev_hash"] != prev:
            return Verification(False, count, prev, row["seq"], "link to the previous entry is broken")
        if entry_hash(prev, row) != row["hash"]:
            return Verification(False, count, prev, row["seq"], "entry was changed after it was written")
        prev, count, expected_seq = row["hash"], count + 1, expected_seq + 1
    if expect_head is not None and expect_head != prev:
        return Verification(False, count, prev, None, "head differs from the one expected: entries were removed "
                                                      "from the end or the log was replaced")
    return Verification(True, count, prev)


def read(engine: Engine, *, action: str | None = None, actor: str | None = None, target_id: str | None = None,
         limit: int = 200, before_seq: int | None = None) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if action:
        query = query.where(audit_log.c.action == action)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if target_id:
        query = query.where(audit_log.c.target_id == target_id)
    if before_seq:
        query = query.where(audit_log.c.seq < before_seq)
    with engine.connect() as conn:
        return [dict(r._mapping) | {"detail": json.loads(r.detail)} for r in conn.execute(query)]


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())
