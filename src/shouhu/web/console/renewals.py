"""Console page for renewal collection (续期催收): lapse alerts, grace-period premiums, reinstatable
policies, the persistency impact of the caller's scope, and an outcome form on every row."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import InvalidInput
from shouhu.operations import renewal as ops
from shouhu.web import i18n, renewals
from shouhu.web.auth import app_state, require
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.CUSTOMER_READ))
Writer = Depends(require(Action.ACTIVITY_WRITE))
VIEWS = ("alerts", "grace", "upcoming", "lapsed", "all")

i18n.register({
    "renewals": ("续期催收", "Renewal collection"),
    "renewal_view_alerts": ("即将失效", "Lapse alerts"), "renewal_view_grace": ("宽限期内", "In grace period"),
    "renewal_view_upcoming": ("即将到期", "Due soon"), "renewal_view_lapsed": ("可复效", "Reinstatable"),
    "renewal_view_all": ("全部", "All"),
    "renewal_none": ("没有待催收的保费", "Nothing to collect"),
    "renewal_policy": ("保单号", "Policy"), "renewal_state": ("状态", "State"), "renewal_due": ("应缴日", "Due"),
    "renewal_amount": ("应缴金额(元)", "Amount due (CNY)"), "renewal_lapse": ("失效日", "Cover stops"),
    "renewal_latest": ("最近结果", "Latest outcome"), "renewal_record": ("记录结果", "Record"),
    "renewal_promised": ("承诺日期", "Promised date"), "renewal_note": ("备注", "Note"),
    "renewal_at_risk": ("宽限期风险保费", "Premium at risk in grace"),
    "renewal_share": ("占有效保费", "Share of premium in force"),
    "renewal_reinstatable": ("可复效保费", "Reinstatable premium"),
    "renewal_in_grace": ("宽限期保单数", "Policies in grace"),
    "renewal_saved": ("已记录", "Recorded"),
    "renewal_hint": ("宽限期60天(《保险法》第36条), 失效两年内可申请复效(第37条)。不得承诺产品条款以外的保费优惠。",
                     "60-day grace period (Insurance Law art. 36); reinstatement within two years of lapse "
                     "(art. 37). Never promise premium discounts a filed product does not provide."),
    **{f"renewal_outcome_{k}": v for k, v in ops.OUTCOMES.items()},
})


@router.get("/renewals")
def renewals_page(request: Request, view: str = Query("alerts", max_length=16),
                  offset: int = Query(0, ge=0, le=1_000_000), principal: Principal = Reader) -> Response:
    chosen = view if view in VIEWS else "alerts"
    state = app_state(request)
    lang = lang_of(request)
    data = renewals.list_due(state, principal, view=None if chosen in ("alerts", "all") else chosen,
                             alerts=chosen == "alerts", limit=50, offset=offset, lang=lang)
    impact = renewals.impact(state, principal)
    next_link = None
    if data["next_offset"] is not None:
        next_link = "/console/renewals?" + urlencode({"view": chosen, "offset": data["next_offset"]})
    return page(request, "console/renewals.html", data=data, view=chosen, views=VIEWS, impact=impact,
                outcomes=list(ops.OUTCOMES), error=request.query_params.get("error"),
                saved=request.query_params.get("saved"), next_link=next_link)


@router.post("/renewals/{policy_no}/outcome")
async def record(policy_no: str, request: Request, principal: Principal = Writer) -> Response:
    form: dict[str, Any] = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    back = form.get("view", "alerts") if form.get("view") in VIEWS else "alerts"
    try:
        renewals.record_outcome(app_state(request), principal, request, policy_no=policy_no[:96],
                                due_date=form.get("due_date", "")[:10], outcome=form.get("outcome", ""),
                                promised_date=form.get("promised_date") or None, note=form.get("note", "")[:2000])
    except InvalidInput as e:
        return RedirectResponse("/console/renewals?" + urlencode({"view": back, "error": str(e)[:200]}),
                                status_code=303)
    except HTTPException as e:
        if e.status_code == 404:
            raise
        return RedirectResponse("/console/renewals?" + urlencode({"view": back, "error": str(e.detail)[:200]}),
                                status_code=303)
    return RedirectResponse("/console/renewals?" + urlencode({"view": back, "saved": policy_no[:96]}),
                            status_code=303)
