"""Cross-sell propensity per product type: will the customer buy a policy of this type in 12 months?

Features are point-in-time, per golden customer at a snapshot date (Ibis, from the source tables
mapped through ``identity_cluster``): age, gender and income from the channel records; policies held
(as policyholder) and their premium, by type, issued on or before the snapshot; tenure; channels known;
touchpoints in the 90 days up to the snapshot. The population is the customers with a channel record
created by then. ``customer_360`` holds only the as-of picture, so it is not used for training: the same
feature function runs at past snapshots and at the as-of date, and nothing dated after the snapshot is read.

Label: a policy of the type issued (customer as holder) in (snapshot, snapshot + 365 days]. One model per
type, trained with ``scoring.train`` on snapshots 12, 24, 36 and 48 months before the horizon
(out-of-time folds: train on earlier snapshots, test on the next), registered as ``crosssell_<type>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from shouhu.errors import InvalidInput, UnknownName
from shouhu.scoring import apply, registry
from shouhu.scoring.train import TrainConfig, train
from shouhu.storage.exprs import one_per

Tables = Mapping[str, ir.Table]
# Reasons (SHAP contributions) for the riskiest 30% only: the deciles agents act on; ~1 ms a row.
REASONS_TOP_SHARE = 0.3
TABLE = "crosssell_score"
LABEL = "bought_12m"
PRODUCT_TYPES: tuple[str, ...] = ("critical_illness", "medical", "annuity")
HELD_TYPES: tuple[str, ...] = ("term_life", "whole_life", "critical_illness", "medical", "accident", "annuity",
                               "endowment")
SNAPSHOT_MONTHS: tuple[int, ...] = (48, 36, 24, 12)
TABLES = ("src_party", "src_policy", "src_product", "src_touchpoint", "identity_cluster")


def model_name(product_type: str) -> str:
    return f"crosssell_{product_type}"


def load_tables(wh: Any) -> dict[str, ir.Table]:
    missing = [n for n in TABLES if not wh.has_table(n) and n != "src_touchpoint"]
    if missing:
        raise InvalidInput(f"cross-sell needs the tables {', '.join(missing)}", missing=missing)
    return {n: wh.table(n) for n in TABLES if wh.has_table(n)}


def _days(later: Any, earlier: Any) -> ir.IntegerValue:
    return later.delta(earlier, unit="day")


def _ts(d: date) -> Any:
    return ibis.timestamp(datetime.combine(d, datetime.min.time()))


def _held(tables: Tables) -> ir.Table:
    """Policies with their holder's customer id and product type (any date)."""
    pol, ic = tables["src_policy"], tables["identity_cluster"]
    prod = one_per(tables["src_product"].select("product_code", "product_type"), "product_code")
    prod = prod.rename(_pr_code="product_code")
    j = pol.join(ic, [pol._source == ic.source, pol.holder_record_id == ic.record_id])
    j = j.select("policy_no", "customer_id", "product_code", "issue_date", "annual_premium")
    j = j.left_join(prod, j.product_code == prod._pr_code).drop("_pr_code")
    return one_per(j, "policy_no")


def features_at(tables: Tables, snapshot: date, *, types: Sequence[str] = PRODUCT_TYPES,
                label: bool = True) -> ir.Table:
    """One row per customer known at ``snapshot``; with ``label``, ``bought_<type>`` columns."""
    s = ibis.date(snapshot)
    party, ic = tables["src_party"], tables["identity_cluster"]
    p = party.join(ic, [party._source == ic.source, party.record_id == ic.record_id])
    p = p.filter(p.created_at < _ts(snapshot + timedelta(days=1)))
    people = p.group_by("customer_id").aggregate(
        age=(_days(s, p.birth_date.min()) / 365.25).floor(),
        female=ibis.ifelse(p.gender == "F", 1, 0).max(),
        income=p.annual_income.max(),
        channel_count=p._source.nunique(),
    )
    held = _held(tables)
    past = held.filter(held.issue_date <= s)
    agg: dict[str, Any] = {
        "policies": past.count(), "premium_total": past.annual_premium.sum(),
        "tenure_years": _days(s, past.issue_date.min()) / 365.25,
        "days_since_last_policy": _days(s, past.issue_date.max()),
    }
    for t in HELD_TYPES:
        agg[f"has_{t}"] = ibis.ifelse(past.product_type == t, 1, 0).max()
    hold = past.group_by("customer_id").aggregate(**agg).rename(_h_customer="customer_id")
    out = people.left_join(hold, people.customer_id == hold._h_customer).drop("_h_customer")
    out = out.mutate(policies=out.policies.fill_null(0), premium_total=out.premium_total.fill_null(0.0),
                     **{f"has_{t}": out[f"has_{t}"].fill_null(0) for t in HELD_TYPES})
    tp = tables.get("src_touchpoint")
    if tp is not None:
        tp = tp.filter(tp.occurred_at >= _ts(snapshot - timedelta(days=89)),
                       tp.occurred_at < _ts(snapshot + timedelta(days=1)))
        tj = tp.join(ic, [tp._source == ic.source, tp.record_id == ic.record_id])
        touch = tj.group_by("customer_id").aggregate(touchpoints_90d=tj.count()).rename(_t_customer="customer_id")
        out = out.left_join(touch, out.customer_id == touch._t_customer).drop("_t_customer")
        out = out.mutate(touchpoints_90d=out.touchpoints_90d.fill_null(0))
    else:
        out = out.mutate(touchpoints_90d=0)
    out = out.mutate(snapshot_date=s)
    if not label:
        return out
    future = held.filter(held.issue_date > s, held.issue_date <= ibis.date(snapshot + timedelta(days=365)))
    bought = future.group_by("customer_id").aggregate(
        **{f"bought_{t}": ibis.ifelse(future.product_type == t, 1, 0).max() for t in types}
    ).rename(_b_customer="customer_id")
    out = out.left_join(bought, out.customer_id == bought._b_customer).drop("_b_customer")
    return out.mutate(**{f"bought_{t}": out[f"bought_{t}"].fill_null(0) for t in types})


