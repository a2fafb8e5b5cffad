"""Customers' own policies from other insurers (the wallet), in the serving table ``external_policy``.

Each row holds one validated wallet record as JSON (the fields of
:data:`shouhu.advice.wallet.COLUMNS`; the advice domain validates, this module only stores). Reads
and removals go through a row rule, like every customer read of the web layer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from shouhu.access.policy import RowRule
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import external_policy


def add(engine: Engine, customer_id: str, record: dict[str, Any], added_by: str) -> int:
    """Store one external policy of ``customer_id``; returns its row id."""
    with engine.begin() as conn:
        result = conn.execute(insert(external_policy).values(
            customer_id=customer_id, record=json.dumps(record, ensure_ascii=False, default=str),
            added_at=datetime.now(UTC).isoformat(timespec="seconds"), added_by=added_by[:64]))
        key = result.inserted_primary_key
    return int(key[0]) if key else 0


def rows(engine: Engine, rule: RowRule, customer_ids: list[str]) -> list[dict[str, Any]]:
    """External policies of the given customers that the rule allows, oldest first (``record`` parsed)."""
    if not customer_ids:
        return []
    t = external_policy
    query = (select(t).where(t.c.customer_id.in_(customer_ids), scope_condition(rule, t.c.customer_id))
             .order_by(t.c.id))
    with engine.connect() as conn:
        return [dict(r._mapping) | {"record": json.loads(r.record)} for r in conn.execute(query)]


def remove(engine: Engine, rule: RowRule, customer_id: str, row_id: int) -> dict[str, Any] | None:
    """Delete one external policy of ``customer_id`` within the rule; the removed row, or None."""
    t = external_policy
    where = (t.c.id == row_id, t.c.customer_id == customer_id, scope_condition(rule, t.c.customer_id))
    with engine.begin() as conn:
        row = conn.execute(select(t).where(*where)).first()
        if row is None:
            return None
        conn.execute(delete(t).where(*where))
    return dict(row._mapping) | {"record": json.loads(row.record)}
