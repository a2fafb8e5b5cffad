"""The incentive ledger (migration 0010): append-only, hash-chained, in fen.

Database triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL); the hash chain (as in
the audit log: SHA-256 over the previous hash and the entry's canonical JSON) detects a change made
by someone who dropped the triggers first. A correction is a new ``reversal`` entry.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, Integer, MetaData, String, Table, Text, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from shouhu.errors import InvalidInput, StorageError
from shouhu.storage.workforce import now

GENESIS = "0" * 64
FIELDS = ("seq", "at", "agent_id", "branch_id", "plan_id", "kind", "policy_no", "period", "amount_fen",
          "reverses_seq", "memo", "actor")
incentive_ledger = Table(
    "incentive_ledger", MetaData(),
    Column("seq", Integer, primary_key=True, autoincrement=False), Column("at", String(40), nullable=False),
    Column("agent_id", String(64), nullable=False), Column("branch_id", String(64)),
    Column("plan_id", String(64), nullable=False), Column("kind", String(24), nullable=False),
    Column("policy_no", String(96)), Column("period", String(10), nullable=False),
    Column("amount_fen", BigInteger, nullable=False), Column("reverses_seq", Integer),
    Column("memo", Text, nullable=False), Column("actor", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False), Column("hash", String(64), nullable=False),
)
_lock = threading.Lock()


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    body = json.dumps({k: entry[k] for k in FIELDS}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(engine: Engine, entries: Iterable[Mapping[str, Any]], *, actor: str) -> list[dict[str, Any]]:
    """Append entries (agent_id, branch_id, plan_id, kind, policy_no, period, amount_fen, memo,
    reverses_seq) at the head of the chain, all or none; returns them with seq and hash."""
    batch = list(entries)
    with _lock:
        for _ in range(50):
            try:
                return _append(engine, batch, actor)
            except (IntegrityError, OperationalError):
                continue  # another process took the sequence number: read the head again
    raise StorageError("could not append to the incentive ledger: the database stayed busy")


def _append(engine: Engine, batch: list[Mapping[str, Any]], actor: str) -> list[dict[str, Any]]:
    out = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7262012)"))
        last = conn.execute(select(incentive_ledger.c.seq, incentive_ledger.c.hash)
                            .order_by(incentive_ledger.c.seq.desc()).limit(1)).first()
        seq, prev = (0, GENESIS) if last is None else (last.seq, last.hash)
        at = now()
        for e in batch:
            seq += 1
            row = {"seq": seq, "at": at, "actor": actor, "branch_id": e.get("branch_id"),
                   "policy_no": e.get("policy_no"), "reverses_seq": e.get("reverses_seq"),
                   **{k: e[k] for k in ("agent_id", "plan_id", "kind", "period", "amount_fen", "memo")}}
            row |= {"prev_hash": prev, "hash": entry_hash(prev, row)}
            conn.execute(insert(incentive_ledger).values(**row))
            prev = row["hash"]
            out.append(row)
    return out


def posted_keys(engine: Engine, plan_id: str) -> set[tuple[str, str, str | None, str]]:
    """(kind, agent, policy, period) of every entry of ``plan_id``: what posting must not repeat."""
    t = incentive_ledger
    with engine.connect() as conn:
        return {(r.kind, r.agent_id, r.policy_no, r.period) for r in conn.execute(
            select(t.c.kind, t.c.agent_id, t.c.policy_no, t.c.period).where(t.c.plan_id == plan_id))}


def paid_first_year(engine: Engine, plan_id: str) -> dict[str, int]:
    """policy -> first-year commission net of reversals, for clawbacks."""
    t = incentive_ledger
    first = select(t.c.seq).where(t.c.kind == "first_year")
    counted = (t.c.kind == "first_year") | ((t.c.kind == "reversal") & t.c.reverses_seq.in_(first))
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.policy_no, func.sum(t.c.amount_fen)).where(
            t.c.plan_id == plan_id, t.c.policy_no.isnot(None), counted).group_by(t.c.policy_no))
        return {str(p): int(s) for p, s in rows}


def reverse(engine: Engine, seq: int, *, actor: str, reason: str) -> dict[str, Any]:
    """A new entry cancelling entry ``seq`` (never an edit). An entry is reversed at most once."""
    if not reason.strip():
        raise InvalidInput("a reversal needs a reason", field="reason")
    t = incentive_ledger
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.seq == seq)).mappings().first()
        done = conn.execute(select(t.c.seq).where(t.c.reverses_seq == seq)).first()
    if row is None:
        raise InvalidInput(f"no ledger entry {seq}", field="seq", value=seq)
    if row["kind"] == "reversal":
        raise InvalidInput(f"entry {seq} is itself a reversal; post a new entry instead", field="seq")
    if done is not None:
        raise InvalidInput(f"entry {seq} was reversed already by entry {done.seq}", field="seq")
    return append(engine, [{**{k: row[k] for k in ("agent_id", "branch_id", "plan_id", "policy_no", "period")},
                            "kind": "reversal", "amount_fen": -row["amount_fen"], "reverses_seq": seq,
                            "memo": f"reverses {seq}: {reason.strip()}"}], actor=actor)[0]


def read(engine: Engine, *, agent_id: str | None = None, branch_id: str | None = None,
         period: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    t = incentive_ledger
    q = select(t).order_by(t.c.seq.desc()).limit(limit)
    for col, value in (("agent_id", agent_id), ("branch_id", branch_id), ("period", period)):
        if value:
            q = q.where(t.c[col] == value)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def totals(engine: Engine, *, agent_id: str | None = None, branch_id: str | None = None) -> list[dict[str, Any]]:
    """Sum per agent and kind (fen)."""
    t = incentive_ledger
    q = select(t.c.agent_id, t.c.kind, func.sum(t.c.amount_fen).label("amount_fen"), func.count().label("entries")) \
        .group_by(t.c.agent_id, t.c.kind).order_by(t.c.agent_id, t.c.kind)
    if agent_id:
        q = q.where(t.c.agent_id == agent_id)
    if branch_id:
        q = q.where(t.c.branch_id == branch_id)
    with engine.connect() as conn:
        return [dict(r) | {"amount_fen": int(r.amount_fen)} for r in conn.execute(q).mappings()]


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: str
    broken_at: int | None = None
    problem: str = ""


def verify(engine: Engine) -> Verification:
    prev, count = GENESIS, 0
    with engine.connect() as conn:
        rows = conn.execute(select(incentive_ledger).order_by(incentive_ledger.c.seq)).mappings()
        for mapping in rows:
            row = dict(mapping)
            if row["seq"] != count + 1:
                return Verification(False, count, prev, row["seq"], f"entry {count + 1} is missing")
            if row["prev_hash"] != prev:
                return Verification(False, count, prev, row["seq"], "link to the previous entry is broken")
            if entry_hash(prev, row) != row["hash"]:
                return Verification(False, count, prev, row["seq"], "entry was changed after it was written")
            prev, count = row["hash"], count + 1
    return Verification(True, count, prev)
