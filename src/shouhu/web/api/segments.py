"""Segments: count, preview and export the customers matching a rule of the safe rule language
(shouhu.segments), optionally with required tags, always within the caller's row scope.

The rule runs on the warehouse's customer_360 (with the batch gaps); the caller's scope comes from
the serving database (``customer_scope`` through ``storage.customers.scope_condition``, the same
rule as every other customer read) and is joined in the warehouse as an in-memory table of customer
ids, so an agent's count is the count among their own customers. Records shown or exported come
from the serving database, masked by ``web.shaping`` exactly as on screen.

A rule that does not parse answers 400 with the position and the problem. A rule (or a required
tag) that selects on a field the caller may not see at all (income and claims for analysts,
compliance and health managers) is refused; one that selects on a sensitive field the caller may
see masked is allowed and audited.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import ibis
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from shouhu.access.policy import FieldView, Principal, field_view, row_rule
from shouhu.access.roles import Action
from shouhu.errors import UnknownName
from shouhu.model.marts import CUSTOMER_360, CUSTOMER_GAP
from shouhu.privacy.csv_export import csv_text
from shouhu.segments import Rule, RuleError, TagLibrary, load_tag_library, parse_rule, segment_filter
from shouhu.segments.nodes import MAX_RULE_CHARS
from shouhu.segments.tags import customer_360, run_in_engine
from shouhu.storage import journeys as journey_store
from shouhu.storage.customers import SEARCH_COLUMNS, scope_condition
from shouhu.storage.tables import reflected
from shouhu.web.auth import app_state, record, require
from shouhu.web.customers import EXPORT_COLUMNS
from shouhu.web.params import MAX_OFFSET
from shouhu.web.shaping import shape
from shouhu.web.state import AppState
from shouhu.web.warehouse import read_warehouse

router = APIRouter(tags=["segments"])
Reader = Depends(require(Action.SEGMENT_READ))
MAX_EXPORT = 100_000       # rows per export; larger segments are narrowed first (or exported with the CLI)
CHUNK = 500                # customer ids per serving query
PREVIEW_EXTRA = ("age", "lifecycle_stage", "policies_in_force", "annualised_premium")
TAG_COUNT_TTL_S = 60.0


class SegmentQuery(BaseModel):
    rule: str = Field(min_length=1, max_length=MAX_RULE_CHARS,
                      description='e.g. age >= 30 and city in ("上海市", "北京市") (docs/segments.md)')
    tags: list[str] = Field(default_factory=list, max_length=20, description="tag codes a member must also carry")


class PreviewQuery(SegmentQuery):
    limit: int = Field(20, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ExportQuery(SegmentQuery):
    purpose: str = Field(min_length=2, max_length=500, description="why; written to the audit log")
    use: Literal["service", "marketing", "partner_sharing", "profiling"] = Field(
        "service", description="What the list is for: other than service, only customers whose consent covers it")


class BadRule(Exception):
    """A rule or tag the caller must fix: answered 400 with what and where."""

    def __init__(self, message: str, *, position: int | None = None, reason: str | None = None,
                 error: str = "invalid_rule") -> None:
        super().__init__(message)
        self.message, self.position, self.reason, self.error = message, position, reason, error

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.position is not None:
            out |= {"position": self.position, "column": self.position + 1, "reason": self.reason}
        return out


@dataclass(frozen=True)
class Checked:
    rule: Rule
    tags: tuple[str, ...]
    library: TagLibrary
    sensitive: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        return {"rule": self.rule.text, "tags": list(self.tags)}


def check(state: AppState, principal: Principal, rule: str, tags: list[str]) -> Checked:
    """Parse the rule, resolve the tags, and refuse fields the caller may not see."""
    try:
        parsed = parse_rule(rule)
    except RuleError as e:
        raise BadRule(str(e), position=e.position, reason=e.reason) from e
    library = load_tag_library(state.settings.data_dir)
    codes: list[str] = []
    sensitive = set(parsed.sensitive_columns)
    for wanted in dict.fromkeys(t.strip() for t in tags if t.strip()):
        try:
            tag = library.get(wanted)
        except UnknownName as e:
            raise BadRule(f"tags: {e}", error="unknown_tag") from e
        codes.append(tag.code)
        sensitive |= tag.rule.sensitive_columns
    hidden = sorted(c for c in sensitive if field_view(principal, c) is FieldView.HIDDEN)
    if hidden:
        raise HTTPException(403, f"your role may not select customers by {', '.join(hidden)} "
                                 "(a rule or tag uses it)")
    return Checked(parsed, tuple(codes), library, tuple(sorted(sensitive)))


def scope_ids(state: AppState, principal: Principal) -> list[str] | None:
    """The caller's customers (None: every customer, no filter needed)."""
    rule = row_rule(principal)
    if rule.everything:
        return None
    if rule.nothing:
        return []
    cust = reflected(state.engine, "customer")
    with state.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(cust.c.customer_id)
                                           .where(scope_condition(rule, cust.c.customer_id)))]


