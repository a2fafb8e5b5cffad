"""13- and 25-month premium persistency (继续率), written once in Ibis for every engine.

Definition (see ``docs/scoring.md``), for N = 13 or 25:

* **Population**: regular-premium policies (``payment_frequency`` not ``single``) whose premium term
  reaches policy month N (``premium_term_years`` ≥ 2 for N = 13, ≥ 3 for N = 25; unknown counts as long
  enough), issued at least N months + the grace period before ``as_of``, so the outcome is known.
  Policies ended before the month-N due date by a claim (``claimed``) or maturity (``matured``) are
  left out (nothing was due); lapses and surrenders stay in: they are exactly what the ratio measures.
  Policies cancelled inside the 15-day cool-off (犹豫期: surrendered on or before issue + 15 days)
  are left out too: the contract is undone with a full refund, it never was business in force.
* **Instalment**: the modal premium ``annual_premium / installments per year`` — every regular
  frequency has exactly one installment falling due in policy month N, i.e. with ``due_date`` in
  ``[issue_date + (N-1) months, issue_date + N months)``.
* **Paid share**: the ``amount_paid`` of the premium rows due in that window and paid on or before
  ``due_date + grace_days`` (60 by default, the statutory grace period) and on or before ``as_of``,
  capped at the instalment, over the instalment. Arrears paid later on reinstatement do not count.
* **Weighting**: by annualised premium — ``due`` = annual premium, ``received`` = annual premium ×
  paid share — so a monthly payer counts fully, not by the twelfth that falls due in month N
  (the instalment figures stay as ``modal_due`` / ``modal_received``).
* **Premium persistency** = Σ received / Σ due; **policy-count persistency** = policies fully paid /
  policies in the population.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from shouhu.errors import InvalidInput, UnknownName
from shouhu.storage.exprs import one_per

GRACE_DAYS = 60
COOL_OFF_DAYS = 15  # 犹豫期 of policies over one year (docs/advice.md, rule cool_off)
PER_YEAR = {"annual": 1, "semi_annual": 2, "quarterly": 4, "monthly": 12}
GROUPS = ("channel", "branch", "agent", "product", "product_type", "cohort_month", "cohort_quarter", "cohort_year")
Tables = Mapping[str, ir.Table]


def _per_year(freq: ir.StringValue) -> ir.IntegerValue:
    return freq.cases(*PER_YEAR.items(), else_=None).cast("int64")


def _month_window(issue: ir.DateValue, month: int) -> tuple[ir.DateValue, ir.DateValue]:
    return issue + ibis.interval(months=month - 1), issue + ibis.interval(months=month)


def population(tables: Tables, month: int, as_of: date, grace_days: int = GRACE_DAYS) -> ir.Table:
    """One row per policy measured at month ``month``: ``policy_no``, ``due``, the grouping columns."""
    if month < 2:
        raise InvalidInput("persistency month must be 2 or more (13 and 25 are the industry ratios)", month=month)
    pol = tables["src_policy"]
    start, end = _month_window(pol.issue_date, month)
    years_needed = (month - 1) // 12 + 1
    pol = pol.filter(
        pol.payment_frequency.isin(list(PER_YEAR)),
        pol.premium_term_years.isnull() | (pol.premium_term_years >= years_needed),
        end <= ibis.date(as_of - timedelta(days=grace_days)),
    ).mutate(_win_start=start, _win_end=end)
    pol = pol.mutate(due=(pol.annual_premium / _per_year(pol.payment_frequency)).round(2),
                     _annual=pol.annual_premium.cast("float64"))
    pol = _drop_cool_off(_drop_ended(pol, tables), tables)
    return _with_groups(pol, tables).select("policy_no", "due", "_annual", "_win_start", "_win_end", *GROUPS)


def _without(pol: ir.Table, gone: ir.Table) -> ir.Table:
    """``pol`` without the policies named in ``gone._gone``. A NOT IN subquery, not an anti join: Ibis
    renders a chain of two anti joins on PostgreSQL as ``LEFT ANTI JOIN``, which PostgreSQL cannot run."""
    return pol.filter(~pol.policy_no.isin(gone.filter(gone._gone.notnull())._gone))


def _drop_cool_off(pol: ir.Table, tables: Tables) -> ir.Table:
    """Policies cancelled inside the cool-off period (犹豫期退保): the contract is undone, never in force."""
    ev = tables.get("src_policy_status_event")
    if ev is None:
        return pol
    cancelled = ev.filter(ev.status == "surrendered").select(_c_policy=ev.policy_no, _c_date=ev.effective_date)
    hit = pol.join(cancelled, [pol.policy_no == cancelled._c_policy,
                               cancelled._c_date <= pol.issue_date + ibis.interval(days=COOL_OFF_DAYS)])
    gone = hit.select(_gone=hit.policy_no).distinct()
    return _without(pol, gone)


def _drop_ended(pol: ir.Table, tables: Tables) -> ir.Table:
    """Policies ended by a claim or maturity before the window: nothing was due."""
    ev = tables.get("src_policy_status_event")
    if ev is None:
        return pol
    ended = ev.filter(ev.status.isin(["claimed", "matured"])).select(
        _e_policy=ev.policy_no, _e_date=ev.effective_date)
    hit = pol.join(ended, [pol.policy_no == ended._e_policy, ended._e_date < pol._win_start])
    gone = hit.select(_gone=hit.policy_no).distinct()
    return _without(pol, gone)


def _with_groups(pol: ir.Table, tables: Tables) -> ir.Table:
    prod = tables.get("src_product")
    staff = tables.get("src_staff")
    if prod is not None:
        p = one_per(prod.select(_p_code=prod.product_code, product_type=prod.product_type), "_p_code")
        pol = pol.left_join(p, pol.product_code == p._p_code).drop("_p_code")
    else:
        pol = pol.mutate(product_type=ibis.null("string"))
    if staff is not None:
        s = one_per(staff.select(_s_id=staff.staff_id, branch=staff.branch_id), "_s_id")
        pol = pol.left_join(s, pol.agent_id == s._s_id).drop("_s_id")
    else:
        pol = pol.mutate(branch=ibis.null("string"))
    d = pol.issue_date
    quarter = ((d.month() - 1) // 3 + 1).cast("string")
    return pol.mutate(
        agent=pol.agent_id,
        product=pol.product_code,
        cohort_month=d.strftime("%Y-%m"),
        cohort_quarter=d.year().cast("string") + ibis.literal("Q") + quarter,
        cohort_year=d.year().cast("string"),
    )


def received(tables: Tables, pop: ir.Table, as_of: date, grace_days: int = GRACE_DAYS) -> ir.Table:
    """``policy_no``, ``received``: premium of the month-N window paid within the grace period."""
    pay = tables["src_premium_payment"]
    j = pop.select("policy_no", "_win_start", "_win_end").join(
        pay, [pop.policy_no == pay.policy_no, pay.due_date >= pop._win_start, pay.due_date < pop._win_end])
    on_time = (j.paid_date.notnull() & (j.paid_date <= j.due_date + ibis.interval(days=grace_days))
               & (j.paid_date <= ibis.date(as_of)))
    amount = ibis.ifelse(on_time, j.amount_paid.fill_null(0.0), 0.0)
    return j.group_by(j.policy_no).aggregate(received=amount.sum())


def per_policy(tables: Tables, month: int, as_of: date, grace_days: int = GRACE_DAYS) -> ir.Table:
    """Population with ``due`` / ``received`` annualised, the instalment ``modal_due`` / ``modal_received``
    (capped at the instalment) and ``persisted`` (fully paid, 1/0).

    ``received`` = annual premium × the share of the month-N instalment paid, so a monthly payer's
    policy weighs its whole annual premium, not the twelfth that falls due in month N."""
    pop = population(tables, month, as_of, grace_days)
    rec = received(tables, pop, as_of, grace_days).rename(_r_policy="policy_no")
    j = pop.left_join(rec, pop.policy_no == rec._r_policy).drop("_r_policy")
    got = ibis.least(j.received.fill_null(0.0), j.due)
    share = ibis.ifelse(j.due > 0, got / j.due, 0.0)
    return j.mutate(modal_due=j.due, modal_received=got, due=j._annual, received=j._annual * share,
                    persisted=ibis.ifelse(got >= j.due - 0.01, 1, 0)).drop("_win_start", "_win_end", "_annual")


def kpi(rows: ir.Table, by: Sequence[str] = ()) -> ir.Table:
    """Premium-weighted and policy-count persistency of ``per_policy`` rows, grouped by ``by``."""
    for b in by:
        if b not in GROUPS:
            raise UnknownName("persistency grouping", b, list(GROUPS))
    metrics = {
        "policies": rows.count(),
        "persisted": rows.persisted.sum(),
        "premium_due": rows.due.sum(),
        "premium_received": rows.received.sum(),
    }
    agg = rows.group_by(list(by)).aggregate(**metrics) if by else rows.aggregate(**metrics)
    return agg.mutate(
        premium_persistency=agg.premium_received / agg.premium_due,
        count_persistency=agg.persisted.cast("float64") / agg.policies,
    ).order_by(list(by) or [ibis.literal(1)])


def default_as_of(tables: Tables) -> date:
    """The data's own horizon: the latest premium due date in the warehouse."""
    pay = tables["src_premium_payment"]
    value = pay.due_date.max().to_pyarrow().as_py()
    if value is None:
        raise InvalidInput("no premium payments in the warehouse: cannot tell the measurement date")
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def compute(tables: Tables, *, months: Sequence[int] = (13, 25), by: Sequence[str] = (),
            as_of: date | None = None, grace_days: int = GRACE_DAYS) -> list[dict[str, Any]]:
    """Run the KPIs and return one row per (month, group): the thin step the CLI and pipeline call."""
    as_of = as_of or default_as_of(tables)
    out: list[dict[str, Any]] = []
    for m in months:
        df = kpi(per_policy(tables, m, as_of, grace_days), by).to_pyarrow().to_pylist()
        out.extend({"month": m, "as_of": as_of.isoformat(), **r} for r in df)
    return out


def warehouse_tables(wh: Any) -> dict[str, ir.Table]:
    names = ("src_policy", "src_premium_payment", "src_policy_status_event", "src_product", "src_staff")
    return {n: wh.table(n) for n in names if wh.has_table(n)}
