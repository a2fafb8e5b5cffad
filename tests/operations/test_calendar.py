"""The business calendar against hand-checked dates (State Council schedules 2025 and 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shouhu.errors import ConfigError
from shouhu.operations.calendar import CalendarGap, load_calendar

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_holidays_and_make_up_days() -> None:
    cal = load_calendar()
    assert not cal.is_working_day(date(2026, 10, 1)) and not cal.is_working_day(date(2026, 10, 7))
    assert cal.is_working_day(date(2026, 10, 10))      # Saturday, make-up working day
    assert cal.is_working_day(date(2026, 9, 20))       # Sunday, make-up working day
    assert not cal.is_working_day(date(2026, 10, 17))  # an ordinary Saturday
    assert cal.is_working_day(date(2025, 9, 28)) and not cal.is_working_day(date(2025, 10, 8))
    assert not cal.is_working_day(date(2026, 2, 23)) and cal.is_working_day(date(2026, 2, 28))


def test_sla_across_the_national_day_week() -> None:
    cal = load_calendar()
    opened = at(2026, 9, 30, 16, 0)  # Wednesday before the holiday, 2 working hours left that day
    # 4 working hours: 2 on 30 Sep, the holiday 1-7 Oct skipped, 2 on Thursday 8 Oct
    assert cal.add_working_hours(opened, 4) == at(2026, 10, 8, 11, 0)
    # 3 working days (Civil Code: counted from the next day): 8 Oct, 9 Oct, Saturday 10 Oct (make-up)
    assert cal.add_working_days(opened, 3) == at(2026, 10, 10, 18, 0)
    # 27 working hours (3 days of 9): 2 + 9 (8 Oct) + 9 (9 Oct) + 7 on the make-up Saturday
    assert cal.add_working_hours(opened, 27) == at(2026, 10, 10, 16, 0)
    assert cal.working_seconds_between(opened, at(2026, 10, 8, 11, 0)) == 4 * 3600
    # the same instant given in UTC
    assert cal.add_working_hours(datetime(2026, 9, 30, 8, 0, tzinfo=UTC), 4) == at(2026, 10, 8, 11, 0)


def test_make_up_saturday_counts_and_an_ordinary_one_does_not() -> None:
    cal = load_calendar()
    assert cal.add_working_hours(at(2026, 2, 27, 17, 0), 2) == at(2026, 2, 28, 10, 0)  # make-up Saturday
    assert cal.add_working_hours(at(2026, 3, 6, 17, 0), 2) == at(2026, 3, 9, 10, 0)    # to Monday
    assert cal.add_working_hours(at(2025, 9, 27, 10, 0), 4) == at(2025, 9, 28, 13, 0)  # Sunday 28 Sep 2025
    # started outside working hours (before opening, on a holiday): the clock starts at the next opening
    assert cal.add_working_hours(at(2026, 10, 3, 12, 0), 1) == at(2026, 10, 8, 10, 0)


def test_a_date_beyond_the_known_years_is_an_error(tmp_path: Path) -> None:
    cal = load_calendar()
    with pytest.raises(CalendarGap, match="2027"):
        cal.is_working_day(date(2027, 1, 4))
    with pytest.raises(CalendarGap, match="known years"):
        cal.add_working_hours(at(2026, 12, 31, 17, 0), 2)  # would run into 1 January 2027
    own = tmp_path / "calendar.toml"
    own.write_text('[settings]\nunknown_year = "weekends"\nopens = "08:30"\ncloses = "17:30"\n', encoding="utf-8")
    lenient = load_calendar(own)
    assert lenient.add_working_hours(at(2026, 12, 31, 16, 30), 2) == at(2027, 1, 1, 9, 30)  # an estimate
    assert not lenient.covers(date(2027, 1, 1)) and lenient.covers(date(2026, 12, 31))


def test_a_user_year_and_bad_files(tmp_path: Path) -> None:
    own = tmp_path / "cal.toml"
    own.write_text('[years.2027]\nholidays = ["2027-01-01"]\nworkdays = []\n', encoding="utf-8")
    cal = load_calendar(own)
    assert not cal.is_working_day(date(2027, 1, 1)) and cal.is_working_day(date(2027, 1, 4))
    own.write_text('[years.2027]\nholidays = ["2028-01-01"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cal.toml \[years.2027\]: dates outside 2027"):
        load_calendar(own)
    own.write_text('[years.2027]\nholidays = ["1 May"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"holidays\[0\]: not a date"):
        load_calendar(own)
    own.write_text('[settings]\nopens = "18:00"\ncloses = "09:00"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="close after they open"):
        load_calendar(own)
