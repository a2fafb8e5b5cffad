"""Membership by value: the customer-value tier (``customer_value.tier``, shouhu.scoring.value: the
expected present value of future margins, by quantile) decides the service level — response-time target,
routing priority and benefits such as health check-ups and green-channel hospital booking.

The tier is re-read after each refresh (:func:`changes`); every change is logged with a reason written
for the customer, in Chinese and English, naming the old and new level and what changes for them. The
value number itself is never shown to the customer: it is a commercial estimate, not their data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shouhu.errors import UnknownName
from shouhu.health.config import VALUE_TIERS, Programme, ServiceLevel

DEFAULT_TIER = "standard"  # customers the last refresh did not value


def level(programme: Programme, value_tier: str | None) -> ServiceLevel:
    code = value_tier or DEFAULT_TIER
    if code not in programme.service_levels:
        raise UnknownName("value tier", code, list(VALUE_TIERS))
    return programme.service_levels[code]


def _hours(minutes: int) -> tuple[str, str]:
    if minutes % 60 == 0:
        h = minutes // 60
        return f"{h} 小时", f"{h} hour{'s' if h != 1 else ''}"
    return f"{minutes} 分钟", f"{minutes} minutes"


def describe(programme: Programme, s: ServiceLevel) -> tuple[str, str]:
    zh_t, en_t = _hours(s.response_minutes)
    zh_b = "、".join(programme.benefits[b][0] for b in s.benefits)
    en_b = "; ".join(programme.benefits[b][1] for b in s.benefits)
    return f"服务响应 {zh_t}内；权益：{zh_b}", f"we answer within {en_t}; benefits: {en_b}"


def reason(programme: Programme, old: str | None, new: str) -> tuple[str, str]:
    """The text the customer reads about a change of level, zh and en."""
    to = level(programme, new)
    zh_what, en_what = describe(programme, to)
    if old is None:
        return (f"您的会员等级为{to.name_zh}（依据您名下有效保单的类型、保费与剩余期限评定）。{zh_what}。",
                f"Your membership level is {to.name_en} (set from the type, premium and remaining term of your "
                f"policies in force). From now on {en_what}.")
    frm = level(programme, old)
    up = VALUE_TIERS.index(to.tier) < VALUE_TIERS.index(frm.tier)
    verb_zh, verb_en = ("升级为", "has risen to") if up else ("调整为", "has changed to")
    return (f"根据最近一次保单评估，您的会员等级由{frm.name_zh}{verb_zh}{to.name_zh}"
            f"（依据您名下有效保单的类型、保费与剩余期限）。{zh_what}。",
            f"After the latest review of your policies your membership level {verb_en} {to.name_en} from "
            f"{frm.name_en} (set from the type, premium and remaining term of your policies in force). "
            f"From now on {en_what}.")


@dataclass(frozen=True)
class Change:
    customer_id: str
    from_tier: str | None
    to_tier: str
    reason_zh: str
    reason_en: str


def changes(programme: Programme, current: Mapping[str, str], valued: Mapping[str, str]) -> list[Change]:
    """What to log when the value tiers ``valued`` (customer -> tier) replace the ``current`` levels.
    A customer the refresh no longer values falls to ``standard``."""
    out = []
    for cid in sorted(set(current) | set(valued)):
        new = valued.get(cid, DEFAULT_TIER)
        old = current.get(cid)
        if new != old:
            out.append(Change(cid, old, new, *reason(programme, old, new)))
    return out


__all__ = ["DEFAULT_TIER", "Change", "changes", "describe", "level", "reason"]
