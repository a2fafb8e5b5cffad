"""Premium persistency per policyholder, so that any set of customers (a row scope: an agent's book,
a branch) sums to its own 13- and 25-month ratios.

The population and the received premium are exactly :mod:`shouhu.scoring.persistency`'s (one row
per measured policy); each policy is attributed to its holder's golden customer (the holder record
of the policy's own source, through ``identity_cluster``). A ratio over a set of customers is then
Σ premium_received / Σ premium_due of their rows. Policies whose holder record is in no cluster are
left out (they belong to no customer, so to no row scope).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import ibis.expr.types as ir

from shouhu.scoring.persistency import GRACE_DAYS, Tables, per_policy
from shouhu.storage.exprs import one_per

TABLE = "customer_persistency"
MONTHS = (13, 25)
NEEDS = ("src_policy", "src_premium_payment", "identity_cluster")


def available(tables: Tables) -> bool:
    return all(name in tables for name in NEEDS)


def policy_holders(tables: Tables) -> ir.Table:
    """``_h_policy``, ``customer_id``: one holder customer per policy number."""
    pol = tables["src_policy"]
    cluster = tables["identity_cluster"]
    owner = cluster.select(_o_source=cluster.source, _o_record=cluster.record_id, customer_id=cluster.customer_id)
    j = pol.join(owner, [pol._source == owner._o_source, pol.holder_record_id == owner._o_record])
    return one_per(j.select(_h_policy=j.policy_no, customer_id=j.customer_id), "_h_policy")


def customer_persistency(tables: Tables, as_of: date, months: Sequence[int] = MONTHS,
                         grace_days: int = GRACE_DAYS) -> ir.Table:
    """customer_id, month, policies, persisted, premium_due, premium_received (one row per holder and N)."""
    holders = policy_holders(tables)
    parts = []
    for month in months:
        rows = per_policy(tables, month, as_of, grace_days).select("policy_no", "due", "received", "persisted")
        j = rows.join(holders, rows.policy_no == holders._h_policy)
        parts.append(j.group_by("customer_id").aggregate(
            month=ibis.literal(month, type="int32"),
            policies=j.count(),
            persisted=j.policy_no.count(where=j.persisted == 1),
            premium_due=j.due.sum().cast("float64"),
            premium_received=j.received.sum().cast("float64"),
        ))
    return ibis.union(*parts) if len(parts) > 1 else parts[0]
