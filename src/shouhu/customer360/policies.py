"""Policy facts: what each customer holds and is covered for, as of a date.

A customer is linked to a policy as its holder (投保人) or its insured (被保险人) through the
party records of the policy's own source. Premium follows the holder (who pays); sum assured
follows the insured (whose life is covered).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from shouhu.customer360.inputs import Tables, attach, count_if, days_since, first_per, on_or_before, owned, table
from shouhu.model.vocab import CoverageType, PolicyStatus

IN_FORCE: tuple[str, ...] = (PolicyStatus.IN_FORCE.value, PolicyStatus.REINSTATED.value)
LAPSED: str = PolicyStatus.LAPSED.value
# Coverage types with a sum-assured column in the mart (savings is not protection: left out).
SA_COVERAGE_TYPES: tuple[str, ...] = tuple(c.value for c in CoverageType if c is not CoverageType.SAVINGS)
DAYS_PER_YEAR = 365.25

_POLICY_COLUMNS = ("policy_no", "product_code", "agent_id", "issue_date", "annual_premium", "payment_frequency",
                   "premium_term_years", "status")


def policies_as_of(tables: Tables, as_of: date) -> ir.Table:
    """Policies issued on or before ``as_of``, one row per policy number, with their status at ``as_of``.

    The status is the latest status event on or before ``as_of`` (ties: the later row of the
    extract); a policy without events keeps the status of the policy extract.
    """
    policy = table(tables, "src_policy")
    policy = policy.filter(on_or_before(policy.issue_date, as_of))
    # The same policy exported by two sources is one policy: keep one row, deterministically.
    policy = first_per(policy, "policy_no", [policy._source, policy._row_number])
    events = table(tables, "src_policy_status_event")
    events = events.filter(on_or_before(events.effective_date, as_of))
    latest = first_per(events, "policy_no", [events.effective_date.desc(), events._row_number.desc()])
    latest = latest.select(_event_policy_no=latest.policy_no, _event_status=latest.status)
    joined = policy.left_join(latest, policy.policy_no == latest._event_policy_no)
    return joined.mutate(status=joined._event_status.coalesce(joined.status)).drop(
        "_event_policy_no", "_event_status")


def customer_policies(tables: Tables, as_of: date) -> ir.Table:
    """One row per (customer_id, policy_no) with ``is_holder`` / ``is_insured`` (0/1) and the policy's columns."""
    pol = policies_as_of(tables, as_of)
    holder = owned(pol, tables, "holder_record_id").select(
        "customer_id", "policy_no", is_holder=ibis.literal(1), is_insured=ibis.literal(0))
    insured = owned(pol, tables, "insured_record_id").select(
        "customer_id", "policy_no", is_holder=ibis.literal(0), is_insured=ibis.literal(1))
    links = holder.union(insured).group_by("customer_id", "policy_no").agg(
        is_holder=lambda t: t.is_holder.max(), is_insured=lambda t: t.is_insured.max())
    attrs = pol.select(*_POLICY_COLUMNS).rename(_policy_no="policy_no")
    return links.join(attrs, links.policy_no == attrs._policy_no).drop("_policy_no")


def policy_facts(tables: Tables, as_of: date, policies: ir.Table | None = None) -> ir.Table:
    """Per customer: policy counts, in-force premium and sum assured, first/last policy, tenure, primary agent.

    Columns: customer_id, policies_total, policies_in_force, policies_lapsed, annualised_premium,
    sa_<coverage type>..., first_policy_date, last_policy_date, tenure_years, primary_agent_id.
    ``policies`` is :func:`customer_policies` when the caller already built it (one plan, not three).
    """
    cp = customer_policies(tables, as_of) if policies is None else policies
    in_force = cp.status.isin(IN_FORCE)
    counts = cp.group_by("customer_id").agg(
        policies_total=cp.count(),
        policies_in_force=count_if(in_force),
        policies_lapsed=count_if(cp.status == LAPSED),
        annualised_premium=ibis.ifelse(in_force & (cp.is_holder == 1), cp.annual_premium, 0.0).sum(),
        first_policy_date=cp.issue_date.min(),
        last_policy_date=cp.issue_date.max(),
    )
    counts = counts.mutate(tenure_years=(days_since(counts.first_policy_date, as_of) / DAYS_PER_YEAR).round(2))
    return attach(counts, sum_assured_facts(cp, table(tables, "src_policy_coverage")), primary_agent(cp))


def sum_assured_facts(cp: ir.Table, coverage: ir.Table) -> ir.Table:
    """In-force sum assured by coverage type (``sa_<type>``), over policies where the customer is the insured."""
    covered = cp.filter(cp.status.isin(IN_FORCE) & (cp.is_insured == 1)).select("customer_id", "policy_no")
    cov = coverage.select(_policy_no=coverage.policy_no, coverage_type=coverage.coverage_type,
                          sum_assured=coverage.sum_assured)
    rows = covered.join(cov, covered.policy_no == cov._policy_no)
    return rows.group_by("customer_id").agg(**{
        f"sa_{code}": ibis.ifelse(rows.coverage_type == code, rows.sum_assured, 0.0).sum()
        for code in SA_COVERAGE_TYPES
    })


def primary_agent(cp: ir.Table) -> ir.Table:
    """The agent of the customer's most recent policy (ties: holder before insured, then policy number)."""
    with_agent = cp.filter(cp.agent_id.notnull())
    latest = first_per(with_agent, "customer_id",
                       [with_agent.issue_date.desc(), with_agent.is_holder.desc(), with_agent.policy_no.desc()])
    return latest.select("customer_id", primary_agent_id=latest.agent_id)
