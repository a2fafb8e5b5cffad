"""The journey engine: publish, take in events, enrol, and execute steps durably (``shouhu worker``).

State lives in the serving database. Each enrolment is a chain of steps ``(enrolment, seq)`` (unique):
a step is claimed with a lease, executed, and finished in one transaction that also creates the next
step and writes the node's own effect (task, inbox item, tag, arm), so a crash anywhere leaves either
the old state (the step is claimed again when its lease runs out) or the new one, never half.

Messages to outside systems cannot join that transaction. They go through ``message_log`` as an
outbox keyed by ``j<enrolment>:s<seq>``: the row is written (``sending``) before the provider is
called and marked ``sent`` after. A step that finds its message ``sent`` does not send again; one that
finds it ``sending`` (the worker died during the call) sends again with the same idempotency key,
which every adapter passes on (SMTP ``Message-ID``, the SMS ``client_ref``, WeCom's duplicate check),
so the provider drops the repeat.

Versions: an enrolment keeps the version it entered with until it finishes; publishing an edit only
changes what new enrolments get.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time as clock
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shouhu.errors import InvalidInput, ShouhuError
from shouhu.journeys import guards as guard_rules
from shouhu.journeys.adapters import Adapter, Message
from shouhu.journeys.definition import Condition, Journey, Node, arm_for, from_json, parse
from shouhu.journeys.templates import render
from shouhu.storage import journeys as store
from shouhu.storage.journeys import parse_stamp, stamp

log = logging.getLogger(__name__)
ACTIVE = ("active",)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- publishing ------------------------------------------------------------------------------------

def publish(engine: Any, source: str, actor: str, *, origin: str = "<journey>",
            now: datetime | None = None) -> dict[str, Any]:
    """Check and store a journey; a changed definition becomes a new version."""
    j = parse(source, origin)
    for node in j.nodes.values():
        if node.type == "message" and store.template_row(engine, node.spec["template"]) is None:
            log.warning("journey %s: template %s has no approved version yet; its messages are held back "
                        "(suppressed: template_not_approved) until one is approved", j.key, node.spec["template"])
    version, created = store.publish(engine, j.key, j.name_zh, j.name_en, j.to_json(), source, j.checksum(), actor,
                                     now or utcnow())
    return {"journey": j.key, "version": version, "created": created}


def publish_file(engine: Any, path: Path, actor: str, now: datetime | None = None) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path}: cannot read the journey file: {e}", file=str(path)) from e
    return publish(engine, text, actor, origin=str(path), now=now)


# --- events ----------------------------------------------------------------------------------------

def event_row(customer_id: str, event_type: str, occurred_at: datetime, *, policy_no: str | None = None,
              payload: Mapping[str, Any] | None = None, event_key: str | None = None) -> dict[str, Any]:
    """An event for :func:`add_events`; the default key makes the same fact idempotent."""
    if not customer_id or not event_type:
        raise InvalidInput("an event needs customer_id and event_type", field="event_type")
    at = stamp(occurred_at)
    key = event_key or f"{event_type}:{customer_id}:{policy_no or ''}:{at}"
    return {"event_key": key[:200], "customer_id": customer_id, "event_type": event_type, "policy_no": policy_no,
            "occurred_at": at, "payload": store.payload_json(payload)}


def add_events(engine: Any, rows: list[dict[str, Any]], now: datetime | None = None) -> int:
    return store.add_events(engine, rows, now or utcnow())


# --- the worker ------------------------------------------------------------------------------------

@dataclass
class Worker:
    """Executes due steps. Several on PostgreSQL share the work; on SQLite run one."""

    engine: Any
    adapters: Mapping[str, Adapter] = field(default_factory=dict)
    guards: guard_rules.Guards = field(default_factory=guard_rules.load_guards)
    decrypt: Callable[[str | None], str | None] = lambda v: v
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    clock: Callable[[], datetime] = utcnow
    lease: timedelta = timedelta(minutes=5)
    batch: int = 200
    max_attempts: int = 5
    _defs: dict[tuple[str, int], Journey] = field(default_factory=dict)

    # definitions -------------------------------------------------------------------------------
    def definition(self, conn: Any, key: str, version: int) -> Journey:
        found = self._defs.get((key, version))
        if found is None:
            row = store.version_row(conn, key, version)
            if row is None:
                raise ShouhuError(f"journey {key} version {version} is missing")
            found = self._defs[(key, version)] = from_json(row["definition"])
        return found

    def live(self, conn: Any) -> list[tuple[Journey, int]]:
        """Active journeys at their current version (one small query; definitions are cached by version)."""
        return [(self.definition(conn, r["journey_key"], int(r["current_version"])), int(r["current_version"]))
                for r in store.live_journeys(conn)]

    # the loop ----------------------------------------------------------------------------------
    def run_once(self) -> dict[str, int]:
        """Take in pending events, then execute the steps due now; counts of what was done.

        Steps that touch only the database run in one transaction per batch, each inside its own
        savepoint (a failing step is rolled back alone and retried); message steps run one by one
        around the provider call."""
        events = self.process_events()
        rows = store.claim_steps(self.engine, self.worker_id, self.clock(), self.lease, self.batch)
        messages: list[dict[str, Any]] = []
        failed: list[tuple[dict[str, Any], Exception]] = []
        if rows:
            with store.transaction(self.engine) as conn:
                for row in rows:
                    try:
                        with conn.begin_nested():
                            if not self._internal(conn, row):
                                messages.append(row)
                    except Exception as error:
                        failed.append((row, error))
        for row, exc in failed:
            self._failed(row, exc)
        for row in messages:
            self.execute(row)
        return {"events": events, "steps": len(rows)}

    def run(self, *, until_idle: bool = False, max_seconds: float | None = None, idle_sleep: float = 1.0,
            stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
        total = {"events": 0, "steps": 0}
        started = clock.monotonic()
        while not stop():
            done = self.run_once()
            for k, v in done.items():
                total[k] += v
            if max_seconds is not None and clock.monotonic() - started > max_seconds:
                break
            if not any(done.values()):
                if until_idle:
                    break
                clock.sleep(idle_sleep)
        return total

    # events ------------------------------------------------------------------------------------
    def process_events(self, limit: int = 500) -> int:
        with store.transaction(self.engine) as conn:
            rows = store.claim_events(conn, limit)
            for ev in rows:
                store.lock_contact(conn, f"enrol:{ev['customer_id']}")
                self._on_event(conn, ev)
                store.mark_event(conn, ev["id"], self.clock())
        return len(rows)

    def _on_event(self, conn: Any, ev: dict[str, Any]) -> None:
        now, kind, customer = self.clock(), ev["event_type"], ev["customer_id"]
        occurred = parse_stamp(ev["occurred_at"])
        for enr in store.enrollments_of(conn, customer, statuses=("active", "completed")):
            j = self.definition(conn, enr["journey_key"], int(enr["version"]))
            same_instance = not enr["instance_key"] or not ev["policy_no"] or enr["instance_key"] == ev["policy_no"]
            if enr["status"] == "active" and kind in j.exit_events and same_instance:
                store.finish_enrollment(conn, enr["id"], "exited", now, f"event:{kind}")
                continue
            goal = j.goal
            if goal and goal["event"] == kind and enr["goal_at"] is None and same_instance:
                entered = parse_stamp(enr["entered_at"])
                if entered <= occurred <= entered + timedelta(days=int(goal["within_days"])):
                    store.set_goal(conn, enr["id"], occurred)
                    if goal.get("exit") and enr["status"] == "active":
                        store.finish_enrollment(conn, enr["id"], "completed", now, "goal")
        for waiting in store.waiting_steps(conn, customer, kind):
            store.release_waiting(conn, waiting["id"], now)
        for j, version in self.live(conn):
            wanted = j.entry_event or f"segment.{j.key}"
            if wanted == kind:
                self._enrol(conn, j, version, customer, ev)

    def _enrol(self, conn: Any, j: Journey, version: int, customer: str, ev: dict[str, Any]) -> int | None:
        now = self.clock()
        instance = (ev.get("policy_no") or "") if j.reentry == "parallel" else ""
        previous = store.enrollments_of(conn, customer, j.key)
        if any(p["status"] == "active" and p["instance_key"] == instance for p in previous):
            return None
        if j.reentry == "never" and previous:
            return None
        if j.reentry == "after_days" and previous:
            last = max(parse_stamp(p["entered_at"]) for p in previous)
            if now - last < timedelta(days=j.reentry_days):
                return None
        if j.where:
            attrs = store.customer_attributes(conn, customer)
            if not _all(j.where, attrs):
                return None
        enrollment_id = store.create_enrollment(conn, {
            "journey_key": j.key, "version": version, "customer_id": customer,
            "household_id": store.household_of(conn, customer), "instance_key": instance, "status": "active",
            "node_id": j.start, "trigger_event_id": ev.get("id"), "entered_at": stamp(now)})
        self._schedule(conn, enrollment_id, 1, j.nodes[j.start], now)
        return enrollment_id

    # segment entry -----------------------------------------------------------------------------
    def enrol_segments(self) -> int:
        """Turn segment-entry journeys' members into entry events (once, or once a day)."""
        now = self.clock()
        added = 0
        with store.transaction(self.engine) as conn:
            live = self.live(conn)
        for j, version in live:
            if "segment" not in j.entry:
                continue
            period = now.date().isoformat() if j.entry.get("schedule") == "daily" else f"v{version}"
            members = store.segment_members(self.engine, j.entry["segment"])
            conds = tuple(Condition(**c) for c in j.entry["segment"])
            rows = [event_row(c, f"segment.{j.key}", now, event_key=f"segment.{j.key}:{period}:{c}")
                    for c in members]
            if any(c.op == "has_tag" for c in conds):
                with store.transaction(self.engine) as conn:
                    rows = [r for r in rows if _all(conds, store.customer_attributes(conn, r["customer_id"]))]
            added += store.add_events(self.engine, rows, now)
        return added

    # steps -------------------------------------------------------------------------------------
    def _schedule(self, conn: Any, enrollment_id: int, seq: int, node: Node, now: datetime) -> None:
        """Create the step for ``node``: due now, or at the end of a wait."""
        values: dict[str, Any] = {"enrollment_id": enrollment_id, "seq": seq, "node_id": node.id,
                                  "status": "pending", "due_at": stamp(now), "attempts": 0, "created_at": stamp(now)}
        spec = node.spec
        if node.type == "wait":
            if "until_event" in spec:
                values |= {"status": "waiting", "wait_event": spec["until_event"],
                           "due_at": stamp(now + timedelta(seconds=int(spec["seconds"])))}
            elif "duration" in spec:
                values["due_at"] = stamp(now + timedelta(seconds=int(spec["seconds"])))
            else:
                tz = self._tz(conn, enrollment_id)
                local = now.astimezone(tz)
                h, m = (int(x) for x in str(spec["until_time"]).split(":"))
                target = local.replace(hour=h, minute=m, second=0, microsecond=0)
                if target <= local:
                    target += timedelta(days=1)
                values["due_at"] = stamp(target)
        store.add_step(conn, values)

    def _tz(self, conn: Any, enrollment_id: int) -> Any:
        enr = store.get_enrollment(conn, enrollment_id)
        pref = store.contact_row(conn, enr["customer_id"]) if enr else {}
        return guard_rules.zone(pref.get("time_zone"), self.guards.default_time_zone)

    def _advance(self, conn: Any, enr: dict[str, Any], j: Journey, s: dict[str, Any], next_id: str | None,
                 outcome: str, detail: str | None) -> bool:
        now = self.clock()
        if not store.finish_step(conn, s["id"], self.worker_id, outcome, detail, now):
            return False  # the lease was lost: whoever holds it now finishes the step
        if next_id is None:
            store.finish_enrollment(conn, enr["id"], "completed", now, None)
            return True
        store.update_enrollment(conn, enr["id"], node_id=next_id)
        self._schedule(conn, enr["id"], int(s["seq"]) + 1, j.nodes[next_id], now)
        return True

    def execute(self, s: dict[str, Any]) -> None:
        """Execute one claimed step in its own transaction(s)."""
        try:
            with store.transaction(self.engine) as conn:
                internal = self._internal(conn, s)
            if not internal:
                self._message(s)
        except Exception as e:  # a node that fails is retried with backoff, then its enrolment stops
            self._failed(s, e)

    def _failed(self, s: dict[str, Any], e: Exception) -> None:
        log.warning("journey step %s (enrolment %s, node %s) failed on attempt %s: %s", s["id"],
                    s["enrollment_id"], s["node_id"], s["attempts"], type(e).__name__)
        with store.transaction(self.engine) as conn:
            if int(s["attempts"]) >= self.max_attempts:
                if store.finish_step(conn, s["id"], self.worker_id, "error", type(e).__name__, self.clock()):
                    store.finish_enrollment(conn, s["enrollment_id"], "exited", self.clock(), "error")
            else:
                store.reschedule_step(conn, s["id"], self.worker_id, self._backoff(s), None)

    def _backoff(self, s: dict[str, Any]) -> datetime:
        return self.clock() + timedelta(seconds=30 * 2 ** min(int(s["attempts"]), 8))

    def _internal(self, conn: Any, s: dict[str, Any]) -> bool:
        """Run a step that touches only the database, in ``conn``; False for a message step (not run)."""
        enr = store.get_enrollment(conn, s["enrollment_id"])
        if enr is None or enr["status"] != "active":
            store.finish_step(conn, s["id"], self.worker_id, "cancelled", None, self.clock())
            return True
        j = self.definition(conn, enr["journey_key"], int(enr["version"]))
        node = j.nodes[s["node_id"]]
        if node.type == "message":
            return False
        next_id, outcome, detail = self._run_node(conn, enr, j, node, s)
        if node.type == "split" and outcome == "holdout":
            if store.finish_step(conn, s["id"], self.worker_id, outcome, detail, self.clock()):
                store.update_enrollment(conn, enr["id"], arm="holdout")
                store.finish_enrollment(conn, enr["id"], "completed", self.clock(), "holdout")
            return True
        self._advance(conn, enr, j, s, next_id, outcome, detail)
        return True

    def _run_node(self, conn: Any, enr: dict[str, Any], j: Journey, node: Node, s: dict[str, Any]
                  ) -> tuple[str | None, str, str | None]:
        spec, now, customer = node.spec, self.clock(), enr["customer_id"]
        if node.type == "end":
            return None, "end", None
        if node.type == "wait":
            if "until_event" in spec:
                timed_out = s.get("claimed_status") == "waiting"
                return (spec["timeout_next"], "timeout", None) if timed_out else (spec["next"], "event", None)
            return spec["next"], "elapsed", None
        if node.type == "branch":
            attrs = store.customer_attributes(conn, customer)
            for i, case in enumerate(spec["cases"]):
                if _all(tuple(Condition(**c) for c in case["when"]), attrs):
                    return case["next"], f"case{i + 1}", None
            return spec["else"], "else", None
        if node.type == "split":
            arm = arm_for(j.key, customer, node)
            if arm == "holdout":
                return None, "holdout", None
            store.update_enrollment(conn, enr["id"], arm=arm)
            return spec["arms"][arm]["next"], arm, None
        if node.type == "tag":
            store.add_tag(conn, customer, spec["tag"], f"journey:{j.key}", now)
            return spec["next"], "tagged", None
        if node.type == "task":
            facts = store.customer_attributes(conn, customer)
            tz = guard_rules.zone(store.contact_row(conn, customer).get("time_zone"), self.guards.default_time_zone)
            due = (now.astimezone(tz) + timedelta(days=int(spec.get("due_days", 2)))).date().isoformat()
            at = now.astimezone().isoformat(timespec="seconds")
            task_id = store.add_task(conn, {
                "customer_id": customer, "household_id": enr["household_id"],
                "owner_staff_id": facts.get("primary_agent_id"), "title": str(spec["title"]), "source": "journey",
                "source_key": f"journey:{enr['id']}:{s['seq']}", "action": spec.get("action"), "status": "open",
                "priority": int(spec.get("priority", 2)), "due_date": due,
                "reason": f"旅程「{j.name_zh}」/ journey {j.key} v{enr['version']}", "created_at": at,
                "created_by": f"journey:{j.key}", "updated_at": at})
            return spec["next"], "task_created", str(task_id)
        if node.type == "content":
            key = f"j{enr['id']}:s{s['seq']}"
            store.add_inbox(conn, {"customer_id": customer, "kind": "content", "subject": str(spec["title"]),
                                   "body": str(spec.get("summary", "")), "link": spec.get("link"),
                                   "idempotency_key": key, "created_at": stamp(now)})
            return spec["next"], "pushed", None
        raise ShouhuError(f"node type {node.type} cannot run here")

    # messages ----------------------------------------------------------------------------------
    def _message(self, s: dict[str, Any]) -> None:
        key = f"j{s['enrollment_id']}:s{s['seq']}"
        with store.transaction(self.engine) as conn:
            enr = store.get_enrollment(conn, s["enrollment_id"])
            if enr is None or enr["status"] != "active":
                store.finish_step(conn, s["id"], self.worker_id, "cancelled", None, self.clock())
                return
            j = self.definition(conn, enr["journey_key"], int(enr["version"]))
            node = j.nodes[s["node_id"]]
            existing = store.message_by_key(conn, key)
            if existing is not None and existing["status"] in ("sent", "failed", "suppressed"):
                self._advance(conn, enr, j, s, node.spec["next"], existing["status"], existing.get("reason"))
                return
            if existing is None:
                prepared = self._prepare(conn, enr, j, node, key, int(s["id"]))
                if prepared is None:  # deferred by quiet hours
                    return
                if isinstance(prepared, str):  # suppressed: logged, the journey goes on
                    self._advance(conn, enr, j, s, node.spec["next"], "suppressed", prepared)
                    return
                if node.spec["channel"] == "inbox":
                    store.add_inbox(conn, {"customer_id": enr["customer_id"], "kind": "message",
                                           "subject": prepared.subject, "body": prepared.body, "link": None,
                                           "idempotency_key": key, "created_at": stamp(self.clock())})
                    store.update_message(conn, key, status="sent", sent_at=stamp(self.clock()), attempts=1)
                    self._advance(conn, enr, j, s, node.spec["next"], "sent", None)
                    return
            else:
                prepared = self._rebuild(conn, enr, j, node, key)
            message = prepared
        # outside any transaction: the provider call
        if isinstance(message, str):  # the retried message can no longer be built (address or template gone)
            with store.transaction(self.engine) as conn:
                store.update_message(conn, key, status="suppressed", reason=message)
                enr = store.get_enrollment(conn, s["enrollment_id"])
                if enr is not None:
                    self._advance(conn, enr, j, s, node.spec["next"], "suppressed", message)
            return
        adapter = self.adapters.get(node.spec["channel"])
        error: str | None
        if adapter is None or message is None:
            result_status, provider_id, error = "failed", None, "no adapter configured for this channel"
        else:
            result = adapter.send(message)
            result_status, provider_id, error = result.status, result.provider_id, result.error
        now = self.clock()
        with store.transaction(self.engine) as conn:
            row = store.message_by_key(conn, key)
            attempts = int(row["attempts"] if row else 0) + 1
            if result_status == "retry" and attempts < self.max_attempts:
                store.update_message(conn, key, attempts=attempts, error=error)
                store.reschedule_step(conn, s["id"], self.worker_id, self._backoff(s), None)
                return
            final = "sent" if result_status == "sent" else "failed"
            store.update_message(conn, key, status=final, attempts=attempts, provider_id=provider_id, error=error,
                                 sent_at=stamp(now) if final == "sent" else None)
            enr = store.get_enrollment(conn, s["enrollment_id"])
            if enr is not None and enr["status"] == "active":
                self._advance(conn, enr, j, s, node.spec["next"], final, error)
            else:
                store.finish_step(conn, s["id"], self.worker_id, final, error, now)

    def _content(self, conn: Any, enr: dict[str, Any], j: Journey, node: Node
                 ) -> tuple[dict[str, Any] | None, dict[str, Any], str]:
        tpl = store.template_row(conn, node.spec["template"])
        contact = store.contact_row(conn, enr["customer_id"])
        locale = contact.get("locale") or "zh-CN"
        return tpl, contact, locale

    def _render(self, conn: Any, enr: dict[str, Any], j: Journey, tpl: dict[str, Any], contact: dict[str, Any],
                locale: str) -> tuple[str, str]:
        attrs = store.customer_attributes(conn, enr["customer_id"])
        due = attrs.get("next_premium_due")
        values = {"customer_name": contact.get("name_masked") or "", "agent_name": attrs.get("primary_agent_id") or "",
                  "policy_no": enr.get("instance_key") or "", "premium_due_date": due or "",
                  "journey_name": j.name_zh if locale == "zh-CN" else j.name_en,
                  "unsubscribe_hint": "回复TD退订" if locale == "zh-CN" else "Reply STOP to opt out"}
        suffix = "zh" if locale == "zh-CN" else "en"
        return render(tpl[f"subject_{suffix}"], values), render(tpl[f"body_{suffix}"], values)

    def _address(self, channel: str, contact: dict[str, Any]) -> str | None:
        column = {"sms": "phone_enc", "email": "email_enc", "wecom": "wecom_userid_enc"}.get(channel)
        if channel == "inbox":
            return "inbox"
        return None if column is None else self.decrypt(contact.get(column))

    def _prepare(self, conn: Any, enr: dict[str, Any], j: Journey, node: Node, key: str, step_id: int
                 ) -> Message | str | None:
        """Check the guard rails and write the outbox row: a Message to send, a suppression reason, or None
        when quiet hours defer the step (rescheduled here)."""
        channel, customer, now = node.spec["channel"], enr["customer_id"], self.clock()
        tpl, contact, locale = self._content(conn, enr, j, node)
        base = {"idempotency_key": key, "customer_id": customer, "household_id": enr["household_id"],
                "channel": channel, "journey_key": j.key, "journey_version": enr["version"],
                "enrollment_id": enr["id"], "created_at": stamp(now), "attempts": 0,
                "template_code": node.spec["template"], "kind": "marketing", "purpose": "marketing"}
        reason: str | None = None
        message: Message | None = None
        if tpl is None:
            reason = "template_not_approved"
        else:
            base |= {"template_version": tpl["version"], "kind": tpl["kind"], "purpose": tpl["purpose"]}
            if tpl["channel"] != channel:
                reason = "template_channel_mismatch"
        if reason is None:
            store.lock_contact(conn, enr["household_id"] or customer)
            since = {w: now - d for w, d in guard_rules.WINDOWS.items()}
            decision = guard_rules.decide(
                self.guards, kind=base["kind"], channel=channel, consent=store.consent_state(conn, customer),
                blocked=store.blocked_channels(conn, customer),
                customer_counts=store.sent_counts(conn, "customer_id", customer, since),
                household_counts=store.sent_counts(conn, "household_id", enr["household_id"], since)
                if enr["household_id"] else {},
                now=now, tz=guard_rules.zone(contact.get("time_zone"), self.guards.default_time_zone))
            if decision.action == "defer" and decision.until is not None:
                store.reschedule_step(conn, step_id, self.worker_id, decision.until, "deferred:quiet_hours",
                                      retry=False)
                return None
            reason = decision.reason if decision.action == "suppress" else None
        if reason is None:
            assert tpl is not None
            address = self._address(channel, contact)
            if not address:
                reason = "no_address"
            else:
                try:
                    subject, body = self._render(conn, enr, j, tpl, contact, locale)
                except InvalidInput:
                    reason = "template_error"
                else:
                    message = Message(key, customer, channel, address, subject, body, base["kind"])
        store.log_message(conn, base | {"status": "suppressed" if reason else "sending", "reason": reason,
                                        "step_id": step_id})
        return reason if reason is not None else message

    def _rebuild(self, conn: Any, enr: dict[str, Any], j: Journey, node: Node, key: str) -> Message | str:
        """The message of an outbox row left ``sending`` by a worker that died: same key, same text."""
        tpl, contact, locale = self._content(conn, enr, j, node)
        row = store.message_by_key(conn, key)
        if row is not None and row.get("template_version"):
            tpl = store.template_row(conn, node.spec["template"], int(row["template_version"])) or tpl
        address = self._address(node.spec["channel"], contact)
        if tpl is None or not address:
            return "no_address" if tpl is not None else "template_not_approved"
        subject, body = self._render(conn, enr, j, tpl, contact, locale)
        return Message(key, enr["customer_id"], node.spec["channel"], address, subject, body, tpl["kind"])

