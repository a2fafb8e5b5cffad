"""Renewal collection (续期催收): what is due, what is in the grace period, what lapsed and can be
reinstated, what staff did about it, and what it means for persistency.

``premium_due`` (published by every refresh, one row per policy and due date) has three states:

* ``upcoming``: an unpaid premium of a live policy due within ``UPCOMING_DAYS`` after ``as_of``;
  ``lapse_date`` is when cover would stop if it stays unpaid (due date + the 60-day grace period).
* ``grace``: due on or before ``as_of``, unpaid, and ``as_of`` inside the 60-day grace period of
  Insurance Law art. 36 (cover still runs; paying now needs no formalities).
* ``lapsed``: the policy's latest status is ``lapsed`` and the lapse is less than two years old
  (Insurance Law art. 37: reinstatement 复效 is possible within two years); ``due_date`` is the lapse
  date, ``amount_due`` the arrears (unpaid premiums due up to ``as_of``).

A collection outcome (``paid``, ``promised``, ``refused``, ``unreachable``) is recorded against a row;
a promise needs a date no later than the end of the grace period (a promise after cover stops is not
a save). The grace-period calendar counts rows per lapse day, and the persistency impact says how
much annualised premium of the caller's scope is at risk, as a share of the premium in force.
Nothing here promises a discount or waiver: only the grace period and reinstatement that every
filed product provides by law are mentioned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from shouhu.errors import InvalidInput
from shouhu.scoring.customer_persistency import policy_holders
from shouhu.scoring.persistency import Tables
from shouhu.scoring.renewal import GRACE_DAYS, REINSTATE_YEARS, latest_status
from shouhu.storage.exprs import one_per

TABLE = "premium_due"
NEEDS = ("src_policy", "src_premium_payment", "src_policy_status_event", "identity_cluster")
UPCOMING_DAYS = 30
ALERT_DAYS = 7  # a grace-period row whose cover stops within a week is a lapse alert
STATES = ("upcoming", "grace", "lapsed")
STATE_LABELS = {"upcoming": ("即将到期", "Due soon"), "grace": ("宽限期内", "In grace period"),
                "lapsed": ("已失效可复效", "Lapsed, reinstatable")}
OUTCOMES = {"paid": ("已缴费", "Paid"), "promised": ("承诺缴费", "Promised to pay"),
            "refused": ("拒绝缴费", "Refused"), "unreachable": ("未联系上", "Unreachable")}


def available(tables: Mapping[str, Any]) -> bool:
    return all(n in tables for n in NEEDS)


def premium_due_expr(tables: Tables, as_of: date, upcoming_days: int = UPCOMING_DAYS) -> ir.Table:
    """policy_no, due_date, customer_id, agent_id, state, amount_due, annual_premium, lapse_date."""
    pol = one_per(tables["src_policy"].select("policy_no", "agent_id", "annual_premium"), "policy_no")
    holders = policy_holders(tables)
    latest = latest_status(tables["src_policy_status_event"], as_of)
    p = pol.join(holders, pol.policy_no == holders._h_policy)
    p = p.left_join(latest, p.policy_no == latest._lp)
    pay = tables["src_premium_payment"]
    today = ibis.date(as_of)
    unpaid_by = pay.paid_date.isnull() | (pay.paid_date > today)

    live = p.filter(p._status.isnull() | p._status.isin(["in_force", "reinstated"]))
    window = (pay.due_date > ibis.date(as_of - timedelta(days=GRACE_DAYS))) & \
        (pay.due_date <= ibis.date(as_of + timedelta(days=upcoming_days)))
    dues = pay.filter(window & unpaid_by).select(_pp=pay.policy_no, _due=pay.due_date, _amount=pay.amount_due)
    dues = one_per(dues, ["_pp", "_due"])
    g = dues.join(live, dues._pp == live.policy_no)
    open_rows = g.select(
        policy_no=g.policy_no, due_date=g._due.cast("date"), customer_id=g.customer_id, agent_id=g.agent_id,
        state=ibis.ifelse(g._due <= today, "grace", "upcoming"),
        amount_due=g._amount.cast("float64"), annual_premium=g.annual_premium.cast("float64"),
        lapse_date=(g._due.cast("date") + ibis.interval(days=GRACE_DAYS)).cast("date"))

    floor = date(as_of.year - REINSTATE_YEARS, as_of.month, min(as_of.day, 28))
    lapsed = p.filter((p._status == "lapsed") & (p._since >= ibis.date(floor)))
    owed = pay.filter((pay.due_date <= today) & unpaid_by)
    arrears = owed.group_by(_ap=owed.policy_no).aggregate(_arrears=owed.amount_due.sum())
    lj = lapsed.left_join(arrears, lapsed.policy_no == arrears._ap)
    lapsed_rows = lj.select(
        policy_no=lj.policy_no, due_date=lj._since.cast("date"), customer_id=lj.customer_id, agent_id=lj.agent_id,
        state=ibis.literal("lapsed"), amount_due=lj._arrears.fill_null(0).cast("float64"),
        annual_premium=lj.annual_premium.cast("float64"), lapse_date=lj._since.cast("date"))
    return open_rows.union(lapsed_rows)


IN_FORCE_TABLE = "policy_in_force"
IN_FORCE_NEEDS = ("src_policy", "identity_cluster")
LIVE = ("in_force", "reinstated")


def in_force_expr(tables: Tables, as_of: date) -> ir.Table:
    """policy_no, customer_id (the holder), agent_id, product_code, issue_date, annual_premium of every
    policy live on ``as_of`` (its latest status event, else its own status, is in force or reinstated).
    Published as ``policy_in_force``: policy anniversaries (``journeys detect``) are read from it."""
    pol = one_per(tables["src_policy"].select("policy_no", "agent_id", "product_code", "issue_date",
                                              "annual_premium", "status"), "policy_no")
    holders = policy_holders(tables)
    p = pol.join(holders, pol.policy_no == holders._h_policy)
    if "src_policy_status_event" in tables:
        latest = latest_status(tables["src_policy_status_event"], as_of)
        p = p.left_join(latest, p.policy_no == latest._lp)
        status = p._status.fill_null(p.status)
    else:
        status = p.status
    live = p.filter(status.isin(list(LIVE)) & (p.issue_date <= ibis.date(as_of)))
    return live.select(policy_no=live.policy_no, customer_id=live.customer_id, agent_id=live.agent_id,
                       product_code=live.product_code, issue_date=live.issue_date.cast("date"),
                       annual_premium=live.annual_premium.cast("float64"))


def label(code: str, table: Mapping[str, tuple[str, str]], lang: str) -> str:
    pair = table.get(code)
    return code if pair is None else pair[0 if lang == "zh" else 1]


def check_state(state: str | None) -> str | None:
    if state is not None and state not in STATES:
        raise InvalidInput(f"state: must be one of {', '.join(STATES)}, not {state!r}")
    return state


def check_outcome(row: Mapping[str, Any], outcome: str, promised_date: str | None, today: date) -> str | None:
    """The promised date (ISO) when the outcome is valid for ``row``; InvalidInput naming the field."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome: must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    if outcome != "promised":
        if promised_date:
            raise InvalidInput("promised_date: only a promise to pay has a date")
        return None
    if not promised_date:
        raise InvalidInput("promised_date: required when the outcome is promised")
    try:
        when = date.fromisoformat(promised_date)
    except ValueError:
        raise InvalidInput(f"promised_date: not a date (YYYY-MM-DD): {promised_date!r}") from None
    if when < today:
        raise InvalidInput(f"promised_date: {when} is in the past")
    ends = _day(row.get("lapse_date"))
    if row.get("state") != "lapsed" and ends is not None and when > ends:
        raise InvalidInput(f"promised_date: {when} is after the grace period ends ({ends}); "
                           "cover would have stopped — agree a date inside the grace period or plan reinstatement")
    return when.isoformat()


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def is_alert(row: Mapping[str, Any], today: date) -> bool:
    """A grace-period premium whose cover stops within ``ALERT_DAYS``."""
    ends = _day(row.get("lapse_date"))
    return row.get("state") == "grace" and ends is not None and 0 <= (ends - today).days <= ALERT_DAYS


