"""Canonical columns of each extract, assembled from the simulated book (no formatting here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shouhu.reference.products import MEDICAL_SUM_ASSURED, SHELF, Product
from shouhu.synth import activity, lifecycle
from shouhu.synth.config import CHANNELS, SynthConfig
from shouhu.synth.people import CHILD, PARENT, RELATION, SPOUSE, People, day_number
from shouhu.synth.policies import Policies
from shouhu.synth.records import ChannelRecords
from shouhu.synth.render import MISSING, canonical_table
from shouhu.synth.text import cat, num, pick

IntArray = npt.NDArray[np.int64]
ROLE_PRIORITY = {SPOUSE: 0, CHILD: 1, PARENT: 2}


def products(shelf: Sequence[Product], rate: Callable[[Product], float]) -> dict[str, Any]:
    return {
        "product_code": pa.array([p.code for p in shelf]),
        "product_name": pa.array([p.name for p in shelf]),
        "product_type": pa.array([p.type.value for p in shelf]),
        "risk_grade": pa.array([p.risk_grade.value for p in shelf]),
        "coverage_types": pa.array([p.coverage_types for p in shelf]),
        "min_issue_age": np.array([p.min_age for p in shelf]),
        "max_issue_age": np.array([p.max_age for p in shelf]),
        "coverage_term_years": np.array([p.cover_years for p in shelf]),
        "premium_term_years": np.array([p.pay_years for p in shelf]),
        "premium_per_1000": np.array([rate(p) for p in shelf]),
        "waiting_period_days": np.array([p.waiting_days for p in shelf]),
        "launched_on": np.array([day_number(p.launched_on) for p in shelf]),
    }


def _others(people: People, person: IntArray) -> list[IntArray]:
    """For offsets 1..3: the household member at that offset, or -1."""
    pos = person - people.hh_start[person]
    size = people.hh_size[person]
    return [np.where(off < size, people.hh_start[person] + (pos + off) % size, -1) for off in (1, 2, 3)]


def family(people: People, agent: ChannelRecords, relation: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Every ordered pair of relatives both on the agent's books (the primary channel)."""
    rec_of = np.full(len(people), -1, dtype=np.int64)
    rec_of[agent.person] = np.arange(len(agent))
    prim = np.flatnonzero(agent.primary)
    a_list, b_list = [], []
    for other in _others(people, agent.person[prim]):
        ok = other >= 0
        ok[ok] &= rec_of[other[ok]] >= 0
        a_list.append(prim[ok])
        b_list.append(rec_of[other[ok]])
    a, b = np.concatenate(a_list), np.concatenate(b_list)
    rel = np.array(relation)[people.role[agent.person[a]], people.role[agent.person[b]]]
    keep = rel != "other"
    return {
        "record_id": agent.record_id.take(pa.array(a[keep])),
        "related_record_id": agent.record_id.take(pa.array(b[keep])),
        "relation": pa.array(rel[keep]),
    }


def policies(
    pol: Policies,
    life: lifecycle.Lifecycle,
    records: dict[str, ChannelRecords],
    c: int,
    codes: Sequence[str],
    freqs: Sequence[str],
) -> dict[str, Any]:
    sel = np.flatnonzero(pol.channel == c)
    recs = records[CHANNELS[c]]
    return {
        "policy_no": pol.policy_no.take(pa.array(sel)),
        "product_code": pick(codes, pol.product[sel]),
        "holder_record_id": recs.record_id.take(pa.array(pol.holder_rec[sel])),
        "insured_record_id": recs.record_id.take(pa.array(pol.insured_rec[sel])),
        "agent_id": recs.fields["agent_id"].take(pa.array(pol.holder_rec[sel])),
        "issue_date": pol.issue[sel],
        "sum_assured": pol.sum_assured[sel],
        "annual_premium": pol.premium[sel],
        "payment_frequency": pick(freqs, pol.frequency[sel]),
        "premium_term_years": pol.pay_years[sel],
        "coverage_term_years": pol.cover_years[sel],
        "status": pick(lifecycle.STATUSES, life.status[sel]),
        "status_date": life.status_day[sel],
    }


def _beneficiaries(people: People, pol: Policies, records: dict[str, ChannelRecords]) -> dict[str, Any]:
    """The closest relative on the same channel's books (spouse, else child, else parent) takes 100%."""
    covers = lifecycle.COVERS_DEATH[pol.product]
    best = np.full(len(pol), -1, dtype=np.int64)
    best_rank = np.full(len(pol), 9)
    for other in _others(people, pol.insured):
        rank = np.where(
            other >= 0, np.vectorize(lambda r: ROLE_PRIORITY.get(r, 9))(people.role[np.maximum(other, 0)]), 9
        )
        rel = np.array(RELATION)[people.role[pol.insured], people.role[np.maximum(other, 0)]]
        rank = np.where((other >= 0) & (rel != "other") & (rel != "self"), rank, 9)
        better = rank < best_rank
        best, best_rank = np.where(better, other, best), np.where(better, rank, best_rank)
    ids, polnos, rels = [], [], []
    for c, ch in enumerate(CHANNELS[:4]):
        recs = records[ch]
        rec_of = np.full(len(people), -1, dtype=np.int64)
        rec_of[recs.person] = np.arange(len(recs))
        sel = np.flatnonzero((pol.channel == c) & covers & (best >= 0) & (pol.insured != best))
        sel = sel[rec_of[best[sel]] >= 0]
        ids.append(recs.record_id.take(pa.array(rec_of[best[sel]])))
        polnos.append(pol.policy_no.take(pa.array(sel)))
        rels.append(np.array(RELATION)[people.role[pol.insured[sel]], people.role[best[sel]]])
    n = sum(len(r) for r in rels)
    return {
        "policy_no": pa.concat_arrays(polnos),
        "record_id": pa.concat_arrays(ids),
        "relation_to_insured": pa.array(np.concatenate(rels)),
        "share_pct": np.full(n, 100.0),
    }