def _members(wh: Any, checked: Checked, ids: list[str] | None) -> Any:
    customers = customer_360(wh)
    expr = customers.filter(segment_filter(customers, checked.rule, tags=checked.tags, library=checked.library))
    if ids is not None:
        mine = ibis.memtable({"customer_id": ids}, schema={"customer_id": "string"})
        expr = expr.filter(expr.customer_id.isin(mine.customer_id))
    return expr


def audit_sensitive(state: AppState, principal: Principal, checked: Checked, request: Request, what: str) -> None:
    if checked.sensitive:
        record(state, principal, "sensitive_filter", "segment", checked.rule.text[:160], request,
               columns=list(checked.sensitive), tags=list(checked.tags), use=what)


def count(state: AppState, principal: Principal, checked: Checked) -> int:
    ids = scope_ids(state, principal)
    if ids == []:
        return 0
    with read_warehouse(state) as wh:
        expr = _members(wh, checked, ids).count()
        return int(run_in_engine(wh, "count a segment", expr.execute))


def member_ids(state: AppState, principal: Principal, checked: Checked, *, limit: int, offset: int = 0
               ) -> list[str]:
    ids = scope_ids(state, principal)
    if ids == []:
        return []
    with read_warehouse(state) as wh:
        expr = _members(wh, checked, ids).select("customer_id").order_by("customer_id").limit(limit, offset=offset)
        table = run_in_engine(wh, "read segment members", expr.to_pyarrow)
    return [str(v) for v in table.column("customer_id").to_pylist()]


def records(state: AppState, principal: Principal, customer_ids: list[str]) -> list[dict[str, Any]]:
    """Masked records of the given customers, in that order, within the caller's scope."""
    cust, c360 = reflected(state.engine, "customer"), reflected(state.engine, "customer_360")
    cols = [cust.c[c] for c in SEARCH_COLUMNS] + [c360.c[c] for c in PREVIEW_EXTRA]
    rule = row_rule(principal)
    found: dict[str, dict[str, Any]] = {}
    with state.engine.connect() as conn:
        for start in range(0, len(customer_ids), CHUNK):
            chunk = customer_ids[start:start + CHUNK]
            query = (select(*cols).select_from(cust.outerjoin(c360, c360.c.customer_id == cust.c.customer_id))
                     .where(cust.c.customer_id.in_(chunk), scope_condition(rule, cust.c.customer_id)))
            for row in conn.execute(query):
                found[row.customer_id] = shape(principal, dict(row._mapping), state.cipher)
    return [found[c] for c in customer_ids if c in found]


def preview(state: AppState, principal: Principal, checked: Checked, *, limit: int, offset: int) -> dict[str, Any]:
    total = count(state, principal, checked)
    ids = member_ids(state, principal, checked, limit=limit, offset=offset) if offset < total else []
    return checked.describe() | {"customers": total, "items": records(state, principal, ids), "limit": limit,
                                 "offset": offset}


def export_csv(state: AppState, principal: Principal, checked: Checked, purpose: str, request: Request,
               use: str = "service") -> tuple[str, int, int]:
    """CSV of the segment's members in the caller's scope, masked as on screen; audited. ``use`` other than
    ``service`` keeps only the members whose consent covers it (``storage.journeys.consented``). Returns
    the text, the rows written and how many members were left out for want of consent."""
    if use not in journey_store.EXPORT_USES:
        raise HTTPException(422, f"use: must be one of {', '.join(journey_store.EXPORT_USES)}")
    ids = member_ids(state, principal, checked, limit=MAX_EXPORT + 1)
    if len(ids) > MAX_EXPORT:
        raise HTTPException(413, f"the segment has more than {MAX_EXPORT:,} customers; narrow the rule, or export "
                                 "it with `shouhu segment export` on the server")
    no_consent = 0
    if use != "service":
        allowed = journey_store.consented(state.engine, ids, use)
        no_consent, ids = len(ids) - len(allowed), [cid for cid in ids if cid in allowed]
    rows = records(state, principal, ids)
    text = csv_text(EXPORT_COLUMNS, rows)  # formulas neutralised (privacy.csv_export)
    record(state, principal, "export", "segment", checked.rule.text[:160], request, reason=purpose.strip(),
           rule=checked.rule.text, tags=list(checked.tags), count=len(rows), columns=list(EXPORT_COLUMNS),
           sensitive_filter=list(checked.sensitive), use=use, no_consent=no_consent)
    return text, len(rows), no_consent


