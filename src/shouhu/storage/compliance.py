"""Append-only compliance records in the serving database: the suitability check log."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import MetaData, Table, insert, select

from shouhu.storage.serving import engine_for


def append_checks(url: str, records: Iterable[Mapping[str, Any]]) -> int:
    """Store checks ({check, subject, inputs, passed, zh, en, at}); returns how many."""
    rows = [{"checked_at": r["at"], "check_name": r["check"], "subject": r["subject"], "passed": bool(r["passed"]),
             "inputs": json.dumps(r["inputs"], ensure_ascii=False, default=str), "reason_zh": r["zh"],
             "reason_en": r["en"]} for r in records]
    if not rows:
        return 0
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Table("suitability_check", MetaData(), autoload_with=conn)), rows)
    finally:
        engine.dispose()
    return len(rows)


def read_checks(url: str, subject_prefix: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            table = Table("suitability_check", MetaData(), autoload_with=conn)
            query = select(table).order_by(table.c.id).limit(limit)
            if subject_prefix:
                query = query.where(table.c.subject.startswith(subject_prefix))
            return [dict(r._mapping) | {"inputs": json.loads(r.inputs)} for r in conn.execute(query)]
    finally:
        engine.dispose()