def calendar(rows: Iterable[Mapping[str, Any]], start: date, days: int) -> list[dict[str, Any]]:
    """Grace-period calendar: per day from ``start`` for ``days`` days, the premiums whose grace period
    ends that day (count, amount) — the days cover would stop without a payment."""
    per: dict[date, list[float]] = defaultdict(lambda: [0, 0.0])
    end = start + timedelta(days=days - 1)
    for r in rows:
        if r.get("state") not in ("grace", "upcoming"):
            continue
        day = _day(r.get("lapse_date"))
        if day is not None and start <= day <= end:
            per[day][0] += 1
            per[day][1] += float(r.get("amount_due") or 0.0)
    return [{"date": d.isoformat(), "premiums": int(per[d][0]), "amount_due": round(per[d][1], 2)}
            for d in sorted(per)]


def impact(rows: Iterable[Mapping[str, Any]], premium_in_force: float,
           latest_outcomes: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    """Persistency impact of the grace-period book: annualised premium at risk and its share of the
    premium in force, split by the latest collection outcome (paid ones are no longer at risk)."""
    at_risk = 0.0
    by_outcome: dict[str, float] = defaultdict(float)
    policies: set[str] = set()
    reinstatable = 0.0
    for r in rows:
        key = (str(r["policy_no"]), str(r["due_date"])[:10])
        outcome = latest_outcomes.get(key, "none")
        premium = float(r.get("annual_premium") or 0.0)
        if r.get("state") == "lapsed":
            if outcome != "paid":
                reinstatable += premium
            continue
        if r.get("state") != "grace" or str(r["policy_no"]) in policies:
            continue
        policies.add(str(r["policy_no"]))
        by_outcome[outcome] += premium
        if outcome != "paid":
            at_risk += premium
    share = at_risk / premium_in_force if premium_in_force > 0 else 0.0
    return {"premium_in_force": round(premium_in_force, 2), "premium_at_risk": round(at_risk, 2),
            "share_at_risk": round(share, 4), "policies_in_grace": len(policies),
            "at_risk_by_outcome": {k: round(v, 2) for k, v in sorted(by_outcome.items())},
            "reinstatable_premium": round(reinstatable, 2),
            "note": "if every grace-period premium not yet paid lapsed, premium persistency of this scope "
                    f"would fall by {share:.1%} of the premium in force"}


def export_to_warehouse(engine: Any, wh: Any) -> dict[str, int]:
    """Copy every collection outcome into the warehouse (``op_collection_outcome``) for the next steps."""
    from shouhu.storage import renewals as store

    written = {}
    for name, data in store.export_tables(engine).items():
        wh.write_table(name, data)
        written[name] = data.num_rows
    return written
