"""zh-CN first, English available: the language comes from ?lang=, then the ``lang`` cookie, then zh."""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "en")


def pick_lang(query: str | None, cookie: str | None) -> str:
    for value in (query, cookie):
        if value in LANGS:
            return value
    return "zh"


# Console and H5 texts. Keys are English snake_case; each has zh and en.
TEXTS: dict[str, tuple[str, str]] = {
    "app_name": ("守护 · 客户经营平台", "shouhu · customer operations"),
    "login": ("登录", "Sign in"),
    "logout": ("退出", "Sign out"),
    "user_id": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login_failed": ("用户名或密码错误", "Wrong user name or password"),
    "login_form_expired": ("登录页已过期，请重新登录", "The sign-in page expired; please sign in again"),
    "too_many_attempts": ("尝试次数过多，请稍后再试", "Too many attempts; try again later"),
    "dashboard": ("经营看板", "Dashboard"),
    "customers": ("客户", "Customers"),
    "search": ("客户查询", "Customer search"),
    "search_hint": ("姓名、姓氏、拼音首字母、手机尾号4位、手机号或证件号",
                    "Name, surname, pinyin initials, last 4 phone digits, phone or ID number"),
    "identity_review": ("身份复核", "Identity review"),
    "segments": ("客群", "Segments"),
    "data_quality": ("数据质量", "Data quality"),
    "advice": ("需求诊断", "Needs diagnosis"),
    "workbench": ("工作台", "Workbench"),
    "audit": ("审计日志", "Audit log"),
    "users": ("账号管理", "Accounts"),
    "channels": ("渠道协同", "Channels"),
    "profile": ("基本信息", "Profile"),
    "household": ("家庭", "Household"),
    "policies": ("保单", "Policies"),
    "cover_vs_need": ("保障与需求", "Cover versus need"),
    "scores": ("评分", "Scores"),
    "next_best_actions": ("下一步最佳行动", "Next best actions"),
    "timeline": ("触点时间线", "Touchpoint timeline"),
    "reveal": ("查看明文", "Reveal"),
    "reveal_reason": ("查看原因（将记入审计日志）", "Reason (written to the audit log)"),
    "forbidden": ("无权访问", "Forbidden"),
    "not_found": ("未找到", "Not found"),
    "err_not_found_hint": ("您要找的页面或记录不存在，或不在您的权限范围内。",
                           "The page or record does not exist, or is outside your scope."),
    "err_forbidden_hint": ("您的账号没有访问此页面的权限。", "Your account may not open this page."),
    "err_throttled_hint": ("尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    "no_results": ("没有找到客户", "No customer found"),
    "customers_total": ("客户数", "Customers"),
    "in_force_premium": ("有效保单年化保费", "In-force annualised premium"),
    "in_force_ratio": ("保单在保率", "Policies in force"),
    "lifecycle_funnel": ("生命周期漏斗", "Lifecycle funnel"),
    "channel_mix": ("渠道构成", "Channel mix"),
    "gap_distribution": ("保障缺口分布", "Protection gaps"),
    "value_tiers": ("客户价值分层", "Customer value tiers"),
    "language": ("English", "中文"),
    "h5_title": ("守护 · 我的保障", "shouhu · my cover"),
    "phone": ("手机号", "Phone"),
    "send_code": ("获取验证码", "Send code"),
    "code": ("验证码", "Code"),
    "code_sent": ("验证码已发送", "Code sent"),
    "code_wrong": ("验证码错误或已过期", "Wrong or expired code"),
}


def register(texts: dict[str, tuple[str, str]]) -> None:
    """Add a page module's texts (call at import time; a key defined twice must agree)."""
    for key, pair in texts.items():
        if TEXTS.get(key, pair) != pair:
            raise ValueError(f"text {key!r} is defined twice with different wording")
        TEXTS[key] = pair


def translator(lang: str) -> Any:
    index = 0 if lang == "zh" else 1

    def t(key: str) -> str:
        pair = TEXTS.get(key)
        return key if pair is None else pair[index]

    return t


def label(pair: tuple[str, str] | list[str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]
