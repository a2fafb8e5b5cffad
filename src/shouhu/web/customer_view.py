"""What the dashboard, the task list and the customer 360 page show, shared by the API and the console.

Builds on web.customers (search, the 360 parts, reveal, export) and storage.overview (aggregates and
tasks), always within the caller's row rule. Adds what a person needs to read the data: codes
translated with the model's vocabulary labels (zh or en), lifecycle stages in funnel order, the
household as a graph (members outside the scope appear only as a role), cover against need per
cover type, lapse scores with reasons where the lapse model has run, and golden-record provenance
(which channel each field came from; never the value).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shouhu.access.policy import Principal, row_rule
from shouhu.customer360.lifecycle import LifecycleStage, LifeStage
from shouhu.model.vocab import (
    Channel,
    CoverageType,
    Gender,
    LabelledEnum,
    MaritalStatus,
    PaymentFrequency,
    PolicyStatus,
    ProductType,
    Relation,
    TouchpointType,
)
from shouhu.scoring.nba import ACTION_TYPES
from shouhu.scoring.value import TIERS
from shouhu.storage import customers as store
from shouhu.storage import overview
from shouhu.web import customers
from shouhu.web.shaping import shape
from shouhu.web.state import AppState

Pair = tuple[str, str]

_VOCABS: dict[str, type[LabelledEnum]] = {
    "channel": Channel, "gender": Gender, "marital_status": MaritalStatus, "product_type": ProductType,
    "need": CoverageType, "policy_status": PolicyStatus, "payment_frequency": PaymentFrequency,
    "touchpoint": TouchpointType, "lifecycle_stage": LifecycleStage, "life_stage": LifeStage,
}
_EXTRA: dict[str, dict[str, Pair]] = {
    "household_role": {"head": ("户主", "Head of household"),
                       **{r.value: (r.zh, r.en) for r in Relation if r is not Relation.SELF}},
    "action": {a.code: (a.label_zh, a.label_en) for a in ACTION_TYPES},
    "action_kind": {"service": ("服务", "Service"), "sales": ("销售", "Sales")},
    "tier": {t.code: (t.label_zh, t.label_en) for t in TIERS},
    "provenance_rule": {"most_trusted": ("最可信来源", "Most trusted source"),
                        "most_recent": ("最近更新", "Most recent"), "most_complete": ("最完整", "Most complete")},
    "gap_band": {"lt_50k": ("5万以下", "Under 50k"), "50k_200k": ("5–20万", "50k–200k"),
                 "200k_500k": ("20–50万", "200k–500k"), "500k_1m": ("50–100万", "500k–1m"),
                 "ge_1m": ("100万以上", "1m and over")},
    "field": {"name": ("姓名", "Name"), "phone": ("手机号", "Phone"), "id_number": ("证件号", "ID number"),
              "email": ("电子邮箱", "Email"), "address": ("地址", "Address"),
              "annual_income": ("年收入", "Annual income"), "claims_paid": ("已赔付金额", "Claims paid"),
              "birth_date": ("出生日期", "Birth date"), "gender": ("性别", "Gender"), "city": ("城市", "City"),
              "province": ("省份", "Province"), "occupation": ("职业", "Occupation"),
              "occupation_class": ("职业类别", "Occupation class"),
              "marital_status": ("婚姻状况", "Marital status")},
    "unknown": {"unknown": ("未知", "Unknown")},
}
NEEDS = overview.NEEDS
HOLDER_FIELDS = ("name", "phone", "id_number", "email", "address", "annual_income")


def label_of(kind: str, code: Any, lang: str) -> str:
    """The zh/en label of a code (the code itself when it has none; an em dash for nothing)."""
    if code is None or code == "":
        return "—"
    text = str(code)
    vocab = _VOCABS.get(kind)
    if vocab is not None:
        try:
            return vocab(text).label(lang)
        except ValueError:
            pass
    pair = _EXTRA.get(kind, {}).get(text) or _EXTRA["unknown"].get(text)
    return text if pair is None else (pair[0] if lang == "zh" else pair[1])


def labeller(lang: str) -> Callable[[str, Any], str]:
    return lambda kind, code: label_of(kind, code, lang)


# --- dashboard -----------------------------------------------------------------------------------


def dashboard(state: AppState, principal: Principal, lang: str = "zh") -> dict[str, Any]:
    """The dashboard's figures within the caller's scope, ordered and labelled for charts."""
    raw = overview.overview(state.engine, row_rule(principal))
    lifecycle = [{"code": s.value, "label": s.label(lang), "customers": int(raw["lifecycle"].get(s.value, 0))}
                 for s in LifecycleStage]
    known = {s.value for s in LifecycleStage}
    lifecycle += [{"code": code, "label": label_of("lifecycle_stage", code, lang), "customers": int(n)}
                  for code, n in sorted(raw["lifecycle"].items()) if code not in known]
    channels = [{"code": code, "label": label_of("channel", code, lang), "customers": int(n)}
                for code, n in sorted(raw["channel_mix"].items(), key=lambda kv: (-kv[1], kv[0]))]
    bands = [{"code": code, "label": label_of("gap_band", code, lang)} for code, _, _ in overview.GAP_BANDS]
    gaps = [{"need": need, "label": label_of("need", need, lang), "customers_with_gap": n,
             "bands": raw["gap_bands"].get(need, {})} for need, n in raw["customers_with_gap"].items()]
    tier_order = [t.code for t in TIERS]
    tiers = []
    for code, n in sorted(raw["value_tiers"].items(),
                          key=lambda kv: tier_order.index(kv[0]) if kv[0] in tier_order else 99):
        pair = raw["tier_labels"].get(code)
        tiers.append({"code": code, "label": (pair[0] if lang == "zh" else pair[1]) if pair
                      else label_of("tier", code, lang), "customers": int(n)})
    persistency = {str(month): figures for month, figures in raw["persistency"].items()}
    return {"customers": raw["customers"], "in_force_premium": raw["in_force_premium"],
            "policies_in_force": raw["policies_in_force"], "policies_total": raw["policies_total"],
            "policies_lapsed": raw["policies_lapsed"], "in_force_ratio": raw["in_force_ratio"],
            "persistency": persistency, "lifecycle": lifecycle, "channel_mix": channels, "gaps": gaps,
            "gap_bands": bands, "value_tiers": tiers, "lang": lang}


# --- tasks ---------------------------------------------------------------------------------------


def tasks(state: AppState, principal: Principal, *, action: str | None = None, kind: str | None = None,
          limit: int = 50, offset: int = 0, lang: str = "zh") -> dict[str, Any]:
    """Next best actions across the caller's customers (an agent: their own book), best first."""
    rule = row_rule(principal)
    rows = overview.tasks(state.engine, rule, action=action, kind=kind, limit=limit + 1, offset=offset)
    more = len(rows) > limit
    items = []
    for r in rows[:limit]:
        item = shape(principal, r, state.cipher)
        item.pop("revealable", None)
        item["action_label"] = label_of("action", r["action"], lang)
        item["kind_label"] = label_of("action_kind", r["kind"], lang)
        item["reason"] = r["reason_zh"] if lang == "zh" else r["reason_en"]
        item["lifecycle_label"] = label_of("lifecycle_stage", r.get("lifecycle_stage"), lang)
        items.append(item)
    counts = overview.task_counts(state.engine, rule)
    summary = [{"action": a.code, "label": label_of("action", a.code, lang), "kind": a.kind,
                "count": counts.get(a.code, 0)} for a in ACTION_TYPES]
    return {"items": items, "count": len(items), "offset": offset, "limit": limit,
            "next_offset": offset + limit if more else None, "summary": summary}


