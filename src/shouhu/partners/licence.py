"""What a partner may do under its licence (China's 2020 internet insurance rules).

Only licensed institutions may carry on internet insurance business (《互联网保险业务监管办法》, 银保监会令
2020年第13号, 第三条). A partner without a licence (a scene partner: a shop, a travel or health platform)
may show the insurer's product and send its users to the insurer's own pages, but may not advise,
compare, quote or price, design a plan, handle the application or take the premium: for those it uses
the hosted sales pages (``partners.hosted``), where the insurer prices, discloses, records the
traceability session and collects the premium. It may report trigger events (a parcel returned, a
flight delayed) and claim notices for policies its users bought, and read their status.

A licensed intermediary (代理/经纪机构 with a 许可证) may do all of it through the API, within the
products and scenes the insurer has agreed with it.
"""

from __future__ import annotations

RULE = "《互联网保险业务监管办法》（银保监会令2020年第13号）第三条：持牌经营"
RULE_EN = "Measures for Internet Insurance Business (CBIRC Order No. 13 of 2020), art. 3: licensed operation"

_SCENE = frozenset({"hosted", "trigger", "claim", "read", "webhooks"})
_INTERMEDIARY = frozenset({"quote", "bind", "change", "claim", "trigger", "hosted", "read", "webhooks"})
# What each scope lets the partner do, as the rule names it (for the refusal message).
_ACTS: dict[str, tuple[str, str]] = {
    "quote": ("保费试算、报价比价", "quote or price"),
    "bind": ("代办投保手续、代收保费", "handle the application or take the premium"),
    "change": ("代办退保与批改", "handle cancellations and changes"),
}


def allowed_scopes(licence: str) -> frozenset[str]:
    return _INTERMEDIARY if licence == "intermediary" else _SCENE


def allows(licence: str, scope: str) -> bool:
    return scope in allowed_scopes(licence)


def refusal(licence: str, scope: str) -> str:
    """The message of a refused call: what was refused, why, and what to do instead."""
    zh, en = _ACTS.get(scope, (scope, scope))
    return (f"非持牌场景合作方不得{zh}；请使用托管投保页（POST /api/v1/partner/hosted-links）。依据：{RULE}。"
            f" An unlicensed scene partner may not {en}; use the insurer's hosted sales page "
            f"(POST /api/v1/partner/hosted-links). Rule: {RULE_EN}.")
