"""The hosted sales page (/hosted/{token}): the insurer's own page inside an unlicensed partner's app
(``partners.hosted``). No sign-in: the link's token is the credential. Only the partner's registered
origins may frame it (Content-Security-Policy frame-ancestors); every other page keeps 'none'."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from shouhu.errors import ShouhuError
from shouhu.partners import hosted, sales
from shouhu.storage import partners as store
from shouhu.web import i18n
from shouhu.web.auth import app_state
from shouhu.web.render import page
from shouhu.web.security import csp

router = APIRouter(prefix="/hosted", include_in_schema=False)

i18n.register({
    "hosted_title": ("在线投保", "Online application"),
    "hosted_by": ("本页面由保险公司提供，{partner} 仅提供入口，不参与报价与收费。",
                  "This page is the insurer's own; {partner} only links to it and takes no part in pricing "
                  "or payment."),
    "hosted_premium": ("保险费", "Premium"), "hosted_cover": ("保险期间", "Cover"),
    "hosted_sum": ("保险金额/赔偿限额", "Sum insured"),
    "hosted_read": ("我已阅读并理解以上内容", "I have read and understood the above"),
    "hosted_applicant": ("投保人信息", "Applicant"), "hosted_name": ("姓名", "Name"),
    "hosted_id": ("身份证号码", "ID number"), "hosted_phone": ("手机号", "Mobile"),
    "hosted_submit": ("确认投保", "Apply"), "hosted_done": ("投保成功", "Policy issued"),
    "hosted_policy": ("保单号", "Policy number"), "hosted_back": ("返回", "Back"),
    "hosted_expired": ("链接已失效，请返回合作方页面重新进入。", "This link has expired; open it again from the app."),
})


def _framed(request: Request, response: HTMLResponse, origins: list[str]) -> HTMLResponse:
    policy = csp(getattr(request.state, "csp_nonce", ""))
    framers = " ".join(origins) if origins else "'none'"
    response.headers["Content-Security-Policy"] = policy.replace("frame-ancestors 'none'", f"frame-ancestors {framers}")
    return response


def _render(request: Request, token: str, view: dict[str, Any], error: str | None = None,
            status_code: int = 200) -> HTMLResponse:
    engine = app_state(request).engine
    p = store.get_partner(engine, view["link"]["partner_id"]) or {"name": "", "frame_origins": []}
    response = page(request, "hosted/page.html", status_code=status_code, token=token, view=view, error=error,
                    partner=p["name"], yuan=sales.yuan)
    return _framed(request, response, p["frame_origins"])


def _gone(request: Request, e: ShouhuError) -> HTMLResponse:
    status = 410 if isinstance(e, sales.Gone) else 404
    return page(request, "hosted/page.html", status_code=status, token="", view={}, error=e.message, partner="",
                yuan=sales.yuan, gone=True)


@router.get("/{token}")
def show(token: str, request: Request) -> Response:
    state = app_state(request)
    try:
        view = hosted.open_page(state.engine, state.cipher, token)
    except (sales.NotFound, sales.Gone) as e:
        return _gone(request, e)
    return _render(request, token, view)


@router.post("/{token}")
async def apply(token: str, request: Request) -> Response:
    state = app_state(request)
    form = await request.form()
    ticked = {str(k)[4:] for k in form if str(k).startswith("ack_")}
    applicant = {"name": str(form.get("name") or ""), "id_number": str(form.get("id_number") or ""),
                 "phone": str(form.get("phone") or "")}
    try:
        policy = hosted.submit(state.engine, state.cipher, token, ticked=ticked, applicant=applicant)
    except (sales.NotFound, sales.Gone) as e:
        return _gone(request, e)
    except ShouhuError as e:
        view = hosted.open_page(state.engine, state.cipher, token)
        return _render(request, token, view, error=e.message, status_code=422)
    found = hosted.link(state.engine, token)
    return _render(request, token, {"link": found, "policy": policy})