def to_frame(expr: ir.Table) -> pd.DataFrame:
    df: pd.DataFrame = expr.order_by("customer_id").to_pyarrow().to_pandas()
    df["snapshot_date"] = pd.to_datetime(df["snapshot_date"])
    return df


def _months_back(d: date, months: int) -> date:
    return (pd.Timestamp(d) - pd.DateOffset(months=months)).date()


def training_frame(tables: Tables, horizon: date, *, types: Sequence[str] = PRODUCT_TYPES,
                   months: Sequence[int] = SNAPSHOT_MONTHS) -> pd.DataFrame:
    """Labelled snapshots ``months`` before ``horizon`` (each at least 12 months back: labels are complete)."""
    if min(months) < 12:
        raise InvalidInput("snapshots must be at least 12 months before the horizon (the label window)")
    frames = [to_frame(features_at(tables, _months_back(horizon, m), types=types)) for m in months]
    return pd.concat(frames, ignore_index=True)


def train_crosssell(tables: Tables, root: Path, horizon: date, *, types: Sequence[str] = PRODUCT_TYPES,
                    seed: int = 42, rounds: int = 60) -> dict[str, Any]:
    """Train one registered model per type; a type without enough positives is reported, not trained."""
    df = training_frame(tables, horizon, types=types)
    base = df.drop(columns=[f"bought_{t}" for t in types] + ["customer_id"])
    result: dict[str, Any] = {}
    for t in types:
        data = base.assign(**{LABEL: df[f"bought_{t}"].to_numpy()})
        cfg = TrainConfig(target=LABEL, time_column="snapshot_date", seed=seed, rounds=rounds, folds=3,
                          num_leaves=7, min_data_in_leaf=10)
        try:
            art = train(data, cfg, root, model_name(t))
        except InvalidInput as e:
            result[t] = {"skipped": e.message, "positives": int(data[LABEL].sum())}
            continue
        result[t] = {"model": art.ref, "rows": len(data), "positives": int(data[LABEL].sum()),
                     "auc": art.meta["metrics"].get("auc")}
    return result


def _plain(reasons: list[str]) -> list[str]:
    return [r.replace("raises the risk", "raises the propensity").replace("lowers the risk", "lowers the propensity")
            for r in reasons]


def score_table(tables: Tables, root: Path, as_of: date, *, types: Sequence[str] = PRODUCT_TYPES) -> pa.Table:
    """``crosssell_score`` rows (customer_id, product_type, probability, decile, reasons, model) at ``as_of``
    for every type with a registered model."""
    df = to_frame(features_at(tables, as_of, label=False))
    parts = []
    for t in types:
        try:
            art = registry.load(root, model_name(t))
        except UnknownName:  # no model for this type yet: nothing to score
            continue
        scored = apply.score(art, df, reasons_top_share=REASONS_TOP_SHARE)
        p = scored.frame["probability"].to_numpy(dtype=float)
        rank = pd.Series(-p).rank(method="first").to_numpy()
        parts.append(pd.DataFrame({
            "customer_id": df["customer_id"], "product_type": t, "probability": p,
            "decile": np.ceil(rank * 10 / max(len(p), 1)).astype("int64"),
            "reasons": [json.dumps(_plain(r), ensure_ascii=False) for r in scored.frame["reasons"]],
            "model": art.ref,
        }))
    cols = ["customer_id", "product_type", "probability", "decile", "reasons", "model"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    schema = pa.schema([("customer_id", pa.string()), ("product_type", pa.string()), ("probability", pa.float64()),
                        ("decile", pa.int64()), ("reasons", pa.string()), ("model", pa.string())])
    return pa.Table.from_pandas(out[cols], schema=schema, preserve_index=False)


def build_crosssell(wh: Any, root: Path, as_of: date, *, train_models: bool = True,
                    types: Sequence[str] = PRODUCT_TYPES, seed: int = 42) -> dict[str, Any]:
    """Train (unless ``train_models`` is false: use the registered models) and write ``crosssell_score``."""
    tables = load_tables(wh)
    trained = train_crosssell(tables, root, as_of, types=types, seed=seed) if train_models else {}
    table = score_table(tables, root, as_of, types=types)
    wh.write_table(TABLE, table)
    return {"trained": trained, "rows": table.num_rows}
