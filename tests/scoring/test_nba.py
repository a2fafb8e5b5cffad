"""Next best action: every action type, consent, caps, ranking, reasons; the warehouse step."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from shouhu.scoring import nba
from shouhu.storage.warehouse import Warehouse

AS_OF = date(2026, 10, 31)


def row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "customer_id": "C1", "age": 40, "policies_in_force": 1, "annualised_premium": 8000.0,
        "next_premium_due": pd.Timestamp("2026-11-15"), "claims_count": 0, "days_since_last_contact": 400,
        "has_wearable": False, "marketing_consent": True, "touchpoints_30d": 0, "primary_agent_id": "AG1",
    }
    return base | kw


def rank(rows: list[dict[str, Any]], **kw: Any) -> pd.DataFrame:
    c360 = pd.DataFrame(rows)
    ids = c360.customer_id
    defaults: dict[str, Any] = {
        "gaps": pd.DataFrame({"customer_id": ids, "gap_critical_illness": 300_000.0, "gap_life": 100_000.0}),
        "value": pd.DataFrame({"customer_id": ids, "value": 50_000.0, "tier": "platinum"}),
        "lapse": pd.DataFrame({"customer_id": ids, "lapse_probability": 0.3}),
        "pending_claims": pd.DataFrame({"customer_id": ids, "pending_claims": 1}),
        "renewals": pd.DataFrame({"customer_id": ids, "in_grace": 1, "grace_ends": pd.Timestamp("2026-11-20"),
                                  "grace_premium": 4000.0, "reinstatable": 1,
                                  "reinstate_until": pd.Timestamp("2027-08-01"), "lapsed_premium": 3000.0}),
    }
    return nba.rank_actions(c360, AS_OF, **(defaults | kw))


def test_every_action_type_is_producible() -> None:
    out = rank([row()], config=nba.Config(max_actions=10))
    assert set(out.action) == {a.code for a in nba.ACTION_TYPES}
    gap = out[out.action == "close_gap"].iloc[0]
    assert gap.product_type == "critical_illness"  # the largest gap
    assert dict(zip(out.action, out.kind, strict=True)) == nba.KIND


def test_ranked_by_expected_value_with_reasons_in_both_languages() -> None:
    out = rank([row()], config=nba.Config(max_actions=10))
    assert list(out["rank"]) == list(range(1, len(out) + 1))
    assert out.expected_value.is_monotonic_decreasing
    assert (out.expected_value == (out.probability * out.outcome_value).round(2)).all()
    assert out.reason_zh.str.contains(r"[\u4e00-\u9fff]").all()
    assert out.reason_en.str.match(r"^[\x00-\x7f]+$").all() and (out.reason_en.str.len() > 20).all()


def test_at_most_n_actions_are_kept_best_first() -> None:
    full = rank([row()], config=nba.Config(max_actions=10))
    for n in (1, 2, 3):
        out = rank([row()], config=nba.Config(max_actions=n))
        assert len(out) == n and list(out.action) == list(full.action[:n])
    assert len(rank([row()])) == nba.Config().max_actions == 3
    with pytest.raises(Exception, match="max_actions"):
        rank([row()], config=nba.Config(max_actions=0))


def test_no_sales_action_without_marketing_consent() -> None:
    rows = [row(customer_id="yes"), row(customer_id="no", marketing_consent=False),
            row(customer_id="unknown", marketing_consent=None)]
    out = rank(rows, config=nba.Config(max_actions=10))
    for cid in ("no", "unknown"):
        mine = out[out.customer_id == cid]
        assert set(mine.kind) == {"service"}  # premium reminder, claim help, review still allowed
        assert {"retention_contact", "claim_help", "policy_review"} <= set(mine.action)
    assert "sales" in set(out[out.customer_id == "yes"].kind)


def test_contact_frequency_cap_stops_sales_actions() -> None:
    out = rank([row(customer_id="busy", touchpoints_30d=4), row(customer_id="calm", touchpoints_30d=3)],
               config=nba.Config(max_actions=10))
    assert set(out[out.customer_id == "busy"].kind) == {"service"}
    assert "sales" in set(out[out.customer_id == "calm"].kind)
    relaxed = rank([row(touchpoints_30d=4)], config=nba.Config(max_actions=10, sales_touch_cap=10))
    assert "sales" in set(relaxed.kind)


def test_eligibility_rules() -> None:
    cfg = nba.Config(max_actions=10)
    def actions(**kw: Any) -> set[str]:
        return set(rank([row(**kw)], config=cfg).action)
    assert "retention_contact" not in actions(next_premium_due=pd.Timestamp("2026-12-15"))  # 45 days away
    assert "retention_contact" not in actions(next_premium_due=None)
    assert "policy_review" not in actions(days_since_last_contact=100)
    assert "health_programme" not in actions(has_wearable=True)
    assert "health_programme" not in actions(age=61) and "health_programme" not in actions(age=24)
    assert "policy_review" not in actions(policies_in_force=0, next_premium_due=None)
    none = rank([row()], config=cfg, gaps=None, value=None, lapse=None, pending_claims=None)
    assert not {"close_gap", "upgrade_membership", "claim_help"} & set(none.action)


def test_lapse_risk_and_crosssell_score_drive_expected_value() -> None:
    cfg = nba.Config(max_actions=10)
    low = rank([row()], config=cfg, lapse=pd.DataFrame({"customer_id": ["C1"], "lapse_probability": [0.05]}))
    high = rank([row()], config=cfg)
    ev = lambda df, a: float(df[df.action == a].expected_value.iloc[0])  # noqa: E731
    assert ev(high, "retention_contact") > ev(low, "retention_contact")
    cs = pd.DataFrame({"customer_id": ["C1"], "product_type": ["critical_illness"], "probability": [0.5]})
    assert ev(rank([row()], config=cfg, crosssell=cs), "close_gap") > ev(high, "close_gap")


def test_build_on_a_book_and_agent_tasks(loaded_book, tmp_path) -> None:
    from shouhu.pipeline.refresh import refresh
    from shouhu.scoring import value
    from shouhu.settings import Settings

    _, url = loaded_book(customers=600, seed=5)
    refresh(Settings(data_dir=tmp_path / "d", warehouse_url=url, serving_url=f"sqlite:///{tmp_path / 's.db'}"),
            as_of=AS_OF)
    with Warehouse(url) as wh:
        value.build_customer_value(wh, AS_OF)
        info = nba.build_next_best_actions(wh, AS_OF)
        out = wh.read(nba.TABLE).to_pandas()
        c360 = wh.read("customer_360").to_pandas()
        agent = c360.primary_agent_id.dropna().value_counts().index[0]
        tasks = nba.agent_tasks(wh, agent, limit=5)
    assert info["actions"] == len(out) > 0 and list(out.columns) == list(nba.COLUMNS)
    assert out.groupby("customer_id").size().max() <= 3
    merged = out.merge(c360, on="customer_id")
    sales = merged[merged.kind == "sales"]
    assert sales.marketing_consent.astype(bool).all() and (sales.touchpoints_30d < 4).all()
    assert 0 < len(tasks) <= 5 and [t["expected_value"] for t in tasks] == sorted(
        (t["expected_value"] for t in tasks), reverse=True)
    mine = set(c360[c360.primary_agent_id == agent].customer_id)
    assert {t["customer_id"] for t in tasks} <= mine


def test_cli_build_and_tasks(loaded_book, tmp_path, monkeypatch) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from shouhu.cli.nba import register
    from shouhu.pipeline.refresh import refresh
    from shouhu.settings import Settings, get_settings

    _, url = loaded_book(customers=600, seed=5)
    serving = f"sqlite:///{tmp_path / 's.db'}"
    refresh(Settings(data_dir=tmp_path / "d", warehouse_url=url, serving_url=serving), as_of=AS_OF)
    for k, v in {"SHOUHU_DATA_DIR": str(tmp_path / "d"), "SHOUHU_WAREHOUSE_URL": url,
                 "SHOUHU_SERVING_URL": serving}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    try:
        built = runner.invoke(app, ["build", "--as-of", AS_OF.isoformat(), "--json"])
        assert built.exit_code == 0, built.output
        result = json.loads(built.output)
        assert result["next_best_action"]["actions"] > 0 and result["customer_value"]["customers"] > 0
        with Warehouse(url) as wh:
            agent = wh.query("SELECT primary_agent_id FROM customer_360 c JOIN next_best_action n USING "
                             "(customer_id) WHERE primary_agent_id IS NOT NULL LIMIT 1")[0][0]
        shown = runner.invoke(app, ["tasks", agent, "--limit", "3"])
        assert shown.exit_code == 0 and agent in shown.output, shown.output
        assert runner.invoke(app, ["build", "--as-of", "31/10/2026"]).exit_code != 0
    finally:
        get_settings.cache_clear()


def test_renewal_actions_by_hand() -> None:
    out = rank([row()], config=nba.Config(max_actions=10))
    grace = out[out.action == "grace_collection"].iloc[0]
    # grace ends 2026-11-20, 20 days after 2026-10-31; outcome max(value 50,000, 8,000 × 10%) × 50% saved
    assert grace.expected_value == 25_000 and grace.kind == "service"
    assert "宽限期至2026-11-20(还有20天)" in grace.reason_zh and "grace period ends 2026-11-20" in grace.reason_en
    re = out[out.action == "reinstatement"].iloc[0]
    assert "2027-08-01前申请复效" in re.reason_zh and "reinstated until 2027-08-01" in re.reason_en
    none = rank([row()], renewals=pd.DataFrame({"customer_id": ["C1"], "in_grace": [0], "grace_ends": [None],
                                                "grace_premium": [0.0], "reinstatable": [0],
                                                "reinstate_until": [None], "lapsed_premium": [0.0]}),
                config=nba.Config(max_actions=10))
    assert not set(none.action) & {"grace_collection", "reinstatement"}


def test_no_action_promises_a_premium_discount() -> None:
    out = rank([row()], config=nba.Config(max_actions=10))
    for zh, en in zip(out.reason_zh, out.reason_en, strict=True):
        assert "优惠" not in zh and "折扣" not in zh and "减免" not in zh
        assert "discount" not in en.lower() and "waive" not in en.lower()


def test_renewal_facts_on_a_hand_made_warehouse(tmp_path) -> None:
    from shouhu.scoring.renewal import renewal_facts

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    d = pd.Timestamp
    tables = {
        "src_policy": pd.DataFrame({"policy_no": ["G", "L", "OLD", "PAID"], "_source": "agent",
                                    "holder_record_id": ["R1", "R1", "R1", "R2"],
                                    "annual_premium": [4000.0, 3000.0, 900.0, 500.0]}),
        "src_premium_payment": pd.DataFrame({
            "policy_no": ["G", "PAID"], "due_date": [d("2026-10-01").date(), d("2026-10-10").date()],
            "amount_due": [4000.0, 500.0], "paid_date": [None, d("2026-10-12").date()], "amount_paid": [None, 500.0]}),
        "src_policy_status_event": pd.DataFrame({
            "policy_no": ["G", "L", "L", "OLD"], "status": ["in_force", "in_force", "lapsed", "lapsed"],
            "effective_date": [d(x).date() for x in ("2020-10-01", "2020-01-01", "2025-08-01", "2023-01-01")]}),
        "identity_cluster": pd.DataFrame({"source": "agent", "record_id": ["R1", "R2"], "customer_id": ["C1", "C2"]}),
    }
    with Warehouse(url) as wh:
        for name, df in tables.items():
            wh.write_table(name, df)
        facts = renewal_facts(wh, AS_OF)
    assert facts is not None
    [c1] = facts.to_dict("records")  # C2 paid on time: nothing to do
    assert (c1["customer_id"], c1["in_grace"], c1["grace_premium"]) == ("C1", 1, 4000.0)
    assert c1["grace_ends"].date() == date(2026, 11, 30)  # due 2026-10-01 + 60 days
    # L lapsed 2025-08-01: reinstatable until 2027-08-01; OLD lapsed 2023-01-01: past the two years
    assert (c1["reinstatable"], c1["lapsed_premium"]) == (1, 3000.0)
    assert c1["reinstate_until"].date() == date(2027, 8, 1)
