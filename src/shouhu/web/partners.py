"""What the partner console pages show and do (routes: ``web.console.partners``): partners, keys, calls,
policies and webhook deliveries shaped with zh/en labels; registering, settings, status and keys through
``partners.registry``, each change audited (never a key's secret). User guide: docs/partners.md ("Console")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import Principal
from shouhu.errors import InvalidInput
from shouhu.partners import registry, webhooks
from shouhu.partners.licence import allowed_scopes
from shouhu.partners.products import products
from shouhu.storage import partners as store
from shouhu.web import display, i18n
from shouhu.web.auth import record
from shouhu.web.state import AppState

Pair = tuple[str, str]
SCENES: dict[str, Pair] = {"ecommerce": ("电商", "E-commerce"), "travel": ("出行", "Travel"),
                           "health": ("健康医疗", "Health")}
STATUSES: dict[str, Pair] = {"active": ("正常", "Active"), "suspended": ("已暂停", "Suspended")}
KEY_STATES: dict[str, Pair] = {"live": ("有效", "Live"), "expiring": ("轮换中，到期停用", "Rotated, expiring"),
                               "expired": ("已过期", "Expired"), "revoked": ("已吊销", "Revoked")}
POLICY_STATUSES: dict[str, Pair] = {"in_force": ("有效", "In force"), "cancelled": ("已退保", "Cancelled")}
VIA: dict[str, Pair] = {"api": ("接口", "API"), "hosted": ("托管投保页", "Hosted page")}
DELIVERY_STATES: dict[str, Pair] = {"pending": ("待发送/重试中", "Pending"), "delivered": ("已送达", "Delivered"),
                                    "dead": ("已放弃", "Given up")}
CLASSES: dict[str, Pair] = {"2xx": ("成功 2xx", "Success 2xx"), "3xx": ("重定向 3xx", "Redirect 3xx"),
                            "4xx": ("调用方错误 4xx", "Caller error 4xx"),
                            "5xx": ("服务端错误 5xx", "Server error 5xx")}
# Why a field was refused, in Chinese (the English page shows the domain's own message).
FIELD_ERRORS_ZH: dict[str, str] = {
    "partner_id": "编码须为2至32位小写字母、数字、- 或 _，且不能与已登记的合作方重复",
    "name": "名称须为1至200个字符", "licence": "请选择许可类型",
    "licence_no": "持牌保险中介机构须填写许可证编号",
    "products": "所选产品须在可售清单内，且其场景也须选中", "scenes": "请从可选场景中选择",
    "frame_origins": "嵌入来源须为 https://主机[:端口]，每行一个（本机调试可用 http://localhost）",
    "rate_per_minute": "每分钟限流须为1至100000之间的整数", "status": "状态只能是正常或已暂停",
    "confirm": "请勾选确认后再提交", "mode": "生产密钥须在合作方通过沙箱联调验收并上线后签发",
    "scopes": "所选权限超出该合作方许可类型允许的范围", "key_id": "没有这个有效密钥",
}

display.AUDIT_ACTIONS.update({
    "partner_created": ("登记合作方", "Partner registered"),
    "partner_updated": ("修改合作方设置", "Partner settings changed"),
    "partner_status": ("合作方状态变更", "Partner status changed"),
    "partner_key_issued": ("签发合作方密钥", "Partner API key issued"),
    "partner_key_rotated": ("轮换合作方密钥", "Partner API key rotated"),
    "partner_key_revoked": ("吊销合作方密钥", "Partner API key revoked"),
})
display.TARGET_KINDS.update({"partner": ("合作方", "partner"), "partner_key": ("合作方密钥", "partner API key")})
for _key, _pair in {"licence": ("许可类型", "licence"), "licence_no": ("许可证编号", "licence number"),
                    "mode": ("模式", "mode"), "scopes": ("权限", "scopes"), "products": ("产品", "products"),
                    "scenes": ("场景", "scenes"), "frame_origins": ("嵌入来源", "frame origins"),
                    "rate_per_minute": ("每分钟限流", "rate per minute"), "key_id": ("密钥编号", "key"),
                    "new_key_id": ("新密钥编号", "new key"), "old_key_expires_at": ("旧密钥到期", "old key expires"),
                    "partner_id": ("合作方", "partner")}.items():
    display.DETAIL_KEYS.setdefault(_key, _pair)  # never reword a key another page owns
for _key, _pair in {**registry.LICENCES, **registry.MODES, "suspended": STATUSES["suspended"]}.items():
    display.DETAIL_VALUES.setdefault(_key, _pair)


def label(pairs: Mapping[str, Pair], code: Any, lang: str) -> str:
    pair = pairs.get(str(code))
    return str(code) if pair is None else i18n.label(pair, lang)


def product_label(code: str, lang: str) -> str:
    found = products().get(code)
    return code if found is None else f"{code} {found.name_zh if lang == 'zh' else found.name_en}"


def choices(lang: str) -> dict[str, list[tuple[str, str]]]:
    """The form's choices: licences, products (labelled with their scene), scenes, scopes, modes."""
    shelf = products()
    return {"licences": [(k, i18n.label(v, lang)) for k, v in registry.LICENCES.items()],
            "products": [(c, f"{product_label(c, lang)} · {label(SCENES, p.scene, lang)}")
                         for c, p in sorted(shelf.items())],
            "scenes": [(s, label(SCENES, s, lang)) for s in sorted({p.scene for p in shelf.values()})],
            "scopes": [(k, i18n.label(v, lang)) for k, v in registry.SCOPES.items()],
            "modes": [(k, i18n.label(v, lang)) for k, v in registry.MODES.items()]}


