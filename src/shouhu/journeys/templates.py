"""Message templates: ``{{ name }}`` placeholders filled from a fixed list of variables (pure functions).

- A placeholder is ``{{ name }}`` (spaces optional), ``name`` matching ``[a-z_][a-z0-9_]*``. No expressions,
  no filters, no attribute access, no code: an approver can read a template in full, which is why this
  is not Jinja. ``check_template`` reports anything else between ``{{ }}`` as malformed.
- ``render``: every placeholder needs a value (a missing or None value raises InvalidInput naming it).
  Values are ``str()``-ed, except: dates and datetimes → ISO 8601; floats and Decimals → two decimals with
  thousands separators (``12,345.00``, ``12.50``). Integers stay as they are (``14``).
- ``ALLOWED_VARIABLES``: what a journey can fill, with zh/en labels and sample values for previews.
- ``check_template``: the problems that keep a template from being submitted, in English.
- ``preview``: a template rendered with the sample values of a locale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from shouhu.errors import InvalidInput

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
LOCALES = ("zh-CN", "en")
SMS_MAX = 500
OPT_OUT = re.compile(r"退订|\bSTOP\b", re.IGNORECASE)


class Variable(NamedTuple):
    label_zh: str
    label_en: str
    sample: str  # sample value for zh-CN previews
    sample_en: str | None = None  # for en previews; None: the same as ``sample``


ALLOWED_VARIABLES: dict[str, Variable] = {
    "customer_name": Variable("客户姓名（脱敏）", "Customer name (masked)", "张*"),
    "agent_name": Variable("服务人员", "Agent", "李经理", "Manager Li"),
    "policy_no": Variable("保单号", "Policy number", "P2024100012345678"),
    "product_name": Variable("产品名称", "Product", "守护终身重疾险", "Shouhu Lifetime Critical Illness"),
    "premium_due_date": Variable("应缴日期", "Premium due date", "2026-12-20"),
    "premium_amount": Variable("应缴保费", "Premium due", "12,345.00"),
    "grace_end_date": Variable("宽限期截止日", "End of the grace period", "2027-02-18"),
    "days_to_due": Variable("距应缴日天数", "Days to the due date", "14"),
    "birthday": Variable("生日", "Birthday", "12-07"),
    "journey_name": Variable("旅程名称", "Journey", "缴费前关怀", "Before the premium is due"),
    "content_title": Variable("内容标题", "Content title", "如何设置自动扣款", "How to set up automatic payment"),
    "content_url": Variable("内容链接", "Content link", "https://example.com/h5/help/autopay"),
    "unsubscribe_hint": Variable("退订提示", "Opt-out hint", "回复TD退订", "Reply STOP to opt out"),
}


def variables_of(text: str) -> list[str]:
    """Placeholder names in order of first appearance, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


def _format(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal) and value.is_finite():
        return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}"  # separators appear only from 1,000 on
    return str(value)


def render(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with every placeholder replaced; InvalidInput (field = the variable) when one has no value."""

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if values.get(name) is None:
            raise InvalidInput(f"template variable {name!r} has no value (模板变量缺少取值)", field=name)
        return _format(values[name])

    return PLACEHOLDER.sub(fill, text or "")


def _malformed(text: str) -> list[str]:
    """``{{ ... }}`` (or a lone ``{{`` / ``}}``) that is not a valid placeholder."""
    rest = PLACEHOLDER.sub("", text or "")
    return list(dict.fromkeys(re.findall(r"\{\{[^{}]{0,40}\}\}|\{\{|\}\}", rest)))


def check_template(channel: str, kind: str, subject: str, body: str, locale: str) -> list[str]:
    """Problems that keep a template from being submitted (an empty list: fine)."""
    subject, body = subject or "", body or ""
    problems = []
    if locale not in LOCALES:
        problems.append(f"locale {locale!r} is not one of {', '.join(LOCALES)}")
    if not body.strip():
        problems.append("the body is empty")
    unknown = [v for v in variables_of(f"{subject}\n{body}") if v not in ALLOWED_VARIABLES]
    if unknown:
        problems.append(f"unknown variables: {', '.join(unknown)} (allowed: {', '.join(ALLOWED_VARIABLES)})")
    bad = _malformed(f"{subject}\n{body}")
    if bad:
        problems.append(f"malformed placeholders: {', '.join(bad)} (write {{{{ name }}}} with a-z, 0-9 and _)")
    if channel == "sms" and len(body) > SMS_MAX:
        problems.append(f"an SMS body is at most {SMS_MAX} characters ({len(body)} here)")
    if channel == "sms" and kind == "marketing" and "unsubscribe_hint" not in variables_of(body) \
            and not OPT_OUT.search(body):
        problems.append("a marketing SMS must tell how to opt out ({{ unsubscribe_hint }}, 退订 or STOP)")
    return problems


def samples(locale: str = "zh-CN") -> dict[str, str]:
    """The sample value of every allowed variable in ``locale``."""
    if locale not in LOCALES:
        raise InvalidInput(f"locale {locale!r} is not one of {', '.join(LOCALES)}", field="locale")
    en = locale == "en"
    return {name: v.sample_en if en and v.sample_en is not None else v.sample for name, v in ALLOWED_VARIABLES.items()}


def preview(subject: str, body: str, locale: str = "zh-CN") -> tuple[str, str]:
    """(subject, body) rendered with the sample values of ``locale``; an unknown variable raises InvalidInput."""
    values = samples(locale)
    return render(subject, values), render(body, values)
