"""Engagement facts: touchpoints, wearable data, marketing consent, and the channels that know a customer.

Touchpoint, wearable and consent rows name a party record of their own source; they reach the
customer through the identity clusters. Nothing after ``as_of`` is counted.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from shouhu.customer360.inputs import Tables, attach, count_if, days_since, first_per, on_or_before, owned, table
from shouhu.customer360.inputs import within_days as within
from shouhu.model.vocab import Channel, ConsentPurpose, TouchpointType

TOUCHPOINT_WINDOWS: tuple[int, ...] = (30, 90, 365)
STEPS_WINDOW_DAYS = 30
SERVICE_WINDOW_DAYS = 365


def touchpoint_facts(tables: Tables, as_of: date) -> ir.Table:
    """touchpoints_30d/90d/365d, last_contact_at, days_since_last_contact, service_requests_365d (internal).

    A window of N days is (as_of - N, as_of], by the calendar day the touchpoint occurred.
    """
    tp = owned(table(tables, "src_touchpoint"), tables)
    tp = tp.mutate(_day=tp.occurred_at.date())
    tp = tp.filter(on_or_before(tp._day, as_of))
    agg = tp.group_by("customer_id").agg(
        **{f"touchpoints_{n}d": count_if(within(tp._day, as_of, n)) for n in TOUCHPOINT_WINDOWS},
        last_contact_at=tp.occurred_at.max(),
        service_requests_365d=count_if(
            within(tp._day, as_of, SERVICE_WINDOW_DAYS) & (tp.event_type == TouchpointType.SERVICE_REQUEST.value)),
    )
    return agg.mutate(days_since_last_contact=days_since(agg.last_contact_at.date(), as_of))


def wearable_facts(tables: Tables, as_of: date) -> ir.Table:
    """has_wearable (any daily aggregate on or before ``as_of``) and avg_daily_steps_30d.

    The average is over the days with data in the last 30 days (a day reported by two of the
    customer's records counts once, with its higher step count); null when there are none.
    """
    w = owned(table(tables, "src_wearable_daily"), tables)
    w = w.filter(on_or_before(w.day, as_of))
    daily = w.group_by("customer_id", "day").agg(steps=lambda t: t.steps.max())
    return daily.group_by("customer_id").agg(
        has_wearable=daily.count() > 0,
        avg_daily_steps_30d=ibis.ifelse(within(daily.day, as_of, STEPS_WINDOW_DAYS), daily.steps, None)
        .cast("float64").mean(),
    )


def consent_facts(tables: Tables, as_of: date) -> ir.Table:
    """marketing_consent: the customer's latest marketing consent on or before ``as_of`` is a grant
    not withdrawn by ``as_of``. Across several records the latest decision wins; on a tie, a refusal."""
    c = owned(table(tables, "src_consent"), tables)
    c = c.filter((c.purpose == ConsentPurpose.MARKETING.value) & on_or_before(c.recorded_at.date(), as_of))
    latest = first_per(c, "customer_id", [c.recorded_at.desc(), ibis.ifelse(c.granted, 1, 0).asc()])
    withdrawn = latest.withdrawn_at.notnull() & on_or_before(latest.withdrawn_at.date(), as_of)
    return latest.select("customer_id", marketing_consent=latest.granted & ~withdrawn)


def engagement_facts(tables: Tables, as_of: date) -> ir.Table:
    """Touchpoint, wearable and consent facts for every customer with any of them."""
    facts = (touchpoint_facts(tables, as_of), wearable_facts(tables, as_of), consent_facts(tables, as_of))
    anyone = ibis.union(*(f.select("customer_id") for f in facts), distinct=True)
    return attach(anyone, *facts)


def channel_facts(tables: Tables) -> ir.Table:
    """channels (codes sorted, comma separated) and channel_count, from the customer's party records.

    Built from one flag per known channel code rather than an ordered string aggregate, because
    ordered ``string_agg`` / ``collect_list`` differ between engines; codes outside
    :class:`~shouhu.model.vocab.Channel` (ingest rejects them) would be ignored.
    """
    party = table(tables, "src_party")
    rows = owned(party.select("_source", "record_id", "channel"), tables)
    codes = sorted(c.value for c in Channel)
    flags = rows.group_by("customer_id").agg(**{f"_has_{c}": count_if(rows.channel == c).cast("int64") > 0
                                                 for c in codes})
    joined = ibis.literal("")
    for c in codes:
        joined = joined + ibis.ifelse(flags[f"_has_{c}"], f",{c}", "")
    count = sum((ibis.ifelse(flags[f"_has_{c}"], 1, 0) for c in codes), ibis.literal(0))
    return flags.select("customer_id", channels=joined.substr(1).nullif(""), channel_count=count.cast("int64"))
