"""The channel dashboard: attribution side by side, ROI on insurance outcomes, budget reallocation."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.model.vocab import Channel
from shouhu.web import display, i18n
from shouhu.web.api import channels as api
from shouhu.web.auth import require
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.CHANNELS_READ))

i18n.register({
    "attribution": ("多触点归因", "Multi-touch attribution"),
    "attribution_hint": ("各模型把新保单（转化）分配给渠道：启发式模型、马尔可夫链（移除效应，精确求解）"
                         "与 Shapley 值并列比较。",
                         "How each model credits new policies (conversions) to channels: heuristics, Markov "
                         "chains (exact removal effects) and Shapley values side by side."),
    "roi_title": ("渠道投入产出（按保险结果）", "Channel ROI on insurance outcomes"),
    "roi_hint": ("只看保单数会误导：卖出后很快失效的保单不是好生意。13个月继续率与客户价值决定 ROI。",
                 "Policy counts mislead: business that lapses is not good business. 13-month persistency and "
                 "customer value decide the ROI."),
    "plan_title": ("预算再分配", "Budget reallocation"),
    "plan_hint": ("按各渠道的响应曲线（边际递减、投放滞后）在约束下重新分配总预算。",
                  "Reallocate the total budget over each channel's response curve (diminishing returns, "
                  "carry-over) under your constraints."),
    "budget": ("总预算（元）", "Total budget (CNY)"),
    "max_change": ("单渠道最大变动（比例）", "Max change per channel (fraction)"),
    "fixed_channels": ("保持不变的渠道", "Channels held fixed"),
    "run_plan": ("计算方案", "Compute plan"),
    "lookback": ("回看天数", "Lookback (days)"),
})


def channel_label(code: str, lang: str) -> str:
    try:
        return Channel(code).label(lang)
    except ValueError:
        return code


@router.get("/channels")
def channels_page(request: Request, principal: Principal = Reader) -> Response:
    return page(request, "console/channels.html")


@router.get("/channels/attribution")
def attribution_part(request: Request, lookback_days: int = Query(90, ge=1, le=730),
                     principal: Principal = Reader) -> Response:
    data = api.attribution(request, max(1, min(lookback_days, 730)), 365)
    lang = lang_of(request)
    return page(request, "console/_channels_attribution.html", data=data,
                labels={c: channel_label(c, lang) for c in data["channels"]},
                model_labels={r["model"]: display.attribution_model(r["model"], lang) for r in data["results"]})


@router.get("/channels/roi")
def roi_part(request: Request, principal: Principal = Reader) -> Response:
    data = api.roi(request, "quarter")
    lang = lang_of(request)
    return page(request, "console/_channels_roi.html", data=data,
                labels={r["channel"]: channel_label(r["channel"], lang) for r in data["by_channel"]})


@router.post("/channels/plan")
async def plan_part(request: Request, principal: Principal = Reader) -> Response:
    form = await request.form()
    raw = {k: v for k, v in form.items() if k != "csrf_token" and v != ""}
    body = {"budget": raw.get("budget"), "max_change": raw.get("max_change"), "weeks": raw.get("weeks", 13),
            "fixed": [str(v) for v in form.getlist("fixed")]}
    try:
        req = api.PlanRequest.model_validate({k: v for k, v in body.items() if v not in (None, [])})
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        if lang_of(request) == "zh":
            problems = "请填写有效的总预算（大于0的金额）与单渠道最大变动比例（0到1之间）"
        return page(request, "console/_channels_plan.html", status_code=422, error=problems, data=None, labels={})
    data = api.plan(request, req)
    lang = lang_of(request)
    return page(request, "console/_channels_plan.html", error=None, data=data, data_json=json.dumps(data),
                labels={r["channel"]: channel_label(r["channel"], lang) for r in data["channels"]})