def _all(conds: tuple[Condition, ...], attrs: dict[str, Any]) -> bool:
    tags = frozenset(attrs.get("tags") or ())
    return all(c.holds(attrs, tags) for c in conds)


def consent_change(engine: Any, customer_id: str, purpose: str, channel: str, granted: bool, *, source: str,
                   actor: str, note: str | None = None, now: datetime | None = None) -> None:
    """Grant or withdraw consent (append-only; effective for the next send check)."""
    purposes = ("marketing", "health_data", "profiling", "partner_sharing")
    channels = ("any", "email", "sms", "wecom", "phone", "inbox")
    if purpose not in purposes:
        raise InvalidInput(f"purpose: {purpose!r} is not one of {', '.join(purposes)}", field="purpose")
    if channel not in channels:
        raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(channels)}", field="channel")
    store.record_consent(engine, [{"customer_id": customer_id, "purpose": purpose, "channel": channel,
                                   "granted": granted, "source": source, "actor": actor, "note": note}],
                         now or utcnow())


def withdrawal_impact(engine: Any, customer_id: str, purpose: str, channel: str = "any") -> dict[str, Any]:
    """What withdrawing ``purpose`` on ``channel`` would stop, without recording anything (a dry run):
    the customer's active journeys with message nodes whose approved template needs that purpose (on
    that channel), and, for marketing on every channel, the sales next best actions staff would no
    longer see. Service and transactional messages are not stopped by a withdrawal."""
    with engine.connect() as conn:
        current = store.consent_state(conn, customer_id)
    stopped: list[dict[str, Any]] = []
    for e in store.customer_journeys(engine, customer_id):
        if e["status"] != "active":
            continue
        row = store.version_row(engine, e["journey_key"], int(e["version"]))
        if row is None:
            continue
        nodes = []
        for node in from_json(row["definition"]).nodes.values():
            if node.type != "message" or (channel != "any" and node.spec.get("channel") != channel):
                continue
            template = store.template_row(engine, str(node.spec.get("template")))
            if template is not None and template.get("purpose") == purpose:
                nodes.append(node.id)
        if nodes:
            stopped.append({"journey_key": e["journey_key"], "version": int(e["version"]),
                            "enrollment_id": int(e["id"]), "message_nodes": nodes})
    sales = store.sales_actions(engine, customer_id) if (purpose, channel) == ("marketing", "any") else []
    return {"customer_id": customer_id, "purpose": purpose, "channel": channel,
            "currently": current.get((purpose, channel)), "journeys": stopped,
            "sales_actions": [a["action"] for a in sales]}


def journey_summary(engine: Any, key: str) -> dict[str, Any]:
    found = store.get_journey(engine, key)
    if found is None:
        raise InvalidInput(f"no journey {key!r}", field="journey")
    row = store.version_row(engine, key, int(found["current_version"]))
    return found | {"definition": json.loads(row["definition"]) if row else None,
                    "source": row["source"] if row else None}