# --- customer 360 --------------------------------------------------------------------------------


def _household_graph(members: list[dict[str, Any]], customer_id: str, lang: str) -> dict[str, Any]:
    """ECharts graph data: a node per member (outside the scope: the role only), links to the head."""
    nodes, head = [], None
    for i, m in enumerate(members):
        role = m.get("role")
        role_label = label_of("household_role", role, lang)
        if m.get("visible"):
            node = {"id": f"m{i}", "customer_id": m["customer_id"], "name": m.get("name") or "",
                    "role": role, "role_label": role_label, "visible": True, "age": m.get("age"),
                    "current": m["customer_id"] == customer_id}
        else:
            node = {"id": f"m{i}", "customer_id": None, "name": "", "role": role, "role_label": role_label,
                    "visible": False, "age": None, "current": False}
        nodes.append(node)
        if role == "head" and head is None:
            head = node["id"]
    if head is None and nodes:
        head = next((n["id"] for n in nodes if n["current"]), nodes[0]["id"])
    links = [{"source": head, "target": n["id"], "label": n["role_label"]} for n in nodes if n["id"] != head]
    return {"nodes": nodes, "links": links}


def household(state: AppState, principal: Principal, customer_id: str, lang: str = "zh") -> dict[str, Any]:
    """The household members (outside the scope: the role only) and its graph; 404 outside the scope."""
    customers.record_or_404(state, principal, customer_id)
    members = store.household(state.engine, row_rule(principal), customer_id)
    shaped = [shape(principal, m, state.cipher) if m.get("visible") else m for m in members]
    return {"members": shaped, "graph": _household_graph(shaped, customer_id, lang)}