def field_error(e: InvalidInput | registry.Forbidden, lang: str) -> tuple[str, str]:
    """(field, message in the page's language) of a refused form."""
    field = str(e.data.get("field") or "")
    if lang == "zh" and field in FIELD_ERRORS_ZH:
        return field, FIELD_ERRORS_ZH[field]
    return field, e.message


# --- reading -------------------------------------------------------------------------------------------

def key_state(row: Mapping[str, Any], now: str) -> str:
    if row["revoked_at"]:
        return "revoked"
    if row["expires_at"]:
        return "expired" if row["expires_at"] <= now else "expiring"
    return "live"


def _keys(rows: Iterable[Mapping[str, Any]], lang: str, now: str) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        shown = registry.public_key_row(row)
        state = key_state(row, now)
        prefix = "shk_test" if row["mode"] == "sandbox" else "shk_live"
        out.append(shown | {"prefix": f"{prefix}_{row['key_id']}_…", "state": state,
                            "state_label": label(KEY_STATES, state, lang),
                            "mode_label": label(registry.MODES, row["mode"], lang),
                            "scope_labels": [label(registry.SCOPES, s, lang) for s in row["scopes"]],
                            "usable": state in ("live", "expiring")})
    return out


def shaped(p: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """A partner row with its labels."""
    return dict(p) | {"licence_label": label(registry.LICENCES, p["licence"], lang),
                      "status_label": label(STATUSES, p["status"], lang),
                      "mode_label": label(registry.MODES, p["mode"], lang),
                      "product_labels": [product_label(c, lang) for c in p["products"]],
                      "scene_labels": [label(SCENES, s, lang) for s in p["scenes"]]}


def listing(state: AppState, lang: str) -> list[dict[str, Any]]:
    """Every partner with its live key count and modes, and the time of its latest call."""
    now = registry.stamp(registry.now_utc())
    last = store.last_request_at(state.engine)
    out = []
    for p in store.list_partners(state.engine):
        keys = [k for k in _keys(store.keys_of(state.engine, p["partner_id"]), lang, now) if k["usable"]]
        modes = sorted({k["mode"] for k in keys})
        out.append(shaped(p, lang) | {"key_count": len(keys), "last_call": last.get(p["partner_id"]),
                                      "key_modes": [label(registry.MODES, m, lang) for m in modes]})
    return out


def partner_or_404(state: AppState, partner_id: str) -> dict[str, Any]:
    found = store.get_partner(state.engine, partner_id)
    if found is None:
        raise HTTPException(404, f"no partner {partner_id}")
    return found


def _status_classes(counts: Mapping[int, int]) -> dict[str, int]:
    out = dict.fromkeys(CLASSES, 0)
    for code, n in counts.items():
        name = f"{code // 100}xx"
        out[name] = out.get(name, 0) + n
    return out


def requests(state: AppState, partner_id: str, lang: str) -> dict[str, Any]:
    """The latest 50 calls, and the calls of the last 24 hours by status class."""
    since = registry.stamp(registry.now_utc() - timedelta(hours=24))
    rows = [r | {"mode_label": label(registry.MODES, r["mode"], lang)}
            for r in store.recent_requests(state.engine, partner_id, 50)]
    classes = _status_classes(store.status_counts(state.engine, partner_id, since))
    return {"rows": rows, "classes": [(c, label(CLASSES, c, lang), n) for c, n in classes.items()]}


def yuan(fen: Any) -> str:
    return "" if fen is None else f"{int(fen) / 100:,.2f}"


def policies(state: AppState, partner_id: str, lang: str) -> list[dict[str, Any]]:
    """Policies sold through the partner, newest first: no applicant data, only numbers and codes."""
    return [{"policy_no": r["policy_no"], "product": product_label(r["product_code"], lang),
             "order_no": r["partner_order_no"], "status": r["status"],
             "status_label": label(POLICY_STATUSES, r["status"], lang), "premium": yuan(r["premium_fen"]),
             "via": label(VIA, r["via"], lang), "mode_label": label(registry.MODES, r["mode"], lang),
             "created": r["bound_at"]} for r in store.list_policies(state.engine, partner_id, limit=50)]


def hooks(state: AppState, partner_id: str, lang: str) -> dict[str, Any]:
    """Webhook endpoints (never their secrets) and the latest 30 deliveries."""
    deliveries = [d | {"state_label": label(DELIVERY_STATES, d["state"], lang),
                       "type_label": label(webhooks.EVENT_TYPES, d["type"], lang),
                       "mode_label": label(registry.MODES, d["mode"], lang)}
                  for d in webhooks.deliveries(state.engine, partner_id, limit=30)]
    return {"endpoints": webhooks.list_endpoints(state.engine, partner_id), "deliveries": deliveries}


def key_options(p: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """What the issue-key form offers: the scopes the licence allows; production once the partner is live."""
    allowed = allowed_scopes(p["licence"])
    modes = ["sandbox", "production"] if p["mode"] == "production" else ["sandbox"]
    return {"scopes": [(s, label(registry.SCOPES, s, lang)) for s in registry.SCOPES if s in allowed],
            "modes": [(m, label(registry.MODES, m, lang)) for m in modes]}


def detail(state: AppState, partner_id: str, lang: str) -> dict[str, Any]:
    p = partner_or_404(state, partner_id)
    now = registry.stamp(registry.now_utc())
    return {"p": shaped(p, lang), "keys": _keys(reversed(store.keys_of(state.engine, partner_id)), lang, now),
            "calls": requests(state, partner_id, lang), "policies": policies(state, partner_id, lang),
            "hooks": hooks(state, partner_id, lang), "key_options": key_options(p, lang)}


# --- changing (each audited) -----------------------------------------------------------------------------

def origins(text: str) -> list[str]:
    return [o for o in re.split(r"[\s,]+", text or "") if o]


def rate(text: str) -> int:
    value = (text or "").strip()
    if not re.fullmatch(r"\d{1,6}", value):
        raise InvalidInput("rate_per_minute: a whole number from 1 to 100000", field="rate_per_minute")
    return int(value)


def create(state: AppState, principal: Principal, request: Request, form: Mapping[str, Any]) -> dict[str, Any]:
    row = registry.create_partner(
        state.engine, str(form["partner_id"]).strip(), str(form["name"]), str(form["licence"]),
        licence_no=str(form["licence_no"]), product_codes=form["products"], scenes=form["scenes"],
        frame_origins=origins(str(form["frame_origins"])), rate_per_minute=rate(str(form["rate_per_minute"])))
    record(state, principal, "partner_created", "partner", row["partner_id"], request, name=row["name"],
           licence=row["licence"], licence_no=row["licence_no"], products=row["products"], scenes=row["scenes"],
           frame_origins=row["frame_origins"], rate_per_minute=row["rate_per_minute"])
    return row


_SETTINGS = ("products", "scenes", "frame_origins", "rate_per_minute")


def change_settings(state: AppState, principal: Principal, request: Request, partner_id: str,
                    form: Mapping[str, Any]) -> dict[str, Any]:
    before = partner_or_404(state, partner_id)
    after = registry.update(state.engine, partner_id, product_codes=form["products"], scenes=form["scenes"],
                            frame_origins=origins(str(form["frame_origins"])),
                            rate_per_minute=rate(str(form["rate_per_minute"])))
    changed = [k for k in _SETTINGS if before[k] != after[k]]
    if changed:
        record(state, principal, "partner_updated", "partner", partner_id, request,
               before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return after


def change_status(state: AppState, principal: Principal, request: Request, partner_id: str, status: str,
                  confirmed: bool) -> dict[str, Any]:
    before = partner_or_404(state, partner_id)
    if not confirmed:
        raise InvalidInput("confirm: tick the box to confirm the change", field="confirm")
    after = registry.set_status(state.engine, partner_id, status)
    if before["status"] != after["status"]:
        record(state, principal, "partner_status", "partner", partner_id, request, before=before["status"],
               after=after["status"])
    return after


def issue(state: AppState, principal: Principal, request: Request, partner_id: str, mode: str,
          scopes: list[str]) -> dict[str, Any]:
    partner_or_404(state, partner_id)
    made = registry.issue_key(state.engine, partner_id, mode, scopes or None)
    record(state, principal, "partner_key_issued", "partner_key", made["key_id"], request, partner_id=partner_id,
           mode=made["mode"], scopes=made["scopes"])
    return made


def own_key(state: AppState, partner_id: str, key_id: str) -> dict[str, Any]:
    found = store.get_key(state.engine, key_id)
    if found is None or found["partner_id"] != partner_id:
        raise HTTPException(404, f"no key {key_id} of partner {partner_id}")
    return found


def rotate(state: AppState, principal: Principal, request: Request, partner_id: str, key_id: str) -> dict[str, Any]:
    own_key(state, partner_id, key_id)
    made = registry.rotate_key(state.engine, key_id)
    record(state, principal, "partner_key_rotated", "partner_key", key_id, request, partner_id=partner_id,
           new_key_id=made["key_id"], old_key_expires_at=made["old_key_expires_at"])
    return made


def revoke(state: AppState, principal: Principal, request: Request, partner_id: str, key_id: str) -> None:
    found = own_key(state, partner_id, key_id)
    if found["revoked_at"]:
        raise InvalidInput(f"key_id: {key_id} is revoked already", field="key_id")
    registry.revoke_key(state.engine, key_id)
    record(state, principal, "partner_key_revoked", "partner_key", key_id, request, partner_id=partner_id,
           mode=found["mode"])
