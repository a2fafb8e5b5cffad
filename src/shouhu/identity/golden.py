"""Golden customer records: one row per resolved customer, each field chosen by a survivorship rule.

Written once in Ibis (runs on every warehouse engine). Inputs: ``identity_cluster`` and
``src_party``; outputs: ``customer`` and ``customer_provenance`` (which record, source and
channel each chosen value came from, and by which rule). Rules are configured in
``survivorship.toml`` (shipped beside this module; a user's copy in the data directory wins).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from shouhu.errors import ConfigError, UnknownName
from shouhu.model.marts import CUSTOMER, CUSTOMER_PROVENANCE
from shouhu.storage.warehouse import Warehouse

SHIPPED_RULES = Path(__file__).with_name("survivorship.toml")
RULES = ("most_trusted", "most_recent", "most_complete")
GOLDEN_FIELDS = ("name", "gender", "birth_date", "id_number", "phone", "email", "province", "city", "address",
                 "occupation", "occupation_class", "annual_income", "marital_status")


@dataclass(frozen=True)
class Survivorship:
    source_trust: tuple[str, ...]
    fields: Mapping[str, str]

    @classmethod
    def load(cls, path: Path | None = None) -> Survivorship:
        path = path if path is not None and path.is_file() else SHIPPED_RULES
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from e
        fields = dict(raw.get("fields", {}))
        for field, rule in fields.items():
            if field not in GOLDEN_FIELDS:
                raise UnknownName(f"golden field in {path}", field, GOLDEN_FIELDS)
            if rule not in RULES:
                raise UnknownName(f"survivorship rule for {field} in {path}", rule, RULES)
        missing = [f for f in GOLDEN_FIELDS if f not in fields]
        if missing:
            raise ConfigError(f"{path}: no survivorship rule for {missing}")
        return cls(tuple(raw.get("source_trust", [])), fields)


def _trust(records: ir.Table, trust: tuple[str, ...]) -> ir.IntegerValue:
    ranks = {source: i for i, source in enumerate(trust)}
    return records._source.substitute(ranks, else_=len(trust)).cast("int64")


def _order_keys(records: ir.Table, field: str, rule: str) -> list[Any]:
    trust, recency = records.trust_rank, ibis.desc(records.created_at, nulls_first=False)
    tiebreak = records.unique_id  # deterministic on every engine
    if rule == "most_trusted":
        return [trust, recency, tiebreak]
    if rule == "most_recent":
        return [recency, trust, tiebreak]
    return [ibis.desc(records[field].cast("string").length()), trust, recency, tiebreak]


def _mask_expr(field: str, value: ir.StringValue) -> ir.StringValue:
    """Mask sensitive values in provenance (the value itself is in ``customer``)."""
    if field == "phone":
        return value.substr(0, 3) + "****" + value.right(4)
    if field == "id_number":
        return value.substr(0, 3) + "***********" + value.right(4)
    if field == "name":
        return value.substr(0, 1) + "*"
    return ibis.literal("***")


def _records(tables: Mapping[str, ir.Table], rules: Survivorship) -> ir.Table:
    party, cluster = tables["src_party"], tables["identity_cluster"]
    joined = party.join(cluster, [party._source == cluster.source, party.record_id == cluster.record_id])
    records = joined.select(
        customer_id=joined.customer_id, unique_id=joined.unique_id, _source=joined._source,
        channel=joined.channel, created_at=joined.created_at, **{f: joined[f] for f in GOLDEN_FIELDS},
    )
    return records.mutate(trust_rank=_trust(records, rules.source_trust))


def best_values(records: ir.Table, field: str, rule: str) -> ir.Table:
    """Per customer, the record that wins ``field`` under ``rule``."""
    candidates = records.filter(records[field].notnull())
    ranked = candidates.mutate(
        _rank=ibis.row_number().over(group_by=candidates.customer_id, order_by=_order_keys(candidates, field, rule))
    )
    best = ranked.filter(ranked._rank == 0)
    return best.select(customer_id=best.customer_id, value=best[field], unique_id=best.unique_id,
                       source=best._source, channel=best.channel)


def golden_exprs(tables: Mapping[str, ir.Table], rules: Survivorship) -> tuple[ir.Table, ir.Table]:
    """(customer, customer_provenance) as Ibis expressions. Pure: no I/O."""
    records = _records(tables, rules)
    base = records.group_by("customer_id").aggregate(
        record_count=records.unique_id.count(),
        # collect → sort → join, not group_concat(order_by=...): Spark has no ordered string_agg.
        channels=records.channel.collect().sort().join(",").nullif(""),
        first_seen=records.created_at.min(),
    )
    golden = base
    provenance_parts = []
    for field in GOLDEN_FIELDS:
        rule = rules.fields[field]
        best = best_values(records, field, rule)
        chosen = best.select("customer_id", best.value.name(field))
        golden = golden.left_join(chosen, "customer_id").drop("customer_id_right")
        text = best.value.cast("string")
        shown = _mask_expr(field, text) if CUSTOMER.field(field).sensitive else text
        provenance_parts.append(best.select(
            customer_id=best.customer_id, field=ibis.literal(field), value=shown, unique_id=best.unique_id,
            source=best.source, channel=best.channel, rule=ibis.literal(rule)))
    customer = golden.select(*[golden[f.name] for f in CUSTOMER.fields])
    provenance = ibis.union(*provenance_parts).select(*CUSTOMER_PROVENANCE.field_names)
    return customer, provenance


def build_golden_records(wh: Warehouse, rules: Survivorship | None = None) -> int:
    """Materialise ``customer`` and ``customer_provenance``; returns the number of customers."""
    rules = rules or Survivorship.load()
    tables = {name: wh.table(name) for name in ("src_party", "identity_cluster")}
    customer, provenance = golden_exprs(tables, rules)
    wh.materialize("customer", customer)
    wh.materialize("customer_provenance", provenance)
    return int(wh.query("SELECT COUNT(*) FROM customer")[0][0])