def core(
    rng: np.random.Generator,
    people: People,
    pol: Policies,
    life: lifecycle.Lifecycle,
    records: dict[str, ChannelRecords],
) -> dict[str, pa.Table]:
    ncov = np.array([len(p.coverages) for p in SHELF])[pol.product]
    cov_pol = np.repeat(np.arange(len(pol)), ncov)
    k = np.arange(len(cov_pol)) - np.repeat(np.cumsum(ncov) - ncov, ncov)
    cov_codes = [[c.value for c in p.coverages] for p in SHELF]
    flat = np.array([cov_codes[p][i] for p, i in zip(pol.product[cov_pol].tolist(), k.tolist(), strict=True)])
    cov_sa = np.where(flat == "medical", MEDICAL_SUM_ASSURED, pol.sum_assured[cov_pol])
    pno = pol.policy_no
    claim_year = life.claim_incident.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    claims = {
        "claim_no": cat("CL", num(claim_year), num(rng.permutation(len(life.claim_policy)).astype(np.int64), 8)),
        "policy_no": pno.take(pa.array(life.claim_policy)),
        "claim_type": pick(lifecycle.CLAIM_TYPES, life.claim_type),
        "incident_date": life.claim_incident,
        "report_date": life.claim_report,
        "amount_claimed": life.claim_amount,
        "amount_paid": life.claim_paid,
        "status": pick(lifecycle.CLAIM_STATUSES, life.claim_status),
    }
    return {
        "core/policy_coverages.parquet": canonical_table(
            "policy_coverage",
            {"policy_no": pno.take(pa.array(cov_pol)), "coverage_type": pa.array(flat), "sum_assured": cov_sa},
        ),
        "core/beneficiaries.parquet": canonical_table("policy_beneficiary", _beneficiaries(people, pol, records)),
        "core/policy_status_events.parquet": canonical_table(
            "policy_status_event",
            {
                "policy_no": pno.take(pa.array(life.events_policy)),
                "status": pick(lifecycle.STATUSES, life.events_status),
                "effective_date": life.events_day,
                "reason": pick(lifecycle.REASONS, life.events_reason),
            },
        ),
        "core/premium_payments.csv": canonical_table(
            "premium_payment",
            {
                "policy_no": pno.take(pa.array(life.pay_policy)),
                "due_date": life.pay_due,
                "amount_due": life.pay_amount,
                "paid_date": life.pay_paid,
                "amount_paid": np.where(life.pay_paid > MISSING, life.pay_amount, np.nan),
            },
        ),
        "core/claims.parquet": canonical_table("claim", claims),
    }


def engagement(
    rng: np.random.Generator, records: dict[str, ChannelRecords], wear: IntArray, cfg: SynthConfig, end: int,
    spend: dict[str, Any],
) -> dict[str, pa.Table]:
    """Touchpoints, wearables, consents and the marketing spend drawn earlier (``marketing_spend``)."""
    net, app = records["internet"], records["direct"]
    out = {}
    for recs, mean, kinds, path, prefix in (
        (net, 6.0, activity.INTERNET_EVENTS, "internet/events.jsonl", "E"),
        (app, 14.0, activity.APP_EVENTS, "app/touchpoints.parquet", "T"),
    ):
        ev = activity.touchpoints(rng, recs.created, end, mean, kinds)
        out[path] = canonical_table(
            "touchpoint",
            {
                "event_id": cat(prefix, num(np.arange(len(ev.record)) * 7 + 1_000_003, 11)),
                "record_id": recs.record_id.take(pa.array(ev.record)),
                "event_type": ev.event_type,
                "occurred_at": ev.seconds,
                "staff_id": ev.staff,
                "properties": ev.properties,
            },
        )
    rec_of = np.full(int(app.person.max()) + 1 if len(app) else 1, -1, dtype=np.int64)
    rec_of[app.person] = np.arange(len(app))
    w = activity.wearables(rng, rec_of[wear], end, cfg.wearable_days)
    out["app/wearable_daily.parquet"] = canonical_table(
        "wearable_daily",
        {
            "record_id": app.record_id.take(pa.array(w["record"])),
            "day": w["day"],
            "steps": w["steps"],
            "active_minutes": w["active_minutes"],
            "resting_heart_rate": w["resting_heart_rate"],
        },
    )
    is_wear = np.zeros(len(app), dtype=bool)
    is_wear[rec_of[wear]] = True
    cons = activity.consents(rng, app.created, is_wear, end)
    out["app/consents.parquet"] = canonical_table(
        "consent",
        {
            "record_id": app.record_id.take(pa.array(cons["record"])),
            "purpose": cons["purpose"],
            "granted": cons["granted"],
            "recorded_at": cons["recorded"],
            "withdrawn_at": cons["withdrawn"],
        },
    )
    out["marketing/weekly_spend.csv"] = canonical_table(
        "marketing_spend",
        {
            "channel": pa.array(spend["channel"], pa.string()),
            "week_start": np.array(spend["week_start"], dtype=np.int64),
            "amount": np.array(spend["amount"]),
            "campaign": pa.array(spend["campaign"], pa.string()),
        },
    )
    return out
