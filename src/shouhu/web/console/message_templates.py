"""Console pages for message templates: the list with a form for a new draft version, one version with its
zh-CN and English previews, and the review steps (the author submits; someone else in compliance approves,
rejects or retires). Only an approved version is ever sent (see docs/journeys.md, "Templates")."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import InvalidInput
from shouhu.journeys import messaging
from shouhu.web import i18n
from shouhu.web import journeys as web
from shouhu.web.auth import app_state, require
from shouhu.web.params import Version
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.JOURNEY_READ))
Author = Depends(require(Action.JOURNEY_MANAGE))
Reviewer = Depends(require(Action.TEMPLATE_APPROVE))

i18n.register({
    "templates": ("消息模板", "Message templates"),
    "template_none": ("还没有模板", "No template yet"),
    "template_code": ("模板编码", "Code"), "template_version": ("版本", "Version"),
    "template_channel": ("渠道", "Channel"), "template_kind": ("类别", "Kind"),
    "template_purpose": ("用途", "Purpose"), "template_status": ("审批状态", "Review status"),
    "template_author": ("作者", "Author"), "template_reviewer": ("审批人", "Reviewer"),
    "template_new": ("新建模板版本（草稿）", "New template version (draft)"),
    "template_new_hint": ("同一编码再次保存会生成新版本；提交后须由合规人员（非作者本人）批准才能发送。",
                          "Saving an existing code adds a version; after submitting, someone in compliance other "
                          "than the author must approve it before it is sent."),
    "template_subject_zh": ("标题（中文）", "Subject (Chinese)"),
    "template_body_zh": ("正文（中文）", "Text (Chinese)"),
    "template_subject_en": ("标题（英文）", "Subject (English)"),
    "template_body_en": ("正文（英文）", "Text (English)"),
    "template_save": ("保存草稿", "Save draft"), "template_variables": ("可用变量", "Variables"),
    "template_preview": ("预览（示例数据）", "Preview (sample values)"),
    "template_submit": ("提交审批", "Submit for review"), "template_approve": ("批准", "Approve"),
    "template_reject": ("驳回", "Reject"), "template_retire": ("停用", "Retire"),
    "template_note": ("审批意见（选填）", "Review note (optional)"),
    "template_saved": ("已保存草稿", "Draft saved"), "template_moved": ("状态已更新", "Status changed"),
})


def _list(request: Request, status_code: int = 200, errors: list[str] | None = None,
          values: dict[str, str] | None = None) -> Response:
    state = app_state(request)
    lang = lang_of(request)
    return page(request, "console/templates.html", status_code=status_code, templates=web.templates(state, lang),
                variables=web.template_variables(lang), errors=errors or [], values=values or {},
                channels=web.options("channel", web.MESSAGE_CHANNELS, lang),
                kinds=web.options("kind", web.TEMPLATE_KINDS, lang),
                purposes=web.options("purpose", web.TEMPLATE_PURPOSES, lang))


@router.get("/templates")
def list_page(request: Request, principal: Principal = Reader) -> Response:
    return _list(request)


@router.post("/templates")
async def add(request: Request, principal: Principal = Author) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    values = {f: form.get(f, "") for f in messaging.FIELDS}
    try:
        made = web.add_template(app_state(request), principal, request, values)
    except InvalidInput as e:
        return _list(request, 422, [e.message], values)
    return RedirectResponse(f"/console/templates/{made['code']}/{made['version']}?done=saved", status_code=303)


def _detail(request: Request, code: str, version: int, status_code: int = 200,
            errors: list[str] | None = None) -> Response:
    state = app_state(request)
    lang = lang_of(request)
    return page(request, "console/template.html", status_code=status_code,
                tpl=web.template_or_404(state, code, version, lang), errors=errors or [],
                done=request.query_params.get("done"))


@router.get("/templates/{code}/{version}")
def template_page(code: str, version: Version, request: Request, principal: Principal = Reader) -> Response:
    return _detail(request, code, version)


async def _move(request: Request, principal: Principal, code: str, version: int, move: str) -> Response:
    form = await request.form()
    try:
        web.review_template(app_state(request), principal, request, code, version, move, str(form.get("note") or ""))
    except InvalidInput as e:
        return _detail(request, code, version, 422, [e.message])
    return RedirectResponse(f"/console/templates/{code}/{version}?done=moved", status_code=303)


@router.post("/templates/{code}/{version}/submit")
async def submit(code: str, version: Version, request: Request, principal: Principal = Author) -> Response:
    return await _move(request, principal, code, version, "submit")


@router.post("/templates/{code}/{version}/review")
async def review(code: str, version: Version, request: Request, principal: Principal = Reviewer) -> Response:
    """Approve, reject or retire (the ``move`` field): four eyes, the author cannot review their own text."""
    move = str((await request.form()).get("move") or "")
    if move not in ("approve", "reject", "retire"):
        return _detail(request, code, version, 422, ["move: must be approve, reject or retire"])
    return await _move(request, principal, code, version, move)
