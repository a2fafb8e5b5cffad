"""``make_customer_360(rows)``: a hand-made customer_360 table with every column filled.

Defaults describe an ordinary customer that carries none of the shipped tags; each row overrides
only what its test is about.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa

from shouhu.model.marts import CUSTOMER_360

ARROW = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
         "date": pa.date32(), "datetime": pa.timestamp("us")}

DEFAULTS: dict[str, Any] = {
    "household_id": "h-default", "household_role": "head", "household_size": 1, "gender": "M", "age": 30,
    "life_stage": "young_single", "marital_status": "single", "children_count": 0, "youngest_child_age": None,
    "province": "浙江省", "city": "杭州市", "annual_income": 200_000.0, "policies_total": 1, "policies_in_force": 1,
    "policies_lapsed": 0, "annualised_premium": 5_000.0, "sa_life": 500_000.0, "sa_critical_illness": 1_000_000.0,
    "sa_medical": 2_000_000.0, "sa_accident": 0.0, "sa_pension": 0.0, "sa_education": 0.0, "on_time_ratio": 1.0,
    "max_days_overdue": 0, "next_premium_due": date(2027, 3, 1), "claims_count": 0, "claims_paid": 0.0,
    "channels": "agent", "channel_count": 1, "primary_agent_id": "A001", "touchpoints_30d": 1,
    "touchpoints_90d": 2, "touchpoints_365d": 6, "last_contact_at": datetime(2026, 10, 20, 9, 30),
    "days_since_last_contact": 30, "tenure_years": 3.0, "first_policy_date": date(2023, 11, 1),
    "has_wearable": False, "avg_daily_steps_30d": None, "marketing_consent": True, "lifecycle_stage": "ongoing",
}


def make_customer_360(rows: list[dict[str, Any]]) -> pa.Table:
    unknown = {k for r in rows for k in r} - set(CUSTOMER_360.field_names)
    assert not unknown, f"not customer_360 columns: {unknown}"
    full = [{**DEFAULTS, "customer_id": f"c{i:03d}", **r} for i, r in enumerate(rows)]
    schema = pa.schema([(f.name, ARROW[f.dtype]) for f in CUSTOMER_360.fields])
    return pa.Table.from_pylist(full, schema=schema)
