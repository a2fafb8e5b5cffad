"""Console: data quality. Ingested files, refresh runs, and the quarantined rows with file, row,
field and reason (values masked), through web.api.quality."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import display, i18n
from shouhu.web.api import quality as service
from shouhu.web.auth import app_state, require
from shouhu.web.params import Offset
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.QUALITY_READ))
PAGE = 50

i18n.register({
    "dq_files": ("数据加载记录", "Ingested files"),
    "dq_runs": ("刷新运行记录", "Refresh runs"),
    "dq_quarantine": ("隔离区（问题行）", "Quarantined rows"),
    "dq_by_field": ("问题行按来源与字段", "Quarantined rows by source and field"),
    "dq_source": ("来源系统", "Source"),
    "dq_entity": ("数据实体", "Entity"),
    "dq_file": ("文件", "File"),
    "dq_row": ("行号", "Row"),
    "dq_field": ("字段", "Field"),
    "dq_reason": ("原因", "Reason"),
    "dq_value": ("取值（已脱敏）", "Value (masked)"),
    "dq_rows_in": ("读入行数", "Rows in"),
    "dq_rows_loaded": ("加载行数", "Loaded"),
    "dq_rows_quarantined": ("隔离行数", "Quarantined"),
    "dq_seconds": ("耗时(秒)", "Seconds"),
    "dq_loaded_at": ("加载时间", "Loaded at"),
    "dq_run": ("运行号", "Run"),
    "dq_status": ("状态", "Status"),
    "dq_started": ("开始", "Started"),
    "dq_as_of": ("数据日期", "As of"),
    "dq_steps": ("步骤", "Steps"),
    "dq_error": ("错误", "Error"),
    "dq_all_sources": ("全部来源", "All sources"),
    "dq_filter": ("筛选", "Filter"),
    "dq_none": ("暂无记录", "Nothing yet"),
    "dq_total": ("合计", "Total"),
    "dq_next": ("下一页", "Next page"),
    "dq_prev": ("上一页", "Previous page"),
    "dq_unavailable": ("暂时无法读取隔离区", "The quarantine cannot be read right now"),
})


def _quarantine(request: Request, source: str | None, field: str | None, offset: int) -> dict[str, Any]:
    try:
        return service.quarantine(app_state(request), source=source, field=field, limit=PAGE, offset=offset) | {
            "error": None}
    except HTTPException as e:
        return {"items": [], "count": 0, "total": 0, "by_source_field": [], "error": str(e.detail)}


def _labelled(summary: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The chart's rows with source systems and fields named in the page's language."""
    return [b | {"source": display.source_label(b["source"], lang), "field": display.field_label(b["field"], lang)}
            for b in summary]


@router.get("/quality")
def quality_page(request: Request, source: str | None = Query(None, max_length=64),
                 field: str | None = Query(None, max_length=64), offset: Offset = 0,
                 principal: Principal = Reader) -> Response:
    state = app_state(request)
    quarantined = _quarantine(request, source, field, offset)
    if request.headers.get("hx-request"):
        return page(request, "console/quality_quarantine.html", q=quarantined, source=source or "",
                    field=field or "", offset=offset, page_size=PAGE)
    everything = _quarantine(request, None, None, 0) if (source or field) else quarantined
    return page(request, "console/quality.html", files=service.ingest_files(state), runs=service.refresh_runs(state),
                q=quarantined, summary=_labelled(everything["by_source_field"], lang_of(request)),
                quarantined_total=everything["total"],
                source=source or "", field=field or "", offset=offset, page_size=PAGE,
                sources=sorted({b["source"] for b in everything["by_source_field"]}))
