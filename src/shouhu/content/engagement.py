"""Engagement: views, read depth and quiz results; need signals for the 360; agent shares that create tasks.

Need signals are what reading suggests about a customer's needs (interest in education funds, a wrong
quiz answer about the waiting period of critical-illness cover). They are stored apart, in
``content_need_signal``, and shown beside the 360's declared and derived facts: nothing here writes to
``customer_360`` or the fact-find, so a signal can never overwrite what the customer declared.

Strength of a signal for one need, over the last ``SIGNAL_DAYS`` days, capped at 1:
``0.1 × views + 0.3 × reads to at least READ_DEPTH + 0.2 × wrong quiz answers about it + 0.1 × quizzes``,
each counted on items tagged with that gap.

An agent may share an item with a customer: the link's token is stored as a hash only; its first
opening records a view and creates one follow-up task for the agent (source ``content``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shouhu.content.model import ContentError, Item, Kind, Status
from shouhu.content.review import stored_item
from shouhu.operations.activities import TaskSource
from shouhu.storage import activities as tasks
from shouhu.storage import content as store

READ_DEPTH = 0.6
SIGNAL_DAYS = 180
WEIGHTS = {"view": 0.1, "read": 0.3, "wrong": 0.2, "quiz": 0.1}
CHANNELS = ("h5", "console", "cli", "share")
SHARE_DAYS = 30
FOLLOW_UP_DAYS = 2


@dataclass(frozen=True)
class QuizResult:
    score: int
    total: int
    wrong_gaps: tuple[str, ...]
    explanations: tuple[str, ...]


def _published(engine: Any, item_id: str) -> dict[str, Any]:
    rows = store.versions(engine, item_id, Status.PUBLISHED.value)
    if not rows:
        raise ContentError(f"item_id: {item_id!r} is not published", field="item_id")
    return rows[-1]


def _channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ContentError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}", field="channel")
    return channel


def record_view(engine: Any, customer_id: str, item_id: str, channel: str = "h5", share_id: int | None = None
                ) -> int:
    row = _published(engine, item_id)
    return store.add_engagement(engine, {"customer_id": customer_id, "item_id": item_id, "version": row["version"],
                                         "event": "view", "share_id": share_id, "channel": _channel(channel)})


def record_read(engine: Any, customer_id: str, item_id: str, depth: float, channel: str = "h5") -> int:
    if not 0.0 <= depth <= 1.0:
        raise ContentError(f"read_depth: {depth} must be between 0 and 1", field="read_depth")
    row = _published(engine, item_id)
    return store.add_engagement(engine, {"customer_id": customer_id, "item_id": item_id, "version": row["version"],
                                         "event": "read", "read_depth": depth, "channel": _channel(channel)})


def grade(item: Item, answers: list[int]) -> QuizResult:
    if item.kind != Kind.QUIZ.value:
        raise ContentError(f"item_id: {item.item_id} is not a quiz", field="item_id")
    if len(answers) != len(item.questions):
        raise ContentError(f"answers: give {len(item.questions)} answers, got {len(answers)}", field="answers")
    wrong = [q for q, a in zip(item.questions, answers, strict=True) if a != q.answer]
    return QuizResult(len(item.questions) - len(wrong), len(item.questions), tuple(q.gap for q in wrong if q.gap),
                      tuple(q.explain for q in wrong))


def record_quiz(engine: Any, customer_id: str, item_id: str, answers: list[int], channel: str = "h5"
                ) -> QuizResult:
    row = _published(engine, item_id)
    result = grade(stored_item(row), answers)
    store.add_engagement(engine, {"customer_id": customer_id, "item_id": item_id, "version": row["version"],
                                  "event": "quiz", "quiz_score": result.score, "quiz_total": result.total,
                                  "answers": json.dumps(answers), "channel": _channel(channel)})
    return result


def _event_counts(ev: Mapping[str, Any]) -> dict[str, int]:
    if ev["event"] == "view":
        return {"view": 1}
    if ev["event"] == "read":
        return {"read": 1} if float(ev["read_depth"] or 0) >= READ_DEPTH else {}
    if ev["event"] == "quiz":
        return {"quiz": 1}
    return {}


def signals(events: Iterable[Mapping[str, Any]], items: Mapping[str, Item], today: date
            ) -> dict[str, tuple[float, dict[str, Any]]]:
    """need -> (strength 0..1, evidence) from the customer's engagement rows (pure)."""
    since = (today - timedelta(days=SIGNAL_DAYS)).isoformat()
    counts: dict[str, dict[str, int]] = {}
    for ev in events:
        item = items.get(str(ev["item_id"]))
        if item is None or str(ev["at"])[:10] < since:
            continue
        found = _event_counts(ev)
        for gap in item.tagged("gaps"):
            bucket = counts.setdefault(gap, {})
            for k, n in found.items():
                bucket[k] = bucket.get(k, 0) + n
        if ev["event"] == "quiz":
            for gap in _wrong_gaps(ev, item):
                bucket = counts.setdefault(gap, {})
                bucket["wrong"] = bucket.get("wrong", 0) + 1
    return {gap: (min(1.0, round(sum(WEIGHTS[k] * n for k, n in c.items()), 3)), c)
            for gap, c in sorted(counts.items()) if c}


