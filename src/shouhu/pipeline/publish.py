"""Shape the warehouse marts for the serving database and publish them atomically.

Sensitive fields leave the warehouse only encrypted (``*_enc``), with a masked copy for display
(``*_masked``) and a blind index for exact search (``*_bidx``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import partial
from typing import Any

import ibis
import pyarrow as pa

from shouhu.customer360.detail import policy_rows, scope_expr, staff_expr, timeline_rows
from shouhu.customer360.step import input_tables
from shouhu.identity.search import SearchTokens, token_rows
from shouhu.model.marts import CUSTOMER, CUSTOMER_360
from shouhu.model.masking import mask
from shouhu.operations import renewal
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage.exprs import one_per
from shouhu.storage.publish import Rows, publish_tables
from shouhu.storage.warehouse import Warehouse
from shouhu.storage.workforce import overlay_scope
from shouhu.workforce.producers import producer_expr

BATCH = 20_000
MASKED = ("name", "phone", "id_number")
INDEXED = ("name", "phone", "id_number")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def protect(rows: list[dict[str, Any]], sensitive: list[str], cipher: FieldCipher) -> list[dict[str, Any]]:
    """Replace each sensitive field by its encrypted (and, where useful, masked and indexed) forms."""
    out = []
    for row in rows:
        shaped = {k: v for k, v in row.items() if k not in sensitive}
        for field in sensitive:
            value = _text(row.get(field))
            shaped[f"{field}_enc"] = cipher.encrypt(value)
            if field in MASKED:
                shaped[f"{field}_masked"] = None if value is None else mask(field, value)
            if field in INDEXED:
                shaped[f"{field}_bidx"] = cipher.blind_index(value)
        out.append(shaped)
    return out


def _sensitive(entity: Any) -> list[str]:
    return [f.name for f in entity.fields if f.sensitive]


def provenance_documents(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One JSON document per customer from provenance rows sorted by customer_id, batch by batch."""
    current: str | None = None
    doc: dict[str, Any] = {}
    out: list[dict[str, str]] = []

    def document() -> dict[str, str]:
        assert current is not None
        return {"customer_id": current, "provenance": json.dumps(doc, ensure_ascii=False, sort_keys=True)}

    for batch in batches:
        for r in batch.to_pylist():
            if r["customer_id"] != current:
                if current is not None:
                    out.append(document())
                current, doc = r["customer_id"], {}
            doc[r["field"]] = {k: r[k] for k in ("value", "unique_id", "source", "channel", "rule")}
        if len(out) >= BATCH:
            yield pa.RecordBatch.from_pylist(out)
            out = []
    if current is not None:
        out.append(document())
    if out:
        yield pa.RecordBatch.from_pylist(out)


def review_rows(wh: Warehouse) -> pa.Table:
    pairs = wh.table("identity_pair")
    cluster = wh.table("identity_cluster").select("unique_id", "customer_id")
    left, right = cluster.view(), cluster.view()
    review = pairs.filter(pairs.decision == "review")
    first = review.left_join(left, review.unique_id_l == left.unique_id).select(
        review.unique_id_l, review.unique_id_r, review.match_probability, review.match_weight, review.explanation,
        customer_id_l=left.customer_id)
    both = first.left_join(right, first.unique_id_r == right.unique_id).select(
        first.unique_id_l, first.unique_id_r, first.customer_id_l, customer_id_r=right.customer_id,
        match_probability=first.match_probability, match_weight=first.match_weight, explanation=first.explanation)
    return both.to_pyarrow()


def _stream(wh: Warehouse, name: str, order_by: str | None = None) -> Iterator[pa.RecordBatch]:
    t = wh.table(name)
    if order_by:
        t = t.order_by(order_by)
    yield from t.to_pyarrow_batches(chunk_size=BATCH)


def _protected(wh: Warehouse, name: str, entity: Any, cipher: FieldCipher) -> Callable[[], Iterator[pa.RecordBatch]]:
    def batches() -> Iterator[pa.RecordBatch]:
        for batch in _stream(wh, name):
            yield pa.RecordBatch.from_pylist(protect(batch.to_pylist(), _sensitive(entity), cipher))

    return batches


