"""Console pages for the partner registry (issue 18): the list (admin, head office), registering a partner
(admin), and one partner's settings, status, API keys, recent calls, policies sold and webhook deliveries.

A new key's secret is shown once: in the page that answers the POST which issued (or rotated) it; it is
stored as a SHA-256 only, so no later page can show it. Shaping and the audited changes: ``web.partners``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import InvalidInput
from shouhu.partners.registry import Forbidden
from shouhu.web import i18n
from shouhu.web import partners as web
from shouhu.web.auth import app_state, require
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.PARTNER_READ))
Manager = Depends(require(Action.PARTNER_MANAGE))
PartnerId = Annotated[str, Path(max_length=64)]
KeyId = Annotated[str, Path(max_length=64)]
Refused = (InvalidInput, Forbidden)

i18n.register({
    "partners": ("合作伙伴", "Partners"), "pt_new": ("登记合作方", "Register a partner"),
    "pt_none": ("还没有登记的合作方", "No partner registered yet"),
    "pt_id": ("合作方编码", "Partner id"), "pt_id_hint": ("小写字母、数字、- 或 _，登记后不能修改",
                                                    "lower-case letters, digits, - or _; cannot change later"),
    "pt_name": ("名称", "Name"), "pt_licence": ("许可类型", "Licence type"),
    "pt_licence_no": ("许可证编号", "Licence number"),
    "pt_licence_no_hint": ("持牌保险中介机构必填", "required for a licensed intermediary"),
    "pt_status": ("状态", "Status"), "pt_mode": ("模式", "Mode"), "pt_products": ("可售产品", "Products"),
    "pt_scenes": ("场景", "Scenes"), "pt_rate": ("每分钟限流", "Rate limit / minute"),
    "pt_rate_hint": ("每个Web进程分别计数", "counted in each web worker"),
    "pt_origins": ("允许嵌入的来源（每行一个）", "Frame origins (one a line)"),
    "pt_keys": ("密钥", "Keys"), "pt_key_count": ("有效密钥", "Live keys"),
    "pt_last_call": ("最近调用", "Last call"), "pt_register": ("登记", "Register"),
    "pt_created": ("登记时间", "Registered"),
    "pt_sandbox_first": ("新登记的合作方处于沙箱模式，通过联调验收后方可上线。",
                         "A new partner starts in the sandbox; it goes live after a passed conformance report."),
    "pt_settings": ("设置", "Settings"), "pt_save": ("保存设置", "Save settings"),
    "pt_saved": ("设置已保存", "Settings saved"),
    "pt_status_section": ("状态", "Status"), "pt_suspend": ("暂停合作", "Suspend"),
    "pt_reactivate": ("恢复合作", "Reactivate"),
    "pt_suspend_confirm": ("确认暂停：该合作方的全部密钥立即停止工作",
                           "I confirm: every key of this partner stops at once"),
    "pt_reactivate_confirm": ("确认恢复：该合作方的有效密钥重新可用", "I confirm: the partner's live keys work again"),
    "pt_status_changed": ("状态已更新", "Status changed"),
    "pt_key_id": ("密钥编号", "Key id"), "pt_prefix": ("前缀", "Prefix"), "pt_scopes": ("权限", "Scopes"),
    "pt_key_created": ("签发时间", "Issued"), "pt_last_used": ("最近使用", "Last used"),
    "pt_expires": ("到期时间", "Expires"), "pt_key_state": ("状态", "State"),
    "pt_issue": ("签发密钥", "Issue a key"), "pt_issue_hint": ("不勾选权限时按许可类型授予全部允许的权限。",
                                                          "No scope ticked: every scope the licence allows."),
    "pt_rotate": ("轮换", "Rotate"), "pt_revoke": ("吊销", "Revoke"),
    "pt_rotate_hint": ("轮换后旧密钥继续有效24小时。", "After a rotation the old key works for 24 more hours."),
    "pt_secret_title": ("新密钥（仅显示这一次）", "The new key (shown this once only)"),
    "pt_secret_hint": ("请立即复制并安全地交给合作方。系统只保存其哈希值，离开本页后无法再次查看。",
                       "Copy it now and hand it to the partner safely. Only its hash is stored: once you leave "
                       "this page it cannot be shown again."),
    "pt_old_expires": ("旧密钥到期", "The old key expires"), "pt_revoked": ("密钥已吊销", "Key revoked"),
    "pt_no_keys": ("还没有密钥", "No key yet"),
    "pt_calls": ("最近调用", "Recent calls"), "pt_calls_24h": ("近24小时调用", "Calls in the last 24 hours"),
    "pt_at": ("时间", "Time"), "pt_route": ("接口", "Route"), "pt_http": ("HTTP状态", "HTTP status"),
    "pt_error": ("错误码", "Error code"), "pt_duration": ("耗时（毫秒）", "Duration (ms)"),
    "pt_no_calls": ("还没有调用", "No call yet"),
    "pt_policies": ("经合作方售出的保单", "Policies sold through the partner"),
    "pt_policy_no": ("保单号", "Policy no."), "pt_product": ("产品", "Product"),
    "pt_order_no": ("合作方订单号", "Partner order no."), "pt_premium": ("保费（元）", "Premium (yuan)"),
    "pt_via": ("出单方式", "Via"), "pt_bound": ("出单时间", "Bound"), "pt_no_policies": ("还没有保单", "No policy yet"),
    "pt_webhooks": ("回调通知", "Webhooks"), "pt_endpoint": ("回调地址", "Endpoint"),
    "pt_events": ("事件", "Events"), "pt_enabled": ("启用", "Enabled"),
    "pt_failures": ("连续失败", "Failures in a row"),
    "pt_no_endpoints": ("还没有回调地址", "No endpoint yet"),
    "pt_deliveries": ("最近投递", "Recent deliveries"), "pt_event": ("事件", "Event"),
    "pt_state": ("状态", "State"), "pt_attempts": ("尝试次数", "Attempts"),
    "pt_last_status": ("最近HTTP状态", "Last status"), "pt_next": ("下次尝试", "Next attempt"),
    "pt_no_deliveries": ("还没有投递", "No delivery yet"),
    "pt_yes": ("是", "yes"), "pt_no": ("否", "no"), "pt_back": ("返回列表", "Back to the list"),
    "pt_fix": ("请修改标出的字段", "Please correct the marked fields"),
})


async def _form(request: Request) -> dict[str, Any]:
    """The submitted form: single values as text, the multi-choice fields as lists."""
    raw = await request.form()
    out: dict[str, Any] = {k: str(v) for k, v in raw.items() if isinstance(v, str) and k not in ("products", "scenes",
                                                                                               "scopes")}
    for name in ("products", "scenes", "scopes"):
        out[name] = [str(v) for v in raw.getlist(name) if isinstance(v, str)]
    return out


def _errors(e: InvalidInput | Forbidden, lang: str) -> dict[str, str]:
    field, message = web.field_error(e, lang)
    return {field or "form": message}


@router.get("/partners")
def list_page(request: Request, principal: Principal = Reader) -> Response:
    return page(request, "console/partners/list.html", partners=web.listing(app_state(request), lang_of(request)))


def _new_form(request: Request, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
              ) -> Response:
    defaults = {"licence": "intermediary", "rate_per_minute": "600", "products": [], "scenes": []}
    return page(request, "console/partners/new.html", status_code=422 if errors else 200,
                values=defaults | (values or {}), errors=errors or {}, choices=web.choices(lang_of(request)))


@router.get("/partners/new")
def new_page(request: Request, principal: Principal = Manager) -> Response:
    return _new_form(request)


@router.post("/partners")
async def create(request: Request, principal: Principal = Manager) -> Response:
    form = await _form(request)
    values = {k: form.get(k, "") for k in ("partner_id", "name", "licence", "licence_no", "frame_origins",
                                           "rate_per_minute")} | {"products": form["products"],
                                                                  "scenes": form["scenes"]}
    try:
        row = web.create(app_state(request), principal, request, values)
    except Refused as e:
        return _new_form(request, values, _errors(e, lang_of(request)))
    return RedirectResponse(f"/console/partners/{row['partner_id']}?done=created", status_code=303)


def _detail(request: Request, partner_id: str, status_code: int = 200, **extra: Any) -> Response:
    lang = lang_of(request)
    data = web.detail(app_state(request), partner_id, lang)
    p = data["p"]
    settings = {"products": p["products"], "scenes": p["scenes"], "frame_origins": "\n".join(p["frame_origins"]),
                "rate_per_minute": str(p["rate_per_minute"])}
    context = {"values": settings, "errors": {}, "new_key": None, "done": request.query_params.get("done")} | extra
    return page(request, "console/partners/detail.html", status_code=status_code, choices=web.choices(lang),
                **data, **context)


@router.get("/partners/{partner_id}")
def detail_page(partner_id: PartnerId, request: Request, principal: Principal = Reader) -> Response:
    return _detail(request, partner_id)


@router.post("/partners/{partner_id}/settings")
async def settings(partner_id: PartnerId, request: Request, principal: Principal = Manager) -> Response:
    form = await _form(request)
    values = {"products": form["products"], "scenes": form["scenes"],
              "frame_origins": form.get("frame_origins", ""), "rate_per_minute": form.get("rate_per_minute", "")}
    try:
        web.change_settings(app_state(request), principal, request, partner_id, values)
    except Refused as e:
        return _detail(request, partner_id, 422, values=values, errors=_errors(e, lang_of(request)))
    return RedirectResponse(f"/console/partners/{partner_id}?done=saved#settings", status_code=303)


@router.post("/partners/{partner_id}/status")
async def status(partner_id: PartnerId, request: Request, principal: Principal = Manager) -> Response:
    form = await _form(request)
    try:
        web.change_status(app_state(request), principal, request, partner_id, form.get("status", ""),
                          form.get("confirm") == "yes")
    except Refused as e:
        return _detail(request, partner_id, 422, errors=_errors(e, lang_of(request)))
    return RedirectResponse(f"/console/partners/{partner_id}?done=status#status", status_code=303)


@router.post("/partners/{partner_id}/keys")
async def issue(partner_id: PartnerId, request: Request, principal: Principal = Manager) -> Response:
    form = await _form(request)
    try:
        made = web.issue(app_state(request), principal, request, partner_id, form.get("mode") or "sandbox",
                         form["scopes"])
    except Refused as e:
        return _detail(request, partner_id, 422, errors=_errors(e, lang_of(request)))
    return _detail(request, partner_id, new_key=made)  # the one page that ever holds the secret


@router.post("/partners/{partner_id}/keys/{key_id}/rotate")
async def rotate(partner_id: PartnerId, key_id: KeyId, request: Request, principal: Principal = Manager
                 ) -> Response:
    try:
        made = web.rotate(app_state(request), principal, request, partner_id, key_id)
    except Refused as e:
        return _detail(request, partner_id, 422, errors=_errors(e, lang_of(request)))
    return _detail(request, partner_id, new_key=made)


@router.post("/partners/{partner_id}/keys/{key_id}/revoke")
async def revoke(partner_id: PartnerId, key_id: KeyId, request: Request, principal: Principal = Manager
                 ) -> Response:
    try:
        web.revoke(app_state(request), principal, request, partner_id, key_id)
    except Refused as e:
        return _detail(request, partner_id, 422, errors=_errors(e, lang_of(request)))
    return RedirectResponse(f"/console/partners/{partner_id}?done=revoked#keys", status_code=303)
