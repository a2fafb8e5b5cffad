"""Lapse-risk model: features per in-force regular-premium policy at a snapshot date (Ibis), the
label "lapsed within the next 12 months", out-of-time training and a ``lapse_score`` table.

Every feature is computed from rows dated on or before the snapshot: payments due by then (a payment
made after the snapshot counts as unpaid at the snapshot), status events up to then, touchpoints in
the 90 days up to then, ages and tenures at then. The policy table's current ``status`` is never read.
Party attributes without history (income, gender) are taken as they are now; see docs/scoring.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from shouhu.scoring import apply, persistency, registry
from shouhu.scoring.train import TrainConfig, train
from shouhu.storage.exprs import one_per

Tables = Mapping[str, ir.Table]
# Reasons (SHAP contributions) for the riskiest 30% only: the deciles agents act on; ~1 ms a row.
REASONS_TOP_SHARE = 0.3
LABEL = "lapsed_12m"
MODEL_NAME = "lapse"
SCORE_TABLE = "lapse_score"
IN_FORCE = ("in_force", "reinstated")
TABLES = ("src_policy", "src_premium_payment", "src_policy_status_event", "src_product", "src_party",
          "src_staff", "src_touchpoint", "identity_cluster")


def _days(later: Any, earlier: Any) -> ir.IntegerValue:
    return later.delta(earlier, unit="day")


def in_force_at(tables: Tables, snapshot: date) -> ir.Table:
    """Regular-premium policies in force at ``snapshot`` with premiums still to pay."""
    pol = tables["src_policy"]
    ev = tables["src_policy_status_event"]
    s = ibis.date(snapshot)
    past = ev.filter(ev.effective_date <= s)
    last = past.group_by(past.policy_no).aggregate(_status=past.status.argmax(past.effective_date))
    pol = pol.filter(pol.payment_frequency.isin(list(persistency.PER_YEAR)), pol.issue_date <= s,
                     pol.premium_term_years.isnull()
                     | (pol.issue_date + pol.premium_term_years.cast("int32").as_interval("Y") > s))
    j = pol.join(last.filter(last._status.isin(list(IN_FORCE))), "policy_no")
    return j.select("policy_no", "_source", "holder_record_id", "agent_id", "product_code", "channel", "issue_date",
                    "annual_premium", "payment_frequency", "sum_assured", "premium_term_years")


def payment_features(tables: Tables, snapshot: date) -> ir.Table:
    pay = tables["src_premium_payment"]
    s = ibis.date(snapshot)
    p = pay.filter(pay.due_date <= s)
    paid = p.paid_date.notnull() & (p.paid_date <= s)
    late = ibis.ifelse(paid, _days(p.paid_date, p.due_date), _days(s, p.due_date))
    return p.group_by(p.policy_no).aggregate(
        installments_due=p.count(),
        payments_count=ibis.ifelse(paid, 1, 0).sum(),
        on_time_ratio=ibis.ifelse(paid & (p.paid_date <= p.due_date), 1.0, 0.0).mean(),
        max_days_late=ibis.greatest(late, 0).max(),
        days_overdue_now=ibis.ifelse(paid, 0, _days(s, p.due_date)).max(),
        days_since_last_payment=_days(s, ibis.ifelse(paid, p.paid_date, ibis.null("date")).max()),
    )


def _owner(tables: Tables) -> ir.Table | None:
    ic = tables.get("identity_cluster")
    return None if ic is None else ic.select(_o_source=ic.source, _o_record=ic.record_id, customer_id=ic.customer_id)


def _touchpoints(tables: Tables, snapshot: date, owner: ir.Table | None) -> ir.Table | None:
    tp = tables.get("src_touchpoint")
    if tp is None:
        return None
    s = ibis.timestamp(pd.Timestamp(snapshot + timedelta(days=1)).to_pydatetime())
    start = ibis.timestamp(pd.Timestamp(snapshot - timedelta(days=89)).to_pydatetime())
    tp = tp.filter(tp.occurred_at >= start, tp.occurred_at < s)
    if owner is None:
        return tp.group_by([tp._source, tp.record_id]).aggregate(touchpoints_90d=tp.count()).rename(
            _t_source="_source", _t_record="record_id")
    j = tp.join(owner, [tp._source == owner._o_source, tp.record_id == owner._o_record])
    return j.group_by(j.customer_id).aggregate(touchpoints_90d=j.count()).rename(_t_customer="customer_id")


def _age_years(birth: Any, snapshot: date) -> ir.FloatingValue:
    return (_days(ibis.date(snapshot), birth) / 365.25).floor()


def customer_features(tables: Tables, base: ir.Table, snapshot: date) -> ir.Table:
    party = tables["src_party"]
    pt = one_per(party.select(_p_source=party._source, _p_record=party.record_id,
                      holder_age=_age_years(party.birth_date, snapshot), holder_income=party.annual_income,
                      holder_gender=party.gender), ["_p_source", "_p_record"])
    t = base.left_join(pt, [base._source == pt._p_source, base.holder_record_id == pt._p_record])
    t = t.drop("_p_source", "_p_record")
    owner = _owner(tables)
    if owner is not None:
        t = t.left_join(owner, [t._source == owner._o_source, t.holder_record_id == owner._o_record])
        t = t.drop("_o_source", "_o_record")
        ic = tables["identity_cluster"]
        sources = ic.group_by(ic.customer_id).aggregate(channel_count=ic.source.nunique())
        sources = sources.rename(_c_customer="customer_id")
        t = t.left_join(sources, t.customer_id == sources._c_customer).drop("_c_customer")
    else:
        t = t.mutate(customer_id=ibis.null("string"), channel_count=ibis.null("int64"))
    tp = _touchpoints(tables, snapshot, owner)
    if tp is None:
        return t.mutate(touchpoints_90d=0)
    if owner is not None:
        t = t.left_join(tp, t.customer_id == tp._t_customer).drop("_t_customer")
    else:
        t = t.left_join(tp, [t._source == tp._t_source, t.holder_record_id == tp._t_record])
        t = t.drop("_t_source", "_t_record")
    return t.mutate(touchpoints_90d=t.touchpoints_90d.fill_null(0))


def features_at(tables: Tables, snapshot: date, *, label: bool = True) -> ir.Table:
    """One row per in-force regular-premium policy at ``snapshot``; with ``label``, ``lapsed_12m``."""
    base = in_force_at(tables, snapshot)
    s = ibis.date(snapshot)
    pay = payment_features(tables, snapshot).rename(_pay_policy="policy_no")
    t = base.left_join(pay, base.policy_no == pay._pay_policy).drop("_pay_policy")
    prod = one_per(tables["src_product"].select("product_code", "product_type", "risk_grade"), "product_code")
    prod = prod.rename(_pr_code="product_code")
    t = t.left_join(prod, t.product_code == prod._pr_code).drop("_pr_code")
    staff = tables["src_staff"]
    st = one_per(staff.select(_s_id=staff.staff_id, _hire=staff.hire_date), "_s_id")
    t = t.left_join(st, t.agent_id == st._s_id).drop("_s_id")
    t = customer_features(tables, t, snapshot)
    t = t.mutate(
        snapshot_date=s,
        policy_age_months=(_days(s, t.issue_date) / 30.4375).floor(),
        agent_tenure_years=ibis.ifelse(t._hire <= s, _days(s, t._hire) / 365.25, ibis.null("float64")),
    ).drop("_hire", "_source", "holder_record_id", "agent_id", "issue_date", "product_code")
    return _with_label(tables, t, snapshot) if label else t


def _with_label(tables: Tables, t: ir.Table, snapshot: date) -> ir.Table:
    ev = tables["src_policy_status_event"]
    end = snapshot + timedelta(days=365)
    lapses = ev.filter(ev.status == "lapsed", ev.effective_date > ibis.date(snapshot),
                       ev.effective_date <= ibis.date(end)).select(_l_policy=ev.policy_no).distinct()
    t = t.left_join(lapses, t.policy_no == lapses._l_policy)
    return t.mutate(**{LABEL: ibis.ifelse(t._l_policy.notnull(), 1, 0)}).drop("_l_policy")


def load_tables(wh: Any) -> dict[str, ir.Table]:
    return {n: wh.table(n) for n in TABLES if wh.has_table(n)}


def to_frame(expr: ir.Table) -> pd.DataFrame:
    df: pd.DataFrame = expr.order_by("policy_no").to_pyarrow().to_pandas()
    df["snapshot_date"] = pd.to_datetime(df["snapshot_date"])
    return df


def training_frame(tables: Tables, horizon: date) -> pd.DataFrame:
    """Snapshots at horizon - 24 months (train) and horizon - 12 months (test), labels inside the data."""
    frames = [to_frame(features_at(tables, _months_back(horizon, m))) for m in (24, 12)]
    return pd.concat(frames, ignore_index=True).drop(columns=["customer_id"])


def _months_back(d: date, months: int) -> date:
    return (pd.Timestamp(d) - pd.DateOffset(months=months)).date()


def train_lapse(tables: Tables, root: Path, *, horizon: date | None = None, seed: int = 42,
                rounds: int = 200, name: str = MODEL_NAME) -> registry.Artifact:
    horizon = horizon or persistency.default_as_of(tables)
    df = training_frame(tables, horizon)
    cfg = TrainConfig(target=LABEL, id_column="policy_no", time_column="snapshot_date", seed=seed, rounds=rounds)
    return train(df, cfg, root, name)


def score_table(tables: Tables, art: registry.Artifact, snapshot: date) -> tuple[pa.Table, list[str]]:
    """``lapse_score`` rows for the policies in force at ``snapshot``, and any drift warnings."""
    df = to_frame(features_at(tables, snapshot, label=False))
    scored = apply.score(art, df, reasons_top_share=REASONS_TOP_SHARE)
    p = scored.frame["probability"].to_numpy()
    rank = pd.Series(-p).rank(method="first").to_numpy()
    decile = np.ceil(rank * 10 / max(len(p), 1)).astype("int64")
    out = pa.table({
        "policy_no": pa.array(df["policy_no"], pa.string()),
        "customer_id": pa.array(df["customer_id"].astype(object).where(df["customer_id"].notna(), None), pa.string()),
        "snapshot_date": pa.array(df["snapshot_date"].dt.date, pa.date32()),
        "probability": pa.array(p, pa.float64()),
        "decile": pa.array(decile, pa.int64()),
        "reasons": pa.array([json.dumps(r, ensure_ascii=False) for r in scored.frame["reasons"]], pa.string()),
        "model": pa.array([art.ref] * len(df), pa.string()),
    })
    return out, scored.warnings


def score_warehouse(wh: Any, root: Path, ref: str = MODEL_NAME, snapshot: date | None = None) -> dict[str, Any]:
    tables = load_tables(wh)
    art = registry.load(root, ref)
    snapshot = snapshot or persistency.default_as_of(tables)
    table, warnings = score_table(tables, art, snapshot)
    wh.write_table(SCORE_TABLE, table)
    return {"model": art.ref, "snapshot": snapshot.isoformat(), "rows": table.num_rows, "warnings": warnings}