def search_token_batches(wh: Warehouse, cipher: FieldCipher) -> Iterator[pa.RecordBatch]:
    """Rows of customer_search_token: keyed hashes of name pieces, pinyin, phone tail and city
    (identity.search); the clear values never leave this function."""
    tokens = SearchTokens.of(cipher)
    t = wh.table("customer")
    for batch in t.select(*[c for c in ("customer_id", "name", "phone", "city") if c in t.columns]) \
            .to_pyarrow_batches(chunk_size=BATCH):
        rows = list(token_rows(batch.to_pylist(), tokens))
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=TOKEN_SCHEMA)


TOKEN_SCHEMA = pa.schema([("customer_id", pa.string()), ("kind", pa.string()), ("token", pa.string())])


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _widen(t: Any, kind: str, schema: dict[str, Any]) -> Any:
    """``t`` with every column of ``schema`` (typed nulls for those it lacks) and a ``_kind`` column."""
    cols = {name: (t[name] if name in t.columns else ibis.null().cast(dtype)) for name, dtype in schema.items()}
    return t.select(customer_id=t.customer_id, _kind=ibis.literal(kind), **cols)


def detail_documents(wh: Warehouse, as_of: date) -> Iterator[pa.RecordBatch]:
    """One row per customer: its policies and latest touchpoints as JSON lists (the 360 page's rows).

    Policy and touchpoint rows are unioned into one wide table, joined to every customer and read as
    ONE stream sorted by customer id, grouped here run by run: portable to every engine (no arrays
    of structs; PostgreSQL cannot interleave two streaming cursors on one connection) and light on
    memory at a million customers.
    """
    tables = _tables(wh)
    policies = policy_rows(tables, as_of)
    timeline = timeline_rows(tables, as_of)
    pol_cols = [c for c in policies.columns if c != "customer_id"]
    tl_cols = [c for c in timeline.columns if c != "customer_id"]
    schema = {**{c: policies.schema()[c] for c in pol_cols}, **{c: timeline.schema()[c] for c in tl_cols}}
    rows = _widen(policies, "policy", schema).union(_widen(timeline, "event", schema))
    ids = wh.table("customer").select(_cid="customer_id")
    joined = ids.left_join(rows, ids._cid == rows.customer_id).drop("customer_id")
    stream = joined.order_by(["_cid", "_kind"]).to_pyarrow_batches(chunk_size=BATCH)

    out: list[dict[str, str]] = []
    current: Any = None
    pols: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def document() -> dict[str, str]:
        pols.sort(key=lambda p: (str(p["issue_date"]), p["policy_no"]), reverse=True)
        events.sort(key=lambda e: str(e["occurred_at"]), reverse=True)
        return {"customer_id": current, "policies": json.dumps(pols, ensure_ascii=False, default=_json_default),
                "timeline": json.dumps(events, ensure_ascii=False, default=_json_default)}

    for batch in stream:
        for r in batch.to_pylist():
            if r["_cid"] != current:
                if current is not None:
                    out.append(document())
                current, pols, events = r["_cid"], [], []
            if r["_kind"] == "policy":
                pols.append({c: r[c] for c in pol_cols})
            elif r["_kind"] == "event":
                events.append({c: r[c] for c in tl_cols})
        if len(out) >= BATCH:
            yield pa.RecordBatch.from_pylist(out, schema=DETAIL_SCHEMA)
            out = []
    if current is not None:
        out.append(document())
    if out:
        yield pa.RecordBatch.from_pylist(out, schema=DETAIL_SCHEMA)


DETAIL_SCHEMA = pa.schema([("customer_id", pa.string()), ("policies", pa.string()), ("timeline", pa.string())])


def _tables(wh: Warehouse) -> dict[str, Any]:
    tables = input_tables(wh)
    for name in ("customer_360", "src_staff", "src_product"):
        if wh.has_table(name):
            tables[name] = wh.table(name)
    return tables


