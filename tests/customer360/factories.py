"""Builders for customer 360 tests: one row per factory call, overridable by field name, and
stand-ins for the identity/golden/household marts that other steps will produce."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from shouhu.customer360.inputs import INPUT_TABLES
from shouhu.ingest.validate import ARROW_TYPES, arrow_schema
from shouhu.model.marts import CUSTOMER, HOUSEHOLD_MEMBER, IDENTITY_CLUSTER, MARTS
from shouhu.model.schema import ENTITIES, Entity
from shouhu.storage.warehouse import Warehouse

AS_OF = date(2026, 10, 31)
SOURCE = "agent_crm"


def schema_of(table_name: str) -> pa.Schema:
    if table_name in MARTS:
        ent: Entity = MARTS[table_name]
        return pa.schema([pa.field(f.name, ARROW_TYPES[f.dtype]) for f in ent.fields])
    return arrow_schema(ENTITIES[table_name.removeprefix("src_")])


def _row(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    unknown = set(overrides) - set(defaults)
    assert not unknown, f"unknown fields {unknown}"
    return {**defaults, **overrides}


def _lineage(source: str = SOURCE) -> dict[str, Any]:
    return {"_source": source, "_file_id": "f1", "_row_number": 1}


def make_party(**kw: Any) -> dict[str, Any]:
    return _row({"record_id": "R1", "channel": "agent", "name": "张伟", "gender": "M", "birth_date": date(1990, 5, 1),
                 "id_type": "resident_id", "id_number": None, "phone": None, "email": None, "province": "浙江省",
                 "city": "杭州市", "address": None, "occupation": None, "occupation_class": 1,
                 "annual_income": 200000.0, "marital_status": "married", "agent_id": "A1",
                 "created_at": datetime(2015, 1, 1), **_lineage()}, kw)


def make_policy(**kw: Any) -> dict[str, Any]:
    return _row({"policy_no": "P1", "product_code": "TL01", "channel": "agent", "holder_record_id": "R1",
                 "insured_record_id": "R1", "agent_id": "A1", "issue_date": date(2020, 3, 1),
                 "sum_assured": 500000.0, "annual_premium": 5000.0, "payment_frequency": "annual",
                 "premium_term_years": 20, "coverage_term_years": 30, "status": "in_force",
                 "status_date": date(2020, 3, 1), **_lineage()}, kw)


def make_coverage(**kw: Any) -> dict[str, Any]:
    return _row({"policy_no": "P1", "coverage_type": "life", "sum_assured": 500000.0, **_lineage("core")}, kw)


def make_status_event(**kw: Any) -> dict[str, Any]:
    return _row({"policy_no": "P1", "status": "in_force", "effective_date": date(2020, 3, 1), "reason": None,
                 **_lineage("core")}, kw)


def make_payment(**kw: Any) -> dict[str, Any]:
    return _row({"policy_no": "P1", "due_date": date(2026, 3, 1), "amount_due": 5000.0,
                 "paid_date": date(2026, 3, 1), "amount_paid": 5000.0, **_lineage("core")}, kw)


def make_claim(**kw: Any) -> dict[str, Any]:
    return _row({"claim_no": "CL1", "policy_no": "P1", "claim_type": "medical", "incident_date": date(2026, 5, 1),
                 "report_date": date(2026, 5, 3), "amount_claimed": 12000.0, "amount_paid": 10000.0,
                 "status": "paid", **_lineage("core")}, kw)


def make_touchpoint(**kw: Any) -> dict[str, Any]:
    return _row({"event_id": "E1", "record_id": "R1", "channel": "agent", "event_type": "call",
                 "occurred_at": datetime(2026, 10, 21, 9, 30), "staff_id": None, "properties": None,
                 **_lineage()}, kw)


def make_wearable(**kw: Any) -> dict[str, Any]:
    return _row({"record_id": "R1", "day": date(2026, 10, 30), "steps": 8000, "active_minutes": 40,
                 "resting_heart_rate": 62, **_lineage("app")}, kw)


def make_consent(**kw: Any) -> dict[str, Any]:
    return _row({"record_id": "R1", "purpose": "marketing", "granted": True, "recorded_at": datetime(2024, 1, 1),
                 "withdrawn_at": None, **_lineage()}, kw)


def make_cluster(**kw: Any) -> dict[str, Any]:
    row = _row({"unique_id": None, "source": SOURCE, "record_id": "R1", "customer_id": "C1",
                "decided_by": "rule"}, kw)
    row["unique_id"] = row["unique_id"] or f"{row['source']}:{row['record_id']}"
    return row


def make_customer(**kw: Any) -> dict[str, Any]:
    return _row({"customer_id": "C1", "name": "张伟", "gender": "M", "birth_date": date(1990, 5, 1),
                 "id_number": None, "phone": None, "email": None, "province": "浙江省", "city": "杭州市",
                 "address": None, "occupation": None, "occupation_class": 1, "annual_income": 200000.0,
                 "marital_status": "married", "record_count": 1, "channels": "agent",
                 "first_seen": datetime(2015, 1, 1)}, kw)


def make_member(**kw: Any) -> dict[str, Any]:
    return _row({"household_id": "H1", "customer_id": "C1", "role": "head", "evidence": "self"}, kw)


def customer_with_record(customer_id: str, record_id: str, source: str = SOURCE, **customer: Any
                         ) -> dict[str, list[dict[str, Any]]]:
    """The usual trio for one person: golden record, one party record, its cluster row."""
    channel = {"agent_crm": "agent", "app": "direct", "internet": "internet"}.get(source, "agent")
    return {"customer": [make_customer(customer_id=customer_id, **customer)],
            "src_party": [make_party(record_id=record_id, channel=channel, **_lineage(source))],
            "identity_cluster": [make_cluster(source=source, record_id=record_id, customer_id=customer_id)]}


def merge(*parts: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for name, rows in part.items():
            out.setdefault(name, []).extend(rows)
    return out


def arrow_tables(rows: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, pa.Table]:
    """Every input table of the mart as Arrow, empty where no rows were given; _row_number numbered."""
    out = {}
    for name in INPUT_TABLES:
        given = [dict(r) for r in rows.get(name, [])]
        for i, r in enumerate(given, start=1):
            if "_row_number" in r:
                r["_row_number"] = i
        out[name] = pa.Table.from_pylist(given, schema=schema_of(name))
    return out


def load(wh: Warehouse, rows: Mapping[str, Sequence[dict[str, Any]]]) -> None:
    for name, data in arrow_tables(rows).items():
        wh.write_table(name, data)


# -- stand-ins for the identity / golden record / household steps (end-to-end tests only) ----------
def write_stand_in_marts(wh: Warehouse) -> None:
    """identity_cluster by exact resident ID (else one customer per record), customer = the first
    record of each cluster, household_member = one household per customer."""
    party = wh.read("src_party").to_pandas()
    key = party["id_number"].where(party["id_number"].notna(), party["_source"] + ":" + party["record_id"])
    party["customer_id"] = "C" + pd.util.hash_pandas_object(key, index=False).astype("uint64").astype(str)
    cluster = pd.DataFrame({"unique_id": party["_source"] + ":" + party["record_id"], "source": party["_source"],
                            "record_id": party["record_id"], "customer_id": party["customer_id"],
                            "decided_by": ["rule" if v else "singleton" for v in party["id_number"].notna()]})
    first = party.sort_values(["customer_id", "_source", "record_id"]).groupby("customer_id", as_index=False)
    golden = first.first()
    stats = party.groupby("customer_id").agg(
        record_count=("record_id", "size"), channels=("channel", lambda s: ",".join(sorted(set(s)))),
        first_seen=("created_at", "min")).reset_index()
    golden = golden.drop(columns=["channel"]).merge(stats, on="customer_id")
    golden = golden[[f.name for f in CUSTOMER.fields]]
    members = pd.DataFrame({"household_id": "H" + golden["customer_id"], "customer_id": golden["customer_id"],
                            "role": "head", "evidence": "self"})
    for name, df, ent in (("identity_cluster", cluster, IDENTITY_CLUSTER), ("customer", golden, CUSTOMER),
                          ("household_member", members, HOUSEHOLD_MEMBER)):
        wh.write_table(name, pa.Table.from_pandas(df, schema=schema_of(ent.table), preserve_index=False))


# -- the story most fact tests read: one family, as of AS_OF (2026-10-31) ------------------------
def family_story() -> dict[str, list[dict[str, Any]]]:
    """张伟 (C1, 36, married) and his family; values in the tests are worked out from these rows.

    C1: agency record R1 + app record A1. Holder of P1 (in force, insured himself), P2 (lapsed,
    insured himself) and P3 (in force, education policy on his daughter C2). C3: his wife, no
    policy. C4: a prospect known to the internet platform only, with no household row.
    """
    app = _lineage("app")
    return merge(
        customer_with_record("C1", "R1"),
        {"src_party": [make_party(record_id="A1", channel="direct", **app)],
         "identity_cluster": [make_cluster(source="app", record_id="A1", customer_id="C1")]},
        customer_with_record("C2", "K1", name="张小雨", gender="F", birth_date=date(2018, 7, 1), marital_status=None,
                             annual_income=None),
        customer_with_record("C3", "S1", name="李娜", gender="F", birth_date=date(1992, 2, 29)),
        customer_with_record("C4", "U1", source="internet", birth_date=date(1972, 1, 1), marital_status="divorced"),
        {
            "household_member": [make_member(customer_id="C1"), make_member(customer_id="C3", role="spouse"),
                                 make_member(customer_id="C2", role="child", evidence="relationship")],
            "src_policy": [
                make_policy(policy_no="P1", issue_date=date(2020, 3, 1), annual_premium=5000.0, agent_id="A1"),
                make_policy(policy_no="P2", issue_date=date(2022, 6, 15), annual_premium=3000.0, agent_id="A2",
                            status="lapsed"),
                make_policy(policy_no="P3", product_code="EN01", insured_record_id="K1", agent_id="A3",
                            issue_date=date(2024, 9, 1), annual_premium=10000.0),
            ],
            "src_policy_coverage": [
                make_coverage(policy_no="P1", coverage_type="life", sum_assured=500000.0),
                make_coverage(policy_no="P1", coverage_type="critical_illness", sum_assured=300000.0),
                make_coverage(policy_no="P2", coverage_type="accident", sum_assured=200000.0),
                make_coverage(policy_no="P3", coverage_type="education", sum_assured=100000.0),
            ],
            "src_policy_status_event": [
                make_status_event(policy_no="P2", status="in_force", effective_date=date(2022, 6, 15)),
                make_status_event(policy_no="P2", status="lapsed", effective_date=date(2024, 8, 15)),
            ],
            "src_premium_payment": [
                make_payment(policy_no="P1", due_date=date(2024, 3, 1), paid_date=date(2024, 2, 20)),
                make_payment(policy_no="P1", due_date=date(2025, 3, 1), paid_date=date(2025, 5, 15)),  # 75 days late
                make_payment(policy_no="P1", due_date=date(2026, 3, 1), paid_date=date(2026, 3, 10)),
                make_payment(policy_no="P2", due_date=date(2023, 6, 15), paid_date=date(2023, 6, 15)),
                make_payment(policy_no="P2", due_date=date(2024, 6, 15), paid_date=None, amount_paid=None),
                make_payment(policy_no="P3", due_date=date(2025, 9, 1), paid_date=date(2025, 9, 1)),
                # due 60 days before AS_OF, unpaid: still inside the grace period
                make_payment(policy_no="P3", due_date=date(2026, 9, 1), paid_date=None, amount_paid=None),
            ],
            "src_claim": [
                make_claim(claim_no="CL1", policy_no="P1", report_date=date(2026, 5, 3), amount_paid=10000.0),
                make_claim(claim_no="CL2", policy_no="P1", incident_date=date(2020, 12, 1),
                           report_date=date(2021, 1, 10), amount_paid=0.0, status="declined"),
            ],
            "src_touchpoint": [
                make_touchpoint(event_id="E10", record_id="A1", channel="direct", **app,
                                occurred_at=datetime(2026, 10, 21, 9, 30)),
                make_touchpoint(event_id="E60", record_id="A1", channel="direct", event_type="service_request",
                                occurred_at=datetime(2026, 9, 1, 15, 0), **app),
                make_touchpoint(event_id="E200", record_id="A1", channel="direct", **app,
                                occurred_at=datetime(2026, 4, 14, 8, 0)),
                make_touchpoint(event_id="E-late", record_id="A1", channel="direct", **app,
                                occurred_at=datetime(2026, 11, 5, 8, 0)),  # after AS_OF
            ],
            "src_wearable_daily": [
                make_wearable(record_id="A1", day=date(2026, 10, 30), steps=8000, **app),
                make_wearable(record_id="A1", day=date(2026, 10, 20), steps=6000, **app),
                make_wearable(record_id="A1", day=date(2026, 9, 15), steps=20000, **app),  # outside 30 days
            ],
            "src_consent": [
                make_consent(record_id="R1", granted=True, recorded_at=datetime(2024, 1, 1),
                             withdrawn_at=datetime(2025, 6, 1)),
                make_consent(record_id="R1", purpose="service_contact", recorded_at=datetime(2024, 1, 1)),
            ],
        },
    )
