"""Premium payment and claim facts.

Premiums are the holder's (who pays); claims are the insured's (whose event it was). A premium
counts as paid at ``as_of`` only if its paid date is on or before ``as_of``: the mart is
point-in-time, so a later run with an earlier date gives the same answer it would have given then.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from shouhu.customer360.inputs import Tables, attach, count_if, days_since, on_or_before, table, within_days
from shouhu.customer360.policies import IN_FORCE, customer_policies
from shouhu.model.vocab import ClaimStatus

# Chinese Insurance Law art. 36: a renewal premium unpaid 60 days after its due date suspends the policy.
GRACE_DAYS = 60
RECENT_DAYS = 365
PERIOD_MONTHS: dict[str, int] = {"annual": 12, "semi_annual": 6, "quarterly": 3, "monthly": 1}


def payment_facts(tables: Tables, as_of: date, policies: ir.Table | None = None) -> ir.Table:
    """Per policyholder: on_time_ratio, max_days_overdue, next_premium_due, overdue_premiums.

    - on_time_ratio: of the premiums due on or before ``as_of`` whose outcome is known (paid by
      ``as_of``, or unpaid with the 60-day grace period over), the share paid within due date + 60 days.
      Premiums still inside their grace period, unpaid, are left out: they are not late yet.
    - max_days_overdue: the longest delay, paid date (or ``as_of`` if unpaid) minus due date, >= 0.
    - next_premium_due: see :func:`next_premium_due`.
    - overdue_premiums (internal, for the lifecycle): premiums of in-force policies due before
      ``as_of`` and unpaid at ``as_of``.
    """
    held = customer_policies(tables, as_of) if policies is None else policies
    held = held.filter(held.is_holder == 1)
    pay = table(tables, "src_premium_payment")
    due = pay.filter(on_or_before(pay.due_date, as_of))
    due = due.select(_policy_no=due.policy_no, due_date=due.due_date, paid_date=due.paid_date)
    rows = held.select("customer_id", "policy_no", "status").join(due, held.policy_no == due._policy_no)
    paid = rows.paid_date.notnull() & on_or_before(rows.paid_date, as_of)
    delay = ibis.ifelse(paid, rows.paid_date.delta(rows.due_date, unit="day"), days_since(rows.due_date, as_of))
    settled = paid | (days_since(rows.due_date, as_of) > GRACE_DAYS)
    on_time = paid & (delay <= GRACE_DAYS)
    unpaid_now = ~paid & (rows.due_date < ibis.date(as_of)) & rows.status.isin(IN_FORCE)
    agg = rows.group_by("customer_id").agg(
        _settled=count_if(settled),
        _on_time=count_if(on_time),
        max_days_overdue=ibis.ifelse(delay > 0, delay, 0).max(),
        overdue_premiums=count_if(unpaid_now),
    )
    agg = agg.mutate(
        on_time_ratio=ibis.ifelse(agg._settled > 0, agg._on_time.cast("float64") / agg._settled, ibis.null("float64"))
    ).drop("_settled", "_on_time")
    holders = held.select("customer_id").distinct()
    return attach(holders, agg, next_premium_due(held, pay, as_of))


def next_premium_due(held: ir.Table, payments: ir.Table, as_of: date) -> ir.Table:
    """Per holder: the earliest next due date after ``as_of`` over in-force, regular-premium policies.

    A due date already scheduled after ``as_of`` in the payment extract wins. Otherwise the last
    due date on or before ``as_of`` (or the issue date if none) is rolled forward by whole payment
    periods until it passes ``as_of``. No next due once the premium term (issue date + premium term
    years) is over; single-premium policies have none.
    """
    regular = held.filter(held.status.isin(IN_FORCE) & held.payment_frequency.isin(tuple(PERIOD_MONTHS)))
    last = payments.filter(on_or_before(payments.due_date, as_of)).group_by(_last_policy="policy_no").agg(
        _last_due=lambda t: t.due_date.max())
    ahead = payments.filter(payments.due_date > ibis.date(as_of)).group_by(_ahead_policy="policy_no").agg(
        _scheduled=lambda t: t.due_date.min())
    r = regular.left_join(last, regular.policy_no == last._last_policy)
    r = r.left_join(ahead, r.policy_no == ahead._ahead_policy)
    months = r.payment_frequency.cases(*PERIOD_MONTHS.items()).cast("int64")
    anchor = r._last_due.coalesce(r.issue_date)
    elapsed = ((as_of.year - anchor.year()) * 12 + (as_of.month - anchor.month())
               - ibis.ifelse(anchor.day() > as_of.day, 1, 0)).cast("int64")
    periods = elapsed // months + 1
    rolled = anchor + (periods * months).as_interval("M")
    # Month-end clipping (31 Jan + 1 month = 28 Feb) can land on as_of itself: one more period then.
    rolled = ibis.ifelse(rolled <= ibis.date(as_of), anchor + ((periods + 1) * months).as_interval("M"), rolled)
    nxt = r._scheduled.coalesce(rolled.cast("date"))
    term_end = r.issue_date + r.premium_term_years.as_interval("Y")
    nxt = ibis.ifelse(r.premium_term_years.notnull() & (nxt >= term_end), ibis.null("date"), nxt)
    r = r.mutate(_next=nxt)
    return r.group_by("customer_id").agg(next_premium_due=r._next.min())


def claim_facts(tables: Tables, as_of: date, policies: ir.Table | None = None) -> ir.Table:
    """Per insured: claims_count, claims_paid, claims_365d (internal, for the lifecycle).

    A claim counts from its report date (the incident date when unreported) on or before ``as_of``;
    claims_paid sums the paid amounts of claims in status ``paid``.
    """
    insured = customer_policies(tables, as_of) if policies is None else policies
    insured = insured.filter(insured.is_insured == 1).select("customer_id", "policy_no")
    claim = table(tables, "src_claim")
    claim = claim.mutate(_reported_on=claim.report_date.coalesce(claim.incident_date))
    claim = claim.filter(on_or_before(claim._reported_on, as_of))
    claim = claim.select(_policy_no=claim.policy_no, claim_status=claim.status, amount_paid=claim.amount_paid,
                         reported_on=claim._reported_on)
    rows = insured.join(claim, insured.policy_no == claim._policy_no)
    return rows.group_by("customer_id").agg(
        claims_count=rows.count(),
        claims_paid=ibis.ifelse(rows.claim_status == ClaimStatus.PAID.value, rows.amount_paid.coalesce(0.0), 0.0)
        .sum(),
        claims_365d=count_if(within_days(rows.reported_on, as_of, RECENT_DAYS)),
    )