def serving_tables(wh: Warehouse, cipher: FieldCipher, as_of: date | None = None) -> dict[str, Rows]:
    """The serving tables' rows, streamed from the warehouse marts batch by batch."""
    tables: dict[str, Rows] = {
        "customer": _protected(wh, "customer", CUSTOMER, cipher),
        "customer_360": _protected(wh, "customer_360", CUSTOMER_360, cipher),
        "customer_provenance": lambda: provenance_documents(_stream(wh, "customer_provenance", "customer_id")),
        "household_member": lambda: _stream(wh, "household_member"),
        "identity_record": lambda: _stream(wh, "identity_cluster"),
        "identity_review": lambda: iter(review_rows(wh).to_batches(BATCH)),
        "customer_search_token": partial(search_token_batches, wh, cipher),
    }
    if wh.has_table("customer_tag"):
        tables["customer_tag"] = lambda: _stream(wh, "customer_tag")
    for optional in ("customer_gap", "customer_value", "next_best_action"):
        if wh.has_table(optional):
            tables[optional] = partial(_stream, wh, optional)
    if wh.has_table("src_staff"):
        tables["staff"] = lambda: staff_expr(_tables(wh)).to_pyarrow_batches(chunk_size=BATCH)
    if all(wh.has_table(n) for n in ("src_policy", "identity_cluster")):
        tables["policy_producer"] = lambda: producer_expr(_tables(wh)).to_pyarrow_batches(chunk_size=BATCH)
    if wh.has_table("customer_360"):
        tables["customer_scope"] = lambda: scope_expr(_tables(wh)).to_pyarrow_batches(chunk_size=BATCH)
        tables["customer_detail"] = partial(detail_documents, wh, as_of or date.today())
    tables.update(score_tables(wh, as_of))
    due_sources = {n: wh.table(n) for n in renewal.NEEDS if wh.has_table(n)}
    if renewal.available(due_sources):
        when = as_of or date.today()
        tables[renewal.TABLE] = lambda: renewal.premium_due_expr(due_sources, when).to_pyarrow_batches(
            chunk_size=BATCH)
    in_force_sources = {n: wh.table(n) for n in (*renewal.IN_FORCE_NEEDS, "src_policy_status_event")
                        if wh.has_table(n)}
    if all(n in in_force_sources for n in renewal.IN_FORCE_NEEDS):
        when = as_of or date.today()
        tables[renewal.IN_FORCE_TABLE] = lambda: renewal.in_force_expr(in_force_sources, when).to_pyarrow_batches(
            chunk_size=BATCH)
    return tables


def score_tables(wh: Warehouse, as_of: date | None) -> dict[str, Rows]:
    """Per-customer persistency (for scoped dashboards) and, when the lapse model has run, its scores."""
    from shouhu.scoring import customer_persistency as cp
    from shouhu.scoring import persistency
    from shouhu.scoring.lapse import SCORE_TABLE

    out: dict[str, Rows] = {}
    sources = {n: wh.table(n) for n in (*cp.NEEDS, "src_policy_status_event", "src_product", "src_staff")
               if wh.has_table(n)}
    if cp.available(sources):
        when = as_of or persistency.default_as_of(sources)
        out[cp.TABLE] = lambda: cp.customer_persistency(sources, when).to_pyarrow_batches(chunk_size=BATCH)
    if wh.has_table(SCORE_TABLE):
        cols = ("policy_no", "customer_id", "snapshot_date", "probability", "decile", "reasons", "model")
        out[SCORE_TABLE] = lambda: one_per(wh.table(SCORE_TABLE).select(*cols), "policy_no").to_pyarrow_batches(
            chunk_size=BATCH)
    return out


def publish_marts(wh: Warehouse, serving_url: str, cipher: FieldCipher,
                  fail_after: str | None = None, as_of: date | None = None) -> dict[str, int]:
    return publish_tables(serving_url, serving_tables(wh, cipher, as_of), fail_after=fail_after,
                          finish=overlay_scope)
