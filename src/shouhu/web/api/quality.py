"""Data quality: ingestion runs (load_log), refresh runs, and the quarantined rows with their reasons.

Ingestion and refresh runs are read from the serving database. The quarantine lives in the
warehouse (``ingest_quarantine``, written by ``shouhu ingest``): it is opened read-only for the
request and closed at once, so that ``shouhu refresh`` can take the writer's lock meanwhile. A value
or reason is never shown with a clear ID number or phone number: sensitive values are masked when
quarantined, and everything shown is scrubbed again here.

:func:`shouhu.web.warehouse.read_warehouse` is the one way the web layer opens the warehouse.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.storage import runs, serving
from shouhu.storage.audit import scrub
from shouhu.storage.warehouse import sql_literal
from shouhu.web.auth import app_state, require
from shouhu.web.params import Offset
from shouhu.web.state import AppState
from shouhu.web.warehouse import read_warehouse

router = APIRouter(tags=["data quality"])
Reader = Depends(require(Action.QUALITY_READ))
QUARANTINE_TABLE = "ingest_quarantine"  # shouhu.ingest.load.QUARANTINE_TABLE (the web layer reads, never loads)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return value.isoformat() if isinstance(value, date) else value


# --- services shared with the console -----------------------------------------------------------

def ingest_files(state: AppState) -> dict[str, Any]:
    rows = serving.read_ingest_files(state.settings.serving)
    items = [{k: _iso(v) for k, v in r.items()} for r in rows]
    totals = {k: sum(int(r[k]) for r in rows) for k in ("rows_in", "rows_loaded", "rows_quarantined")}
    return {"items": items, "count": len(items), "totals": totals}


def refresh_runs(state: AppState, limit: int = 20) -> dict[str, Any]:
    rows = runs.list_runs(state.settings.serving, limit)
    items = []
    for r in rows:
        item = {k: _iso(v) for k, v in r.items()}
        item["seconds"] = round(sum(float(s.get("seconds", 0)) for s in r["steps"]), 3)
        item["error"] = scrub(r["error"]) if r.get("error") else None
        items.append(item)
    return {"items": items, "count": len(items)}


def quarantine(state: AppState, *, source: str | None = None, field: str | None = None, limit: int = 100,
               offset: int = 0) -> dict[str, Any]:
    """Quarantined rows (file, row, field, reason, value: masked) and counts per source and field."""
    conditions = []
    if source:
        conditions.append(f"source = {sql_literal(source)}")
    if field:
        conditions.append(f"field = {sql_literal(field)}")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    with read_warehouse(state) as wh:
        if not wh.has_table(QUARANTINE_TABLE):
            return {"items": [], "count": 0, "total": 0, "by_source_field": []}
        rows = wh.query(f"SELECT source, entity, file_name, row_number, field, reason, value FROM {QUARANTINE_TABLE} "
                        f"{where} ORDER BY source, file_name, row_number, field "
                        f"LIMIT {int(limit)} OFFSET {int(offset)}")
        summary = wh.query(f"SELECT source, field, COUNT(*) FROM {QUARANTINE_TABLE} {where} "
                           "GROUP BY source, field ORDER BY source, field")
    items = [{"source": r[0], "entity": r[1], "file": r[2], "row": int(r[3]), "field": r[4],
              "reason": scrub(str(r[5] or "")), "value": scrub(str(r[6] or ""))} for r in rows]
    by = [{"source": s, "field": f, "rows": int(n)} for s, f, n in summary]
    return {"items": items, "count": len(items), "total": sum(b["rows"] for b in by), "by_source_field": by,
            "limit": limit, "offset": offset}


# --- API ----------------------------------------------------------------------------------------

@router.get("/quality/files", summary="Ingested files: rows in, loaded and quarantined (load_log)")
def files(request: Request, principal: Principal = Reader) -> dict[str, Any]:
    return ingest_files(app_state(request))


@router.get("/quality/runs", summary="Refresh runs with per-step timings and errors")
def list_runs(request: Request, principal: Principal = Reader,
              limit: int = Query(20, ge=1, le=200)) -> dict[str, Any]:
    return refresh_runs(app_state(request), limit)


@router.get("/quality/quarantine", summary="Quarantined rows with file, row, field and reason (values masked)")
def list_quarantine(request: Request, principal: Principal = Reader,
                    source: str | None = Query(None, max_length=64), field: str | None = Query(None, max_length=64),
                    limit: int = Query(100, ge=1, le=1000), offset: Offset = 0) -> dict[str, Any]:
    return quarantine(app_state(request), source=source, field=field, limit=limit, offset=offset)