def _cover(customer: dict[str, Any], gap: dict[str, Any] | None, lang: str) -> list[dict[str, Any]]:
    """Per cover type: sum assured in force, the assessed need and the gap (None when not assessed)."""
    out = []
    for need in NEEDS:
        cover = customer.get(f"sa_{need}")
        out.append({"need": need, "label": label_of("need", need, lang),
                    "cover": float(cover) if cover is not None else 0.0,
                    "need_amount": None if gap is None or gap.get(f"need_{need}") is None
                    else float(gap[f"need_{need}"]),
                    "gap": None if gap is None or gap.get(f"gap_{need}") is None else float(gap[f"gap_{need}"])})
    return out


def _lapse(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    policies = []
    for r in sorted(rows, key=lambda r: (-float(r["probability"]), str(r["policy_no"]))):
        try:
            reasons = json.loads(r["reasons"]) if r.get("reasons") else []
        except ValueError:
            reasons = []
        policies.append({"policy_no": r["policy_no"], "probability": float(r["probability"]),
                         "decile": r.get("decile"), "reasons": reasons, "model": r.get("model"),
                         "snapshot_date": str(r["snapshot_date"]) if r.get("snapshot_date") else None})
    return {"max_probability": policies[0]["probability"], "policies": policies}


def view(state: AppState, principal: Principal, customer_id: str, lang: str = "zh") -> dict[str, Any]:
    """Everything the customer 360 page shows (404 outside the caller's scope), labelled for ``lang``."""
    with store.reading(state.engine):  # one connection for the page's dozen reads
        return _view(state, principal, customer_id, lang)


def _view(state: AppState, principal: Principal, customer_id: str, lang: str) -> dict[str, Any]:
    base = customers.view_360(state, principal, customer_id)  # 404 when out of scope
    rule = row_rule(principal)
    c = base["customer"]
    labels = {"gender": label_of("gender", c.get("gender"), lang),
              "marital_status": label_of("marital_status", c.get("marital_status"), lang),
              "lifecycle_stage": label_of("lifecycle_stage", c.get("lifecycle_stage"), lang),
              "life_stage": label_of("life_stage", c.get("life_stage"), lang),
              "household_role": label_of("household_role", c.get("household_role"), lang),
              "value_tier": (c.get("value_tier_zh") if lang == "zh" else c.get("value_tier_en")) or "—",
              "channels": [label_of("channel", ch.strip(), lang)
                           for ch in str(c.get("channels") or "").split(",") if ch.strip()]}
    lapse = _lapse(store.rows_for(state.engine, rule, "lapse_score", customer_id))
    by_policy = {p["policy_no"]: p for p in (lapse or {}).get("policies", [])}
    policies = [p | {"status_label": label_of("policy_status", p.get("status"), lang),
                     "product_type_label": label_of("product_type", p.get("product_type"), lang),
                     "payment_frequency_label": label_of("payment_frequency", p.get("payment_frequency"), lang),
                     "lapse_probability": (by_policy.get(p.get("policy_no")) or {}).get("probability")}
                for p in base["policies"]]
    timeline = [e | {"channel_label": label_of("channel", e.get("channel"), lang),
                     "event_label": label_of("touchpoint", e.get("event_type"), lang)} for e in base["timeline"]]
    actions = [a | {"action_label": label_of("action", a.get("action"), lang),
                    "kind_label": label_of("action_kind", a.get("kind"), lang),
                    "product_type_label": label_of("product_type", a.get("product_type"), lang),
                    "reason": a["reason_zh"] if lang == "zh" else a["reason_en"]}
               for a in base["actions"]]
    provenance = [{"field": f, "label": label_of("field", f, lang), "channel": p.get("channel"),
                   "channel_label": label_of("channel", p.get("channel"), lang), "source": p.get("source"),
                   "rule": p.get("rule"), "rule_label": label_of("provenance_rule", p.get("rule"), lang)}
                  for f, p in sorted(store.provenance(state.engine, rule, customer_id).items())]
    persistency = {str(r["month"]): {k: r[k] for k in ("policies", "persisted", "premium_due", "premium_received")}
                   for r in store.rows_for(state.engine, rule, overview.PERSISTENCY_TABLE, customer_id)}
    tags = [{"tag": t["tag"], "label": t["label_zh"] if lang == "zh" else t["label_en"]} for t in base["tags"]]
    agent = base["agent"]
    tier = next((t.code for t in TIERS if t.label_en == c.get("value_tier_en")), None)
    scores = {"customer_value": c.get("customer_value"), "value_tier": tier, "value_tier_label": labels["value_tier"],
              "lapse": lapse, "action_reasons": [a["reason"] for a in actions]}
    return {"customer": c, "labels": labels, "provenance": provenance, "household": base["household"],
            "household_graph": _household_graph(base["household"], customer_id, lang), "policies": policies,
            "cover": _cover(c, base["gap"], lang), "gap": base["gap"], "scores": scores, "actions": actions,
            "timeline": timeline, "tags": tags, "persistency": persistency,
            "agent": None if agent is None else {k: agent.get(k) for k in ("staff_id", "name", "team_name",
                                                                             "branch_name")},
            "lang": lang}
