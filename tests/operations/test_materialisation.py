"""Next best actions → tasks: an outcome recorded on the workbench is seen by the next refresh (a task
closed within the cool-off is neither reopened nor duplicated; a live one is updated, not doubled)."""

from __future__ import annotations

from datetime import date

from shouhu.operations.activities import COOLDOWN_DAYS, nba_key, plan_materialisation

TODAY = date(2026, 12, 6)
ACTION = {"customer_id": "CU000000000001", "action": "retention_contact", "product_type": None, "rank": 1,
          "reason_zh": "保单即将失效", "expected_value": 1200.0}


def _plan(existing: list[dict[str, object]]) -> tuple[int, int, int]:
    plan = plan_materialisation([ACTION], {nba_key(ACTION): existing}, {"CU000000000001": "AG1"}, TODAY,
                                {"retention_contact": "续期提醒"})
    return len(plan.inserts), len(plan.updates), plan.kept_closed


def test_a_recently_completed_task_is_left_alone_by_the_next_refresh() -> None:
    done = {"id": 7, "status": "done", "closed_at": "2026-12-01T10:00:00+08:00"}
    assert _plan([done]) == (0, 0, 1)


def test_a_live_task_is_updated_and_an_old_closed_one_makes_room_for_a_new_task() -> None:
    assert _plan([{"id": 8, "status": "snoozed", "closed_at": None}]) == (0, 1, 0)
    old = {"id": 9, "status": "cancelled", "closed_at": f"{TODAY.year - 1}-01-01T10:00:00+08:00"}
    assert COOLDOWN_DAYS < 365
    inserts, updates, kept = _plan([old])
    assert (inserts, updates, kept) == (1, 0, 0)
    new = plan_materialisation([ACTION], {}, {"CU000000000001": "AG1"}, TODAY, {}).inserts[0]
    assert new["owner_staff_id"] == "AG1" and new["priority"] == 1 and new["due_date"] == "2026-12-08"
