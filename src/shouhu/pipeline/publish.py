"""Shape the warehouse marts for the serving database and publish them atomically.

Sensitive fields leave the warehouse only encrypted (``*_enc``), with a masked copy for display
(``*_masked``) and a blind index for exact search (``*_bidx``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pyarrow as pa

from shouhu.model.marts import CUSTOMER, CUSTOMER_360
from shouhu.model.masking import mask
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage.publish import publish_tables
from shouhu.storage.warehouse import Warehouse

MASKED = ("name", "phone", "id_number")
INDEXED = ("phone", "id_number")


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


def provenance_documents(rows: list[dict[str, Any]]) -> pa.Table:
    docs: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in rows:
        docs[r["customer_id"]][r["field"]] = {k: r[k] for k in ("value", "unique_id", "source", "channel", "rule")}
    return pa.Table.from_pylist([{"customer_id": c, "provenance": json.dumps(d, ensure_ascii=False, sort_keys=True)}
                                 for c, d in sorted(docs.items())])


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


def serving_tables(wh: Warehouse, cipher: FieldCipher) -> dict[str, pa.Table]:
    """The serving tables' rows, built from the warehouse marts."""
    customer = protect(wh.read("customer").to_pylist(), _sensitive(CUSTOMER), cipher)
    c360 = protect(wh.read("customer_360").to_pylist(), _sensitive(CUSTOMER_360), cipher)
    tables = {
        "customer": pa.Table.from_pylist(customer),
        "customer_360": pa.Table.from_pylist(c360),
        "customer_provenance": provenance_documents(wh.read("customer_provenance").to_pylist()),
        "household_member": wh.read("household_member"),
        "identity_record": wh.read("identity_cluster"),
        "identity_review": review_rows(wh),
    }
    if wh.has_table("customer_tag"):
        tables["customer_tag"] = wh.read("customer_tag")
    return tables


def publish_marts(wh: Warehouse, serving_url: str, cipher: FieldCipher,
                  fail_after: str | None = None) -> dict[str, int]:
    return publish_tables(serving_url, serving_tables(wh, cipher), fail_after=fail_after)
