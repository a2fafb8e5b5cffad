"""Questionnaire assessments and suitability checks in the serving database.

:class:`ServingAssessmentStore` keeps assessments in the table ``assessment`` (migration 0006),
append-only: a re-assessment adds a row, nothing is overwritten. It satisfies the
``AssessmentStore`` protocol of :mod:`shouhu.advice.questionnaire` structurally; this package sits
below the advice domain and may not import it, so the caller passes ``make``, which turns a stored
row into the domain's assessment object.

:func:`append_checks` writes suitability checks to ``suitability_check`` (migration 0005) through
the caller's engine, in one transaction: the web server's equivalent of the CLI's
``ServingCheckLog``, without opening an engine per plan.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Engine, insert, select

from shouhu.access.policy import RowRule
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import assessment as assessment_table
from shouhu.storage.tables import reflected

T = TypeVar("T")


class AssessmentRecord(Protocol):
    """What an assessment must carry to be stored (the advice domain's ``Assessment`` does)."""

    @property
    def customer_id(self) -> str: ...

    @property
    def questionnaire(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def answers(self) -> dict[str, Any]: ...

    @property
    def score(self) -> int | None: ...

    @property
    def level(self) -> str | None: ...

    @property
    def taken_at(self) -> str: ...


class ServingAssessmentStore(Generic[T]):
    """Assessments of the serving table ``assessment``, oldest first.

    ``taken_by`` is who ran the questionnaire (a staff user id or ``customer:<id>``); ``rule``, when
    given, keeps :meth:`history` inside a principal's row scope.
    """

    def __init__(self, engine: Engine, make: Callable[[dict[str, Any]], T], *, taken_by: str = "system",
                 rule: RowRule | None = None) -> None:
        self.engine = engine
        self.make = make
        self.taken_by = taken_by
        self.rule = rule

    def add(self, assessment: AssessmentRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(assessment_table).values(
                customer_id=assessment.customer_id, questionnaire=assessment.questionnaire,
                version=assessment.version, answers=json.dumps(assessment.answers, ensure_ascii=False, default=str),
                score=assessment.score, level=assessment.level, taken_at=assessment.taken_at,
                taken_by=self.taken_by[:64]))

    def rows(self, customer_id: str, questionnaire: str | None = None) -> list[dict[str, Any]]:
        """Stored rows (answers parsed), oldest first."""
        t = assessment_table
        query = select(t).where(t.c.customer_id == customer_id).order_by(t.c.id)
        if questionnaire is not None:
            query = query.where(t.c.questionnaire == questionnaire)
        if self.rule is not None:
            query = query.where(scope_condition(self.rule, t.c.customer_id))
        with self.engine.connect() as conn:
            return [dict(r._mapping) | {"answers": json.loads(r.answers)} for r in conn.execute(query)]

    def history(self, customer_id: str, questionnaire: str | None = None) -> list[T]:
        return [self.make(r) for r in self.rows(customer_id, questionnaire)]


def append_checks(engine: Engine, records: Iterable[Mapping[str, Any]]) -> int:
    """Store suitability checks ({check, subject, inputs, passed, zh, en, at}); returns how many."""
    rows = [{"checked_at": r["at"], "check_name": r["check"], "subject": r["subject"], "passed": bool(r["passed"]),
             "inputs": json.dumps(r["inputs"], ensure_ascii=False, default=str), "reason_zh": r["zh"],
             "reason_en": r["en"]} for r in records]
    if not rows:
        return 0
    with engine.begin() as conn:
        conn.execute(insert(reflected(engine, "suitability_check")), rows)
    return len(rows)
