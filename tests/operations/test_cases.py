"""Service-case rules: lifecycle, SLA clocks across the 2026 National Day week with a pause, breaches."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shouhu.errors import ConfigError, InvalidInput
from shouhu.operations import cases as ops
from shouhu.operations.calendar import load_calendar

SH = ZoneInfo("Asia/Shanghai")
CAL = load_calendar()
SLA = ops.load_sla()


def at(m: int, d: int, hh: int, mm: int = 0, y: int = 2026) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def new_case(kind: str, opened: datetime) -> dict[str, object]:
    return {"id": 7, "case_type": kind, "status": "open", "first_response_at": None} | \
        ops.open_clocks(SLA[kind], CAL, opened)


def apply(case: dict[str, object], to: str, when: datetime) -> dict[str, object]:
    return case | ops.transition(case, to, SLA[str(case["case_type"])], CAL, when)


def test_address_change_across_national_day_with_a_pause_and_a_make_up_saturday() -> None:
    case = new_case("address_change", at(9, 30, 16))   # response 4h, resolution 2d = 18 working hours
    assert case["response_due_at"] == "2026-10-08T11:00:00+08:00"   # 2h on 30 Sep + 2h on 8 Oct
    assert case["resolution_due_at"] == "2026-10-09T16:00:00+08:00"  # 2 + 9 + 7
    case = apply(case, "in_progress", at(10, 8, 9, 30))
    assert case["first_response_at"] == "2026-10-08T09:30:00+08:00"
    case = apply(case, "waiting_customer", at(10, 8, 10))   # used: 2h + 1h = 3h, 15h left
    assert case["consumed_s"] == 3 * 3600 and case["resolution_due_at"] is None and case["clock_since"] is None
    assert ops.breaches(case, CAL, at(10, 20, 9)) == []     # paused: no resolution breach however late
    case = apply(case, "in_progress", at(10, 10, 9))        # the customer answers on the make-up Saturday
    # 15h: 9 on Saturday 10 Oct, Sunday off, 6 on Monday 12 Oct
    assert case["resolution_due_at"] == "2026-10-12T15:00:00+08:00"
    assert ops.breaches(case, CAL, at(10, 12, 14, 59)) == []
    late = ops.breaches(case, CAL, at(10, 12, 15, 1))
    assert [(b.clock, b.key) for b in late] == [("resolution", "breach:7:resolution:0")]
    done = apply(case, "resolved", at(10, 12, 16))
    assert done["resolved_at"] == "2026-10-12T16:00:00+08:00" and ops.breaches(done, CAL, at(11, 1, 9)) == []


def test_response_breach_and_reopen_rounds() -> None:
    case = new_case("complaint", at(9, 30, 17))             # response 2h: 1h on 30 Sep, 1h on 8 Oct
    assert case["response_due_at"] == "2026-10-08T10:00:00+08:00"
    assert [b.clock for b in ops.breaches(case, CAL, at(10, 8, 10, 1))] == ["response"]
    case = apply(case, "resolved", at(10, 8, 11))
    again = apply(case, "in_progress", at(10, 9, 9))        # reopen: a new round of the resolution clock
    assert again["reopened"] == 1 and again["resolved_at"] is None
    assert ops.breaches(again, CAL, at(10, 8, 12))[0].key == "breach:7:response:0"  # answered late, still one key


def test_lifecycle_refusals() -> None:
    case = new_case("complaint", at(11, 2, 10))
    closed = apply(case, "closed", at(11, 2, 11))
    with pytest.raises(ops.InvalidTransition, match="closed: it cannot become waiting_customer"):
        ops.transition(closed, "waiting_customer", SLA["complaint"], CAL, at(11, 2, 12))
    resolved = apply(case, "resolved", at(11, 2, 11))
    with pytest.raises(ops.InvalidTransition):
        ops.transition(resolved, "waiting_customer", SLA["complaint"], CAL, at(11, 2, 12))
    with pytest.raises(InvalidInput, match="status"):
        ops.transition(case, "done", SLA["complaint"], CAL, at(11, 2, 12))


def test_a_target_beyond_the_calendar_has_no_due_time_but_a_note() -> None:
    case = new_case("complaint", at(12, 31, 10))            # 10 working days run into 2027
    assert case["response_due_at"] == "2026-12-31T12:00:00+08:00"
    assert case["resolution_due_at"] is None and "2027" in str(case["sla_note"])
    assert ops.sla_state(case, at(12, 31, 11)) == "unknown"


def test_fields_and_checklists() -> None:
    clear, secret = ops.check_fields("account_change",
                                     {"bank_name": "工商银行", "new_account_no": "6222 0212 3456 7890"})
    assert clear == {"bank_name": "工商银行"} and secret == {"new_account_no": "6222021234567890"}
    assert ops.mask_value("new_account_no", secret["new_account_no"]) == "************7890"
    with pytest.raises(InvalidInput, match=r"fields\.new_account_no: required"):
        ops.check_fields("account_change", {"bank_name": "工商银行"})
    with pytest.raises(InvalidInput, match=r"fields\.new_account_no: 12-30 digits"):
        ops.check_fields("account_change", {"bank_name": "工行", "new_account_no": "6222-abc"})
    with pytest.raises(InvalidInput, match=r"fields\.phone: not a field of address_change"):
        ops.check_fields("address_change", {"new_address": "上海市浦东新区", "phone": "13800138000"})
    assert [c["code"] for c in ops.checklist("death")][:3] == ["claim_form", "bank_card", "death_certificate"]
    with pytest.raises(InvalidInput, match="claim_type"):
        ops.checklist("dental")


def test_sla_file_errors(tmp_path: Path) -> None:
    own = tmp_path / "sla.toml"
    own.write_text('[complaint]\nresponse = "1h"\nresolution = "3d"\n', encoding="utf-8")
    assert str(ops.load_sla(own)["complaint"].resolution) == "3d"
    own.write_text('[complaint]\nresponse = "soon"\nresolution = "3d"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sla.toml \[complaint\] response: a target is"):
        ops.load_sla(own)
    own.write_text('[refund]\nresponse = "1h"\nresolution = "3d"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown case type"):
        ops.load_sla(own)
