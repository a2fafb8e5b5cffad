"""Journey fixtures: a migrated serving database (SQLite and PostgreSQL), a settable clock, a few customers
written the way a refresh publishes them (encrypted phone and e-mail), approved templates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from shouhu.journeys import engine as jeng
from shouhu.journeys.adapters import RecordingAdapter
from shouhu.journeys.guards import load_guards
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import journeys as store
from shouhu.storage import serving
from shouhu.storage.tables import reflected

KEY_TEXT = FieldCipher.new_key_text()
CIPHER = FieldCipher.from_text(KEY_TEXT)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def db(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai, a Monday


def add_customer(engine: Engine, customer_id: str, *, phone: str | None = "13912345678", email: str | None = None,
                 household: str | None = None, **facts: Any) -> None:
    cust, c360 = reflected(engine, "customer"), reflected(engine, "customer_360")
    with engine.begin() as conn:
        conn.execute(insert(cust).values(customer_id=customer_id, name_masked="张*",
                                         phone_enc=CIPHER.encrypt(phone), email_enc=CIPHER.encrypt(email)))
        conn.execute(insert(c360).values(customer_id=customer_id, household_id=household, **facts))


def add_template(engine: Engine, code: str, *, channel: str = "sms", kind: str = "service",
                 body_zh: str = "{{ customer_name }}您好，保费将于{{ premium_due_date }}到期。",
                 approve: bool = True, now: datetime | None = None) -> int:
    now = now or datetime(2026, 12, 1, tzinfo=UTC)
    purpose = "marketing" if kind == "marketing" else "service"
    if kind == "marketing" and channel == "sms":
        body_zh += "{{ unsubscribe_hint }}"
    version = store.save_template(engine, {"code": code, "channel": channel, "kind": kind, "purpose": purpose,
                                           "subject_zh": "保费提醒", "body_zh": body_zh, "subject_en": "Reminder",
                                           "body_en": "Dear {{ customer_name }}, your premium is due.",
                                           "created_by": "author"}, now)
    if approve:
        assert store.set_template_status(engine, code, version, "approved", ["draft", "pending"], "compliance",
                                         None, now)
    return version


def worker(engine: Engine, clock: Clock, **kw: Any) -> jeng.Worker:
    adapters = kw.pop("adapters", None) or {ch: RecordingAdapter(ch) for ch in ("sms", "email", "wecom")}
    return jeng.Worker(engine, adapters=adapters, guards=kw.pop("guards", load_guards()), decrypt=CIPHER.decrypt,
                       clock=clock, **kw)


def event(engine: Engine, clock: Clock, customer: str, kind: str, policy_no: str | None = None) -> None:
    jeng.add_events(engine, [jeng.event_row(customer, kind, clock.now, policy_no=policy_no)], clock.now)
