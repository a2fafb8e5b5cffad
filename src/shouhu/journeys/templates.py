"""Message templates: ``{{ name }}`` placeholders filled from a fixed list of variables (pure functions).

No expressions, no attribute access, no code: a template is text an approver can read in full, which
is why this is not Jinja. Every placeholder must have a value when rendering (InvalidInput names the
missing one); numbers of 1,000 or more get thousands separators and two decimals, dates are ISO.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from shouhu.errors import InvalidInput

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
OPT_OUT = ("退订", "STOP")
SMS_MAX = 500

ALLOWED_VARIABLES: dict[str, tuple[str, str, str]] = {  # name: (zh label, en label, sample)
    "customer_name": ("客户姓名（脱敏）", "Customer name (masked)", "张*"),
    "agent_name": ("服务人员", "Agent", "李经理"),
    "policy_no": ("保单号", "Policy number", "P2024100012345678"),
    "product_name": ("产品名称", "Product", "守护终身重疾险"),
    "premium_due_date": ("应缴日期", "Premium due date", "2026-12-20"),
    "premium_amount": ("应缴保费", "Premium due", "12,345.00"),
    "grace_end_date": ("宽限期截止日", "End of the grace period", "2027-02-18"),
    "days_to_due": ("距应缴日天数", "Days to the due date", "14"),
    "birthday": ("生日", "Birthday", "12-07"),
    "journey_name": ("旅程名称", "Journey", "缴费前关怀"),
    "content_title": ("内容标题", "Content title", "如何设置自动扣款"),
    "content_url": ("内容链接", "Content link", "https://example.com/h5/help/autopay"),
    "unsubscribe_hint": ("退订提示", "Opt-out hint", "回复TD退订"),
}


def variables_of(text: str) -> list[str]:
    """Placeholder names in order of first appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def _format(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1000):
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.2f}"
    return str(value)


def render(text: str, values: Mapping[str, Any]) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values or values[name] is None:
            raise InvalidInput(f"template variable {name!r} has no value", field=name)
        return _format(values[name])

    return PLACEHOLDER.sub(fill, text or "")


def check_template(channel: str, kind: str, subject: str, body: str, locale: str) -> list[str]:
    """Problems that stop a template from being submitted (empty list: fine)."""
    problems = []
    if locale not in ("zh-CN", "en"):
        problems.append(f"locale {locale!r} is not zh-CN or en")
    if not (body or "").strip():
        problems.append("the body is empty")
    unknown = [v for v in variables_of(f"{subject}\n{body}") if v not in ALLOWED_VARIABLES]
    if unknown:
        problems.append(f"unknown variables: {', '.join(unknown)} (allowed: {', '.join(ALLOWED_VARIABLES)})")
    if channel == "sms" and len(body or "") > SMS_MAX:
        problems.append(f"an SMS body is at most {SMS_MAX} characters ({len(body)} here)")
    if channel == "sms" and kind == "marketing" and "unsubscribe_hint" not in variables_of(body) \
            and not any(w in (body or "") for w in OPT_OUT):
        problems.append("a marketing SMS must tell how to opt out ({{ unsubscribe_hint }}, 退订 or STOP)")
    return problems


def preview(subject: str, body: str) -> tuple[str, str]:
    """The texts with the sample values."""
    samples = {k: v[2] for k, v in ALLOWED_VARIABLES.items()}
    return render(subject, samples), render(body, samples)
