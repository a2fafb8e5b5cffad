"""The hosted sales page (/hosted/{token}): the insurer's own page inside an unlicensed partner's app
(``partners.hosted``). No sign-in: the link's token is the credential. Only the partner's registered
origins may frame it (Content-Security-Policy frame-ancestors); every other page keeps 'none'.

The language comes from ``?lang=`` and is carried in the form's action: inside a partner's iframe the
page is a third-party context, where the ``lang`` cookie is not sent. After a refused submit the ticks
and the name are kept; the ID number and mobile are asked again, so that they never come back in clear."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from shouhu.errors import ShouhuError
from shouhu.partners import hosted, sales
from shouhu.storage import partners as store
from shouhu.web import i18n
from shouhu.web.auth import app_state
from shouhu.web.render import lang_of, page
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
    "hosted_unknown": ("未找到该投保链接，请返回合作方页面重新进入。",
                       "No such sales link; open it again from the app."),
    "hosted_missing": ("请阅读并勾选确认：{pages}", "Please read and tick: {pages}"),
    "hosted_bad_field": ("请填写正确的{label}。", "Please check the {label}: {reason}"),
    "hosted_failed": ("暂时无法完成投保，请返回合作方页面重试。", "The application could not be completed: {reason}"),
    "hosted_sandbox": ("测试环境：本页出具的保单不生效。", "Sandbox: policies issued here are not real."),
    "hosted_version": ("版本", "version"),
})
FIELDS = {"applicant.name": "hosted_name", "applicant.id_number": "hosted_id", "applicant.phone": "hosted_phone"}


def _framed(request: Request, response: HTMLResponse, origins: list[str]) -> HTMLResponse:
    policy = csp(getattr(request.state, "csp_nonce", ""))
    framers = " ".join(origins) if origins else "'none'"
    response.headers["Content-Security-Policy"] = policy.replace("frame-ancestors 'none'", f"frame-ancestors {framers}")
    return response


def _origins(request: Request, partner_id: str | None) -> tuple[str, list[str]]:
    p = store.get_partner(app_state(request).engine, partner_id) if partner_id else None
    return (p["name"], list(p["frame_origins"])) if p else ("", [])


def _body(p: dict[str, Any]) -> str:
    """A page's content without its first line when that is the title the page shows above it."""
    first, _, rest = str(p["content"]).partition("\n")
    return rest if first.lstrip("# ").strip() == str(p["title"]).strip() else str(p["content"])


def _render(request: Request, token: str, view: dict[str, Any], *, problem: dict[str, str] | None = None,
            kept: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    name, origins = _origins(request, view["link"]["partner_id"])
    pages = [p | {"body": _body(p)} for p in view.get("pages", [])]
    response = page(request, "hosted/page.html", status_code=status_code, token=token, view=view, pages=pages,
                    problem=problem, kept=kept or {"ticked": set(), "name": ""}, partner=name)
    return _framed(request, response, origins)


def _gone(request: Request, e: ShouhuError) -> HTMLResponse:
    expired = isinstance(e, sales.Gone)
    response = page(request, "hosted/page.html", status_code=410 if expired else 404, token="", view={},
                    pages=[], problem=None, kept={}, partner="", gone="hosted_expired" if expired else "hosted_unknown")
    if expired:  # the partner's app shows it in its frame; an unknown token keeps frame-ancestors 'none'
        return _framed(request, response, _origins(request, e.data.get("partner_id"))[1])
    return response


def problem_of(e: ShouhuError, view: dict[str, Any], lang: str) -> dict[str, str]:
    """The refusal in the page's language, naming what to fix (field: ``ack`` or the applicant's input)."""
    t = i18n.translator(lang)
    field = str(e.data.get("field") or "")
    if field == "ack":
        titles = {p["code"]: p["title"] for p in view.get("pages", [])}
        names = ("、" if lang == "zh" else ", ").join(titles.get(c, c) for c in e.data.get("missing", []))
        return {"field": field, "text": t("hosted_missing").replace("{pages}", names)}
    reason = e.message.split(": ", 1)[-1]
    if field in FIELDS:
        text = t("hosted_bad_field").replace("{label}", t(FIELDS[field])).replace("{reason}", reason)
        return {"field": field, "text": text}
    return {"field": field, "text": t("hosted_failed").replace("{reason}", reason)}


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
        if "policy" in view:  # bound meanwhile
            return _render(request, token, view)
        return _render(request, token, view, problem=problem_of(e, view, lang_of(request)),
                       kept={"ticked": ticked, "name": applicant["name"][:60]},
                       status_code=409 if isinstance(e, sales.Conflict) else 422)
    return _render(request, token, {"link": hosted.link(state.engine, token), "policy": policy})
