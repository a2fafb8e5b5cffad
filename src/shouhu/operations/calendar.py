"""A business calendar: mainland public holidays, make-up working days (调休) and working hours.

Days come from ``holidays_cn.toml`` (the State Council's yearly schedules) overlaid by an optional
user TOML of the same shape. A year that neither lists is *unknown*: by default (``unknown_year =
"error"``) any question about it raises :class:`CalendarGap`, naming the year and the known ones. A
calendar TOML may choose ``unknown_year = "weekends"`` instead: Monday to Friday then count as
working days, a warning is logged once per year, and :meth:`BusinessCalendar.covers` lets callers
flag the answer as an estimate. Never a silent guess.

Counting follows the Civil Code (art. 201): a period counted in days starts on the day after the
event, so a complaint received on a working day is due at the end of the Nth *following* working day.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shouhu.errors import ConfigError, InvalidInput

log = logging.getLogger("shouhu.operations.calendar")
BUILT_IN = Path(__file__).with_name("holidays_cn.toml")
UnknownYear = Literal["weekends", "error"]
DAY = timedelta(days=1)


class CalendarGap(InvalidInput):
    """A date in a year the calendar has no holiday schedule for (and the fallback is ``error``)."""

    code = "calendar_gap"


@dataclass
class BusinessCalendar:
    holidays: frozenset[date]
    workdays: frozenset[date]                  # make-up working days on a weekend
    years: frozenset[int]                      # years whose schedule is known
    opens: time = time(9, 0)
    closes: time = time(18, 0)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    unknown_year: UnknownYear = "error"
    _warned: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ConfigError(f"working hours must close after they open: {self.opens}-{self.closes}")
        both = self.holidays & self.workdays
        if both:
            raise ConfigError(f"dates both a holiday and a make-up working day: {sorted(both)[:3]}")

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def _check_year(self, day: date) -> None:
        if day.year in self.years:
            return
        if self.unknown_year == "error":
            raise CalendarGap(f"no holiday schedule for {day.year}; add it to the calendar TOML "
                              f"(known years: {sorted(self.years)})", year=day.year)
        if day.year not in self._warned:
            self._warned.add(day.year)
            log.warning("no holiday schedule for %s: counting Monday-Friday as working days (estimate)", day.year)

    def is_working_day(self, day: date) -> bool:
        self._check_year(day)
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += DAY
        for _ in range(400):
            if self.is_working_day(day):
                return day
            day += DAY
        raise ConfigError(f"no working day within 400 days after {day}")

    def roll_forward(self, day: date) -> date:
        """``day`` if it is a working day, else the next one (Civil Code art. 203 for a period's last day)."""
        return day if self.is_working_day(day) else self.next_working_day(day)

    # -- instants ---------------------------------------------------------------------------------

    def local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise InvalidInput(f"a time without a time zone: {at.isoformat()}")
        return at.astimezone(self.tz)

    def close_of(self, day: date) -> datetime:
        return datetime.combine(day, self.closes, self.tz)

    def open_of(self, day: date) -> datetime:
        return datetime.combine(day, self.opens, self.tz)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Close of business on the ``n``-th working day after the day of ``start`` (n >= 1)."""
        if n < 1:
            raise InvalidInput(f"working days to add must be at least 1, not {n}")
        day = self.local(start).date()
        for _ in range(n):
            day = self.next_working_day(day)
        return self.close_of(day)

    def add_calendar_days(self, start: datetime, n: int, roll: bool = True) -> datetime:
        """End of the ``n``-th day after ``start``'s day; a last day off work moves to the next working day."""
        day = self.local(start).date() + n * DAY
        if roll:
            day = self.roll_forward(day)
        return datetime.combine(day + DAY, time(0), self.tz)

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        return (self.open_of(day), self.close_of(day)) if self.is_working_day(day) else None

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant ``seconds`` of working time after ``start`` (time outside working hours is skipped)."""
        at = self.local(start)
        left = timedelta(seconds=seconds)
        day = at.date()
        for _ in range(5000):
            window = self._window(day)
            if window is not None:
                begin = max(at, window[0])
                if begin < window[1]:
                    room = window[1] - begin
                    if left <= room:
                        return begin + left
                    left -= room
            day += DAY
            at = self.open_of(day)
        raise ConfigError("working time to add runs past 5000 days")

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        return self.add_working_seconds(start, hours * 3600)

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working time from ``a`` to ``b`` (0 when ``b`` is not after ``a``)."""
        a, b = self.local(a), self.local(b)
        total = 0.0
        day = a.date()
        while day <= b.date():
            window = self._window(day)
            if window is not None:
                lo, hi = max(a, window[0]), min(b, window[1])
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += DAY
        return total


def _dates(value: Any, where: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of dates")
    out = set()
    for i, item in enumerate(value):
        try:
            out.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            raise ConfigError(f"{where}[{i}]: not a date (YYYY-MM-DD): {item!r}") from None
    return frozenset(out)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"calendar file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e


def _years(doc: dict[str, Any], path: Path) -> dict[int, tuple[frozenset[date], frozenset[date]]]:
    out = {}
    for key, spec in (doc.get("years") or {}).items():
        where = f"{path} [years.{key}]"
        if not str(key).isdigit() or not isinstance(spec, dict):
            raise ConfigError(f"{where}: a year must be a table named by its number, e.g. [years.2027]")
        holidays = _dates(spec.get("holidays", []), f"{where} holidays")
        workdays = _dates(spec.get("workdays", []), f"{where} workdays")
        stray = sorted(d for d in holidays | workdays if d.year != int(key))
        if stray:
            raise ConfigError(f"{where}: dates outside {key}: {stray[:3]}")
        out[int(key)] = (holidays, workdays)
    return out


def _clock(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: not a time of day (HH:MM): {value!r}") from None


def load_calendar(path: Path | None = None) -> BusinessCalendar:
    """The built-in schedules, with ``path`` (if given) adding or replacing whole years and settings."""
    years = _years(_read(BUILT_IN), BUILT_IN)
    settings: dict[str, Any] = {}
    if path is not None:
        doc = _read(path)
        years |= _years(doc, path)
        settings = doc.get("settings") or {}
    unknown = settings.get("unknown_year", "error")
    if unknown not in ("weekends", "error"):
        raise ConfigError(f"{path} settings.unknown_year: 'weekends' or 'error', not {unknown!r}")
    try:
        tz = ZoneInfo(str(settings.get("timezone", "Asia/Shanghai")))
    except (KeyError, ValueError):
        raise ConfigError(f"{path} settings.timezone: unknown time zone {settings.get('timezone')!r}") from None
    return BusinessCalendar(
        holidays=frozenset().union(*(h for h, _ in years.values())),
        workdays=frozenset().union(*(w for _, w in years.values())),
        years=frozenset(years), tz=tz, unknown_year=unknown,
        opens=_clock(settings.get("opens", "09:00"), f"{path} settings.opens"),
        closes=_clock(settings.get("closes", "18:00"), f"{path} settings.closes"))
