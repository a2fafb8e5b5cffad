"""Console pages: KPI scorecards with drill-down and the incentive plan simulator."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import ShouhuError
from shouhu.web import i18n
from shouhu.web.api import workforce as api
from shouhu.web.auth import require
from shouhu.web.render import page
from shouhu.workforce.kpi import BAND_LABELS

router = APIRouter()
Reader = Depends(require(Action.KPI_READ))
Simulator = Depends(require(Action.INCENTIVE_SIMULATE))

i18n.register({
    "scorecards": ("KPI 计分卡", "KPI scorecards"),
    "scorecards_hint": ("服务指标按客户归属（服务代理人、团队、机构）统计；犹豫期退保按出单人统计；"
                        "继续率为最近一次刷新时的值。",
                        "Service measures follow the customer's pod (serving agent, team, branch); free-look "
                        "cancellations follow the producer of record; persistency is as of the last refresh."),
    "level_branch": ("机构", "Branch"), "level_team": ("团队", "Team"), "level_agent": ("代理人", "Agent"),
    "range_start": ("开始日期", "From"), "range_end": ("结束日期", "To"), "drill_down": ("下钻", "Drill down"),
    "simulator": ("激励方案模拟", "Incentive plan simulator"),
    "simulator_hint": ("按行为画像模拟各年收入（期望值）：好的方案让经营型代理人长期收入更高，而不是奖励冲量。",
                       "Expected pay per year by behaviour profile: a good plan pays the steward more over "
                       "time, not the churner."),
    "plan": ("方案", "Plan"), "years": ("年数", "Years"), "run_simulation": ("模拟", "Simulate"),
    "cumulative": ("累计", "Cumulative"), "leader": ("长期收入最高", "Paid most in the end"),
})


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


@router.get("/workforce")
def scorecards_page(request: Request, principal: Principal = Reader, level: str = "",
                    parent: str | None = None, start: str | None = None, end: str | None = None) -> Response:
    level = level if level in ("agent", "team", "branch") else ("agent" if principal.role.value == "agent"
                                                                  else "branch")
    try:
        data = api.scorecards(request, principal, level, parent, _day(start), _day(end))
    except (ShouhuError, ValueError) as e:
        return page(request, "console/workforce.html", status_code=400, data=None, error=str(e), level=level,
                    bands=BAND_LABELS)
    return page(request, "console/workforce.html", data=data, error="", level=level, bands=BAND_LABELS)


@router.get("/workforce/simulate")
def simulator_page(request: Request, principal: Principal = Simulator, plan: str = "balanced",
                   years: int = Query(5, ge=1, le=10)) -> Response:
    try:
        result = api.simulate(api.SimulateRequest(plan=plan, years=max(1, min(years, 10))))
    except ShouhuError as e:
        return page(request, "console/workforce_simulate.html", status_code=400, result=None, error=e.message)
    return page(request, "console/workforce_simulate.html", result=result, error="")
