"""H5: a proposal (建议书) opened from its link, by anyone who holds it (no sign-in). Shows the plan
snapshot (masked name, gaps, recommended products; no ID number or phone); unknown, expired or
revoked tokens are 404. Every open is audited (web.proposals)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shouhu.web import i18n, proposals
from shouhu.web.auth import app_state
from shouhu.web.render import page

router = APIRouter()

i18n.register({
    "prop_title": ("保障建议书", "Protection proposal"),
    "prop_for": ("尊敬的{name}", "Prepared for {name}"),
    "prop_as_of": ("测算日期", "Worked out on"),
    "prop_valid_until": ("链接有效期至", "Link valid until"),
    "prop_gaps": ("保障缺口", "Protection gaps"),
    "prop_need": ("需求", "Need"),
    "prop_have": ("已有", "In force"),
    "prop_gap": ("缺口", "Gap"),
    "prop_plan": ("推荐方案", "Recommended plan"),
    "prop_total": ("年缴保费合计", "Yearly premium in total"),
    "prop_family": ("其他家庭成员的产品", "Products for other family members"),
    "prop_none": ("暂无推荐产品", "No product recommended"),
    "prop_note": ("本建议书仅供参考,不构成保险合同;投保前请阅读条款并完成风险评估与双录。",
                  "This proposal is for reference only and is not an insurance contract; read the terms and "
                  "complete the risk assessment before you buy."),
    "prop_wan": ("万元", "10k CNY"),
})


@router.get("/proposal/{token}")
def proposal(token: str, request: Request) -> Response:
    shot = proposals.open_link(app_state(request), request, token)
    response = page(request, "h5/proposal.html", p=shot, here=request.url.path)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
