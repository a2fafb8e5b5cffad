"""Renewal collection (续期催收): policies inside the grace period and lapsed policies still reinstatable.

Per policyholder (golden customer), from the policy source tables:

* **in grace**: an in-force policy with a premium due on or before ``as_of`` and unpaid, where
  ``as_of`` is within ``GRACE_DAYS`` (60, the statutory grace period of Insurance Law art. 36) of the
  due date. Cover still runs; a contact now keeps the policy without any reinstatement formalities.
* **reinstatable**: the policy's latest status is ``lapsed`` and the lapse is at most
  ``REINSTATE_YEARS`` (2, Insurance Law art. 37) old. Reinstatement (复效) needs the arrears and
  usually health declaration; it restores the original, often cheaper-at-today's-age, terms.

Messages never promise a premium discount or waiver: only what a filed product's terms provide
(grace period, reinstatement) is mentioned.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import pandas as pd

GRACE_DAYS = 60
REINSTATE_YEARS = 2
COLUMNS = ("customer_id", "in_grace", "grace_ends", "grace_premium", "reinstatable", "reinstate_until",
           "lapsed_premium")


def latest_status(ev: Any, as_of: date) -> Any:
    ev = ev.filter(ev.effective_date <= ibis.date(as_of))
    w = ibis.window(group_by=ev.policy_no, order_by=[ibis.desc(ev.effective_date)])
    ranked = ev.mutate(_n=ibis.row_number().over(w))
    first = ranked.filter(ranked._n == 0)
    return first.select(_lp=first.policy_no, _status=first.status, _since=first.effective_date)


def renewal_facts(wh: Any, as_of: date) -> pd.DataFrame | None:
    """One row per holder with grace-period and reinstatable policies (``COLUMNS``); None without the tables."""
    need = ("src_policy", "src_premium_payment", "src_policy_status_event", "identity_cluster")
    if not all(wh.has_table(t) for t in need):
        return None
    pol, pay, ev, ic = (wh.table(t) for t in need)
    latest = latest_status(ev, as_of)
    p = pol.select(_pno=pol.policy_no, _src=pol._source, _holder=pol.holder_record_id, _annual=pol.annual_premium)
    p = p.left_join(latest, p._pno == latest._lp)
    owners = ic.select(_s=ic.source, _r=ic.record_id, customer_id=ic.customer_id)
    p = p.join(owners, [p._src == owners._s, p._holder == owners._r])
    window = (pay.due_date <= ibis.date(as_of)) & (pay.due_date > ibis.date(as_of - timedelta(days=GRACE_DAYS)))
    unpaid = pay.filter(window & (pay.paid_date.isnull() | (pay.paid_date > ibis.date(as_of))))
    live = p.filter(p._status.isnull() | p._status.isin(["in_force", "reinstated"]))
    g = unpaid.join(live, unpaid.policy_no == live._pno)
    grace = g.group_by("customer_id").aggregate(in_grace=g.policy_no.nunique(), _first_due=g.due_date.min(),
                                               grace_premium=g.amount_due.sum())
    floor = date(as_of.year - REINSTATE_YEARS, as_of.month, min(as_of.day, 28))
    lapsed = p.filter((p._status == "lapsed") & (p._since >= ibis.date(floor)))
    re = lapsed.group_by("customer_id").aggregate(reinstatable=lapsed._pno.nunique(),
                                                  _first_lapse=lapsed._since.min(), lapsed_premium=lapsed._annual.sum())
    a = grace.execute()
    b = re.execute()
    out = pd.merge(a, b, on="customer_id", how="outer")
    if out.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    out["grace_ends"] = pd.to_datetime(out.pop("_first_due")) + pd.Timedelta(days=GRACE_DAYS)
    first = pd.to_datetime(out.pop("_first_lapse"))
    out["reinstate_until"] = first + pd.DateOffset(years=REINSTATE_YEARS)
    for c in ("in_grace", "reinstatable"):
        out[c] = out[c].fillna(0).astype("int64")
    return out[list(COLUMNS)]