def tag_counts(state: AppState, principal: Principal) -> dict[str, int]:
    """Customers per tag within the caller's scope, from the published customer_tag. Kept for a minute
    per scope: the table changes only at a refresh, and counting a whole book's tags takes a while."""
    rule = row_rule(principal)
    cache: dict[tuple[Any, ...], tuple[float, dict[str, int]]] = state.extra.setdefault("segments.tag_counts", {})
    key, now = (rule.column, rule.value, rule.nothing), time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    tag = reflected(state.engine, "customer_tag")
    with state.engine.connect() as conn:
        counts: dict[str, int] = {str(t): int(n) for t, n in conn.execute(
            select(tag.c.tag, func.count()).where(scope_condition(rule, tag.c.customer_id)).group_by(tag.c.tag))}
    if len(cache) > 1000:
        cache.clear()
    cache[key] = (now + TAG_COUNT_TTL_S, counts)
    return counts


def tags_in_scope(state: AppState, principal: Principal) -> list[dict[str, Any]]:
    """The tag library with each tag's customers within the caller's scope."""
    library = load_tag_library(state.settings.data_dir)
    counts = tag_counts(state, principal)
    return [t.to_dict() | {"customers": int(counts.get(t.code, 0)),
                           "usable": all(field_view(principal, c) is not FieldView.HIDDEN
                                         for c in t.rule.sensitive_columns)} for t in library]


def columns() -> list[dict[str, Any]]:
    return [{"column": f.name, "type": f.dtype, "zh": f.zh, "en": f.en, "sensitive": f.sensitive}
            for f in (*CUSTOMER_360.fields, *CUSTOMER_GAP.fields[1:])]


# --- API ----------------------------------------------------------------------------------------

def _bad(e: BadRule) -> JSONResponse:
    return JSONResponse(e.body(), status_code=400)


@router.get("/tags", summary="The tag library, with each tag's customers within your scope")
def list_tags(request: Request, principal: Principal = Reader) -> dict[str, Any]:
    items = tags_in_scope(app_state(request), principal)
    return {"items": items, "count": len(items)}


@router.get("/segments/columns", summary="Columns a rule may use, with type and label")
def list_columns(principal: Principal = Reader) -> dict[str, Any]:
    return {"items": columns()}


@router.post("/segments/count", summary="How many of your customers match the rule (and tags)",
             response_model=None, responses={400: {"description": "the rule does not parse: position and problem"}})
def count_segment(body: SegmentQuery, request: Request, principal: Principal = Reader) -> dict[str, Any] | Response:
    state = app_state(request)
    try:
        checked = check(state, principal, body.rule, body.tags)
    except BadRule as e:
        return _bad(e)
    n = count(state, principal, checked)
    audit_sensitive(state, principal, checked, request, "count")
    return checked.describe() | {"customers": n}


@router.post("/segments/preview", summary="A page of the matching customers (masked)", response_model=None,
             responses={400: {"description": "the rule does not parse: position and problem"}})
def preview_segment(body: PreviewQuery, request: Request, principal: Principal = Reader
                    ) -> dict[str, Any] | Response:
    state = app_state(request)
    try:
        checked = check(state, principal, body.rule, body.tags)
    except BadRule as e:
        return _bad(e)
    result = preview(state, principal, checked, limit=body.limit, offset=body.offset)
    audit_sensitive(state, principal, checked, request, "preview")
    return result


@router.post("/segments/export", summary="CSV of the matching customers in your scope, masked (audited)",
             response_class=Response, responses={200: {"content": {"text/csv": {}}},
                                                 400: {"description": "the rule does not parse"}})
def export_segment(body: ExportQuery, request: Request,
                   principal: Principal = Depends(require(Action.SEGMENT_EXPORT))) -> Response:
    state = app_state(request)
    try:
        checked = check(state, principal, body.rule, body.tags)
    except BadRule as e:
        return _bad(e)
    text, rows, no_consent = export_csv(state, principal, checked, body.purpose, request, body.use)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="segment.csv"',
                             "X-Rows": str(rows), "X-Left-Out-No-Consent": str(no_consent)})
