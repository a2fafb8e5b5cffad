"""Guard rails checked at send time: consent, do-not-contact, quiet hours, frequency caps (pure rules).

Three kinds of message (``definition.KINDS``):

- ``transactional`` (a receipt, a policy document): always sent; no consent needed (the contract is the
  basis), not held by quiet hours, do-not-contact or caps, and not counted towards caps.
- ``service`` (a premium-due reminder, a claim update): no marketing consent needed; do-not-contact and
  quiet hours apply; counted towards caps but not suppressed by them (a reminder that keeps cover in
  force outranks a cap).
- ``marketing``: needs a current grant for purpose ``marketing`` on the channel (or on ``any``); every
  rule applies and a cap suppresses it.

The in-app inbox is pulled by the customer: quiet hours and caps do not apply to it; consent does.
A message held by quiet hours is deferred to the end of the quiet period in the customer's time zone
(default Asia/Shanghai, no outbound contact 21:00-09:00); a suppressed one is logged with its reason
and the journey goes on.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shouhu.errors import ConfigError

DEFAULT_FILE = Path(__file__).with_name("guards.toml")
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass(frozen=True)
class Guards:
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    default_time_zone: str = "Asia/Shanghai"
    customer_caps: dict[str, dict[str, int]] = field(default_factory=dict)
    household_caps: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    action: str  # send | suppress | defer
    reason: str | None = None
    until: datetime | None = None


def _hhmm(value: Any, where: str) -> time:
    try:
        h, m = str(value).split(":")
        return time(int(h), int(m))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not HH:MM", field=where) from None


def load_guards(path: Path | None = None) -> Guards:
    """The guard rails from ``path`` (default: the built-in guards.toml)."""
    path = path or DEFAULT_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the guard rails: {e}", file=str(path)) from e
    caps: dict[str, dict[str, dict[str, int]]] = {}
    for section in ("customer_caps", "household_caps"):
        caps[section] = {}
        for channel, windows in raw.get(section, {}).items():
            for window, n in windows.items():
                if window not in WINDOWS or not isinstance(n, int) or n < 0:
                    raise ConfigError(f"{path}: {section}.{channel}.{window} must be one of "
                                      f"{', '.join(WINDOWS)} with a count >= 0", file=str(path))
            caps[section][channel] = dict(windows)
    tz = str(raw.get("default_time_zone", "Asia/Shanghai"))
    zone(tz, None)
    return Guards(_hhmm(raw.get("quiet_start", "21:00"), "quiet_start"), _hhmm(raw.get("quiet_end", "09:00"),
                                                                              "quiet_end"),
                  tz, caps["customer_caps"], caps["household_caps"])


def zone(name: str | None, fallback: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        if fallback is None:
            raise ConfigError(f"unknown time zone {name!r}") from None
        return ZoneInfo(fallback)


def quiet_until(g: Guards, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the quiet period ``now`` falls in ends (an aware datetime), or None outside it."""
    local = now.astimezone(tz)
    t = local.time()
    start, end = g.quiet_start, g.quiet_end
    inside = (t >= start or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)


def consent_ok(state: dict[tuple[str, str], bool], purpose: str, channel: str) -> bool:
    """A grant for the purpose on this channel, or on any channel, not withdrawn later. A withdrawal
    on ``any`` withdraws every channel; a channel-specific answer wins over ``any``."""
    specific = state.get((purpose, channel))
    if specific is not None:
        return specific
    return bool(state.get((purpose, "any"), False))


def over_cap(caps: dict[str, dict[str, int]], channel: str, counts: dict[tuple[str, str], int]) -> str | None:
    """The first cap reached, as ``channel/window``, or None."""
    for ch in (channel, "any"):
        for window, limit in caps.get(ch, {}).items():
            if counts.get((ch, window), 0) >= limit:
                return f"{ch}/{window}"
    return None


def decide(g: Guards, *, kind: str, channel: str, consent: dict[tuple[str, str], bool], blocked: set[str],
           customer_counts: dict[tuple[str, str], int], household_counts: dict[tuple[str, str], int],
           now: datetime, tz: ZoneInfo) -> Decision:
    """Send, suppress (with a reason) or defer (until when) one message."""
    if kind == "transactional":
        return Decision("send")
    if "any" in blocked or channel in blocked:
        return Decision("suppress", "do_not_contact")
    if kind == "marketing" and not consent_ok(consent, "marketing", channel):
        return Decision("suppress", "no_consent")
    if channel == "inbox":
        return Decision("send")
    until = quiet_until(g, now, tz)
    if until is not None:
        return Decision("defer", "quiet_hours", until)
    if kind == "marketing":
        cap = over_cap(g.customer_caps, channel, customer_counts)
        if cap is None:
            cap = over_cap(g.household_caps, channel, household_counts)
            cap = None if cap is None else f"household:{cap}"
        if cap is not None:
            return Decision("suppress", f"frequency_cap:{cap}")
    return Decision("send")
