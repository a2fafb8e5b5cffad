"""The agent workbench (``/console/work``): today's tasks given to the caller and the caller's customers
by what needs attention (storage.workbench), shaped and labelled for the page. Task changes go
through web.activities (scoped, audited, 409 on closed tasks), so the workbench and the API agree."""

from __future__ import annotations

from typing import Any

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Role
from shouhu.operations import activities as ops
from shouhu.storage import workbench as store
from shouhu.web import activities
from shouhu.web.customer_view import label_of
from shouhu.web.shaping import shape
from shouhu.web.state import AppState

SNOOZE_DAYS = (1, 3, 7)


def _reasons(row: dict[str, Any], lang: str) -> list[str]:
    zh = lang == "zh"
    out = []
    if row.get("lapse_probability") is not None and float(row["lapse_probability"]) >= 0.2:
        out.append(("失效风险" if zh else "Lapse risk") + f" {100 * float(row['lapse_probability']):.0f}%")
    if int(row.get("retention_actions") or 0):
        out.append("建议挽留联系" if zh else "Retention contact advised")
    if float(row.get("total_gap") or 0) > 0:
        out.append(("保障缺口" if zh else "Protection gap") + f" {float(row['total_gap']) / 10_000:,.0f}"
                   + ("万元" if zh else "0k CNY"))
    if row.get("tier") in ("platinum", "gold"):
        out.append((row.get("tier_zh") if zh else row.get("tier_en")) or "")
    if int(row.get("tasks_due") or 0):
        out.append(("今日待办" if zh else "Tasks due") + f" {int(row['tasks_due'])}")
    return out


def my_customers(state: AppState, principal: Principal, *, limit: int = 20, offset: int = 0, lang: str = "zh"
                 ) -> dict[str, Any]:
    """An agent: their book; anyone else: the customers of their scope given to them (pod or task)."""
    personal = None if principal.role is Role.AGENT else (principal.user_id, principal.staff_id)
    rows = store.my_customers(state.engine, row_rule(principal), activities.today(), limit=limit + 1, offset=offset,
                              personal=personal)
    items = []
    for r in rows[:limit]:
        item = shape(principal, r, state.cipher)
        item.pop("revealable", None)
        item["tier_label"] = (r.get("tier_zh") if lang == "zh" else r.get("tier_en")) or "—"
        item["lifecycle_label"] = label_of("lifecycle_stage", r.get("lifecycle_stage"), lang)
        item["attention"] = round(float(r["attention"] or 0), 1)
        item["reasons"] = _reasons(r, lang)
        items.append(item)
    return {"items": items, "count": len(items), "offset": offset, "limit": limit,
            "next_offset": offset + limit if len(rows) > limit else None}


def today_tasks(state: AppState, principal: Principal, lang: str = "zh", limit: int = 100) -> dict[str, Any]:
    """Tasks given to the caller that are due today or overdue (open, or snoozed until today)."""
    return activities.list_tasks(state, principal, view="today", mine=True, limit=limit, lang=lang)


def outcomes(lang: str) -> list[tuple[str, str]]:
    return [(o.value, o.label(lang)) for o in ops.Outcome]