def _wrong_gaps(ev: Mapping[str, Any], item: Item) -> list[str]:
    try:
        answers = [int(a) for a in json.loads(ev.get("answers") or "[]")]
    except (TypeError, ValueError):
        return []
    return [q.gap for q, a in zip(item.questions, answers, strict=False) if q.gap and a != q.answer]


def items_by_id(engine: Any) -> dict[str, Item]:
    """Every stored item by id (its latest version): engagement rows may name retired ones."""
    latest: dict[str, Item] = {}
    for row in store.versions(engine):
        latest[row["item_id"]] = stored_item(row)
    return latest


def refresh_signals(engine: Any, customer_id: str, today: date | None = None) -> dict[str, float]:
    """Recompute and store the customer's need signals; returns need -> strength."""
    found = signals(store.engagement_of(engine, customer_id), items_by_id(engine), today or date.today())
    store.put_signals(engine, customer_id, found)
    return {need: strength for need, (strength, _) in found.items()}


def read_items(engine: Any, customer_id: str) -> frozenset[str]:
    """Items the customer read to at least READ_DEPTH (re-ranking lowers them)."""
    return frozenset(str(e["item_id"]) for e in store.engagement_of(engine, customer_id)
                     if e["event"] == "read" and float(e["read_depth"] or 0) >= READ_DEPTH)


# --- agent shares ------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def share(engine: Any, item_id: str, customer_id: str, *, staff_id: str | None, shared_by: str,
          days: int = SHARE_DAYS) -> tuple[int, str]:
    """Share a published item with a customer: (share id, link token; shown once, stored as a hash)."""
    row = _published(engine, item_id)
    token = secrets.token_urlsafe(24)
    expires = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    share_id = store.add_share(engine, {"token_hash": token_hash(token), "item_id": item_id,
                                        "version": row["version"], "customer_id": customer_id,
                                        "staff_id": staff_id, "shared_by": shared_by[:64], "expires_at": expires})
    return share_id, token


def open_share(engine: Any, token: str, channel: str = "share") -> dict[str, Any]:
    """The shared item's row; records a view and, at the first opening, the agent's follow-up task."""
    row = store.share_by_token(engine, token_hash(token))
    if row is None or row["expires_at"] < store.now():
        raise ContentError("token: this link is unknown or has expired", field="token")
    record_view(engine, row["customer_id"], row["item_id"], channel, share_id=row["id"])
    if store.claim_share_opening(engine, row["id"]):
        store.set_share_task(engine, row["id"], _follow_up(engine, row))
    return row


def _follow_up(engine: Any, share_row: Mapping[str, Any]) -> int:
    title = _published(engine, share_row["item_id"])["title"]
    return tasks.create_task(engine, {
        "customer_id": share_row["customer_id"], "owner_staff_id": share_row["staff_id"],
        "title": f"客户阅读了您分享的《{title}》,请跟进"[:200], "source": TaskSource.CONTENT.value,
        "source_key": f"content-share:{share_row['id']}", "action": "content_follow_up", "status": "open",
        "priority": 2, "due_date": (date.today() + timedelta(days=FOLLOW_UP_DAYS)).isoformat(),
        "reason": f"shared item {share_row['item_id']} opened"}, "content")
