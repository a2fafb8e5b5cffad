"""Next best action: a ranked, capped, consent-checked list of actions per customer, with reasons.

``rank_actions`` is a pure function over ``customer_360`` rows plus optional inputs (gaps from
``advice.service.batch_gaps``, lapse probabilities, customer value, cross-sell scores); the refresh
step ``build_next_best_actions`` reads those from the warehouse and writes ``next_best_action``.

Expected value = P(success) × value of the outcome (CNY). Rules, constants and caps: docs/nba.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa

from shouhu.errors import InvalidInput
from shouhu.scoring.renewal import COLUMNS as RENEWAL_COLUMNS
from shouhu.scoring.renewal import renewal_facts
from shouhu.scoring.value import DISCOUNT, MARGIN_RATES

TABLE = "next_best_action"
COLUMNS = ("customer_id", "rank", "action", "product_type", "expected_value", "probability", "outcome_value",
           "reason_zh", "reason_en", "kind")
SERVICE, SALES = "service", "sales"
# Coverage gap (advice NEED_TYPES) → the product type that closes it.
GAP_PRODUCT: dict[str, str] = {
    "life": "term_life", "critical_illness": "critical_illness", "medical": "medical", "accident": "accident",
    "pension": "annuity", "education": "endowment",
}
GAP_LABEL: dict[str, tuple[str, str]] = {
    "life": ("寿险", "life"), "critical_illness": ("重疾", "critical illness"), "medical": ("医疗", "medical"),
    "accident": ("意外", "accident"), "pension": ("养老", "pension"), "education": ("教育金", "education"),
}
# Typical annual premium (CNY) of a new policy of the type: the size of a won sale.
TYPICAL_PREMIUM: dict[str, float] = {
    "term_life": 1500.0, "critical_illness": 6000.0, "medical": 600.0, "accident": 300.0, "annuity": 10000.0,
    "endowment": 8000.0,
}


@dataclass(frozen=True)
class Config:
    max_actions: int = 3  # per customer
    sales_touch_cap: int = 4  # no sales action when touchpoints_30d >= this
    due_window_days: int = 30  # retention contact when the next premium falls due within this
    review_after_days: int = 365  # policy review when no contact for this long
    health_ages: tuple[int, int] = (25, 60)
    default_lapse: float = 0.10  # when the lapse model has not scored the customer
    save_rate: float = 0.30  # share of would-be lapses a timely contact saves
    grace_save_rate: float = 0.50  # share of grace-period policies a collection call keeps
    reinstate_uptake: float = 0.15  # share of reinstatable policies an invitation brings back
    gap_conversion: float = 0.04  # P(buy) for a gap offer without a cross-sell score
    review_uptake: float = 0.25
    review_retention_gain: float = 0.05  # share of the customer's value a review protects
    health_uptake: float = 0.15
    health_value: float = 300.0  # CNY: lower claims and lapse of an engaged member, per year
    claim_help_success: float = 0.80
    claim_help_value_share: float = 0.10  # share of the customer's value at risk after a poor claim experience
    claim_help_floor: float = 200.0
    upgrade_tiers: tuple[str, ...] = ("platinum", "gold")
    upgrade_uptake: float = 0.50
    upgrade_value_share: float = 0.03
    sale_years: int = 10  # premium years a won sale is valued over
    discount: float = DISCOUNT


@dataclass
class Action:
    action: str
    kind: str
    probability: float
    outcome_value: float
    reason_zh: str
    reason_en: str
    product_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def expected_value(self) -> float:
        return round(self.probability * self.outcome_value, 2)


@dataclass(frozen=True)
class ActionType:
    code: str
    kind: str
    label_zh: str
    label_en: str


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType("retention_contact", SERVICE, "缴费前关怀提醒", "Retention contact before a premium falls due"),
    ActionType("grace_collection", SERVICE, "宽限期续期催收", "Collect a renewal premium in the grace period"),
    ActionType("reinstatement", SERVICE, "失效保单复效邀约", "Invite to reinstate a lapsed policy"),
    ActionType("claim_help", SERVICE, "理赔协助", "Help with a claim"),
    ActionType("policy_review", SERVICE, "保单检视邀约", "Invite to a policy review"),
    ActionType("close_gap", SALES, "补足保障缺口", "Close a protection gap"),
    ActionType("health_programme", SALES, "邀请加入健康计划", "Invite to the health programme"),
    ActionType("upgrade_membership", SALES, "会员升级", "Upgrade membership"),
)
KIND = {a.code: a.kind for a in ACTION_TYPES}


def _num(v: Any, default: float = 0.0) -> float:
    return default if v is None or pd.isna(v) else float(v)


def _annuity(years: int, rate: float) -> float:
    return sum((1 + rate) ** -t for t in range(years))  # premiums at the start of each year


def _retention(r: dict[str, Any], as_of: date, cfg: Config, value: float) -> Action | None:
    due = r.get("next_premium_due")
    if due is None or pd.isna(due) or _num(r.get("policies_in_force")) <= 0:
        return None
    days = (pd.Timestamp(due).date() - as_of).days
    if not 0 <= days <= cfg.due_window_days:
        return None
    lapse = _num(r.get("lapse_probability"), cfg.default_lapse)
    outcome = max(value, _num(r.get("annualised_premium")) * 0.1)
    d = pd.Timestamp(due).date().isoformat()
    return Action("retention_contact", SERVICE, lapse * cfg.save_rate, outcome,
                  f"下次保费将于{d}到期({days}天后),预计失效概率{lapse:.0%},建议提前联系提醒缴费。",
                  f"A premium falls due on {d} (in {days} days) and the estimated lapse risk is {lapse:.0%}; "
                  "contact the customer before the due date.")


def _grace(r: dict[str, Any], as_of: date, cfg: Config, value: float) -> Action | None:
    n = int(_num(r.get("in_grace")))
    if n <= 0:
        return None
    ends = pd.Timestamp(r["grace_ends"]).date()
    premium = _num(r.get("grace_premium"))
    outcome = max(value, _num(r.get("annualised_premium")) * 0.1)
    return Action("grace_collection", SERVICE, cfg.grace_save_rate, outcome,
                  f"{n}张保单的续期保费{premium:,.2f}元已到期未缴,宽限期至{ends.isoformat()}"
                  f"(还有{(ends - as_of).days}天),期内保障仍有效;请提醒客户按原合同缴费,避免失效。",
                  f"{n} polic{'y' if n == 1 else 'ies'}: renewal premium of CNY {premium:,.2f} is due and unpaid; the "
                  f"grace period ends {ends.isoformat()} (in {(ends - as_of).days} days) and cover runs until then. "
                  "Remind the customer to pay under the existing contract terms to avoid a lapse.")


def _reinstate(r: dict[str, Any], cfg: Config) -> Action | None:
    n = int(_num(r.get("reinstatable")))
    if n <= 0:
        return None
    until = pd.Timestamp(r["reinstate_until"]).date().isoformat()
    premium = _num(r.get("lapsed_premium"))
    outcome = premium * MARGIN_RATES.get("critical_illness", 0.2) * _annuity(cfg.sale_years, cfg.discount)
    return Action("reinstatement", SERVICE, cfg.reinstate_uptake, float(round(max(outcome, 100.0))),
                  f"{n}张失效保单(年缴保费{premium:,.0f}元)可在{until}前申请复效:补缴欠费及利息、"
                  "按条款如实健康告知后恢复原合同,通常比按现在年龄重新投保更划算。",
                  f"{n} lapsed polic{'y' if n == 1 else 'ies'} (CNY {premium:,.0f} a year) may be reinstated until "
                  f"{until}: pay the arrears with interest and answer the health questions in the terms to restore "
                  "the original contract, usually better value than buying again at today's age.")


def _gap(r: dict[str, Any], cfg: Config, crosssell: dict[tuple[str, str], float]) -> Action | None:
    gaps = {k[4:]: _num(v) for k, v in r.items() if k.startswith("gap_") and k[4:] in GAP_PRODUCT}
    gaps = {k: v for k, v in gaps.items() if v > 0}
    if not gaps:
        return None
    cov = max(gaps, key=lambda k: (gaps[k], k))
    product = GAP_PRODUCT[cov]
    p = crosssell.get((str(r["customer_id"]), product), cfg.gap_conversion)
    premium = TYPICAL_PREMIUM[product]
    outcome = premium * MARGIN_RATES[product] * _annuity(cfg.sale_years, cfg.discount)
    zh, en = GAP_LABEL[cov]
    amount = gaps[cov]
    return Action("close_gap", SALES, p, outcome,
                  f"{zh}保障缺口约{amount / 10000:,.1f}万元,是最大的缺口,建议介绍合适的{zh}类产品。",
                  f"The largest protection gap is {en}: about CNY {amount:,.0f}; suggest a suitable {en} product.",
                  product_type=product)


def _review(r: dict[str, Any], cfg: Config, value: float) -> Action | None:
    if _num(r.get("policies_in_force")) <= 0:
        return None
    since = r.get("days_since_last_contact")
    if since is not None and not pd.isna(since) and float(since) < cfg.review_after_days:
        return None
    n = int(_num(r.get("policies_in_force")))
    gap = "超过一年没有联系" if since is not None and not pd.isna(since) else "没有联系记录"
    gap_en = f"no contact for {int(float(since))} days" if since is not None and not pd.isna(since) \
        else "no recorded contact"
    return Action("policy_review", SERVICE, cfg.review_uptake, max(value * cfg.review_retention_gain, 100.0),
                  f"客户持有{n}张有效保单,{gap},建议邀约保单检视。",
                  f"The customer holds {n} in-force policies and has had {gap_en}; invite them to a policy review.")


def _health(r: dict[str, Any], cfg: Config) -> Action | None:
    age, wearable = r.get("age"), r.get("has_wearable")
    if age is None or pd.isna(age) or (wearable is not None and not pd.isna(wearable) and bool(wearable)):
        return None
    lo, hi = cfg.health_ages
    if not lo <= int(age) <= hi:
        return None
    return Action("health_programme", SALES, cfg.health_uptake, cfg.health_value,
                  f"客户{int(age)}岁,尚未连接运动设备,建议邀请加入健康计划(步数换积分与会员权益)。",
                  f"The customer is {int(age)} and shares no wearable data; invite them to the health programme "
                  "(steps earn points and membership benefits).")


def _claim(r: dict[str, Any], cfg: Config, value: float) -> Action | None:
    pending = int(_num(r.get("pending_claims")))
    claims = int(_num(r.get("claims_count")))
    if pending <= 0 and claims <= 0:
        return None
    outcome = max(value * cfg.claim_help_value_share, cfg.claim_help_floor)
    if pending > 0:
        return Action("claim_help", SERVICE, cfg.claim_help_success, outcome,
                      f"客户有{pending}笔理赔正在处理,建议主动联系协助补充材料、跟进进度。",
                      f"The customer has {pending} claim(s) in progress; call to help with documents and progress.")
    return Action("claim_help", SERVICE, cfg.claim_help_success * 0.5, outcome,
                  f"客户有{claims}次理赔记录,建议回访理赔体验并提供后续协助。",
                  f"The customer has made {claims} claim(s); follow up on the claim experience and offer help.")


def _upgrade(r: dict[str, Any], cfg: Config, value: float) -> Action | None:
    tier = r.get("tier")
    if tier not in cfg.upgrade_tiers:
        return None
    zh = {"platinum": "白金", "gold": "黄金"}.get(str(tier), str(tier))
    return Action("upgrade_membership", SALES, cfg.upgrade_uptake, value * cfg.upgrade_value_share,
                  f"客户价值等级为{zh}(预期未来利润现值约{value:,.0f}元),建议升级会员权益。",
                  f"The customer's value tier is {tier} (expected present value of margins about CNY {value:,.0f}); "
                  "offer the matching membership level.")


def candidate_actions(r: dict[str, Any], as_of: date, cfg: Config,
                      crosssell: dict[tuple[str, str], float] | None = None) -> list[Action]:
    """Every action the customer is eligible for, before consent and caps."""
    value = _num(r.get("value"))
    makers: list[Callable[[], Action | None]] = [
        lambda: _retention(r, as_of, cfg, value), lambda: _grace(r, as_of, cfg, value), lambda: _reinstate(r, cfg),
        lambda: _claim(r, cfg, value), lambda: _review(r, cfg, value),
        lambda: _gap(r, cfg, crosssell or {}), lambda: _health(r, cfg), lambda: _upgrade(r, cfg, value),
    ]
    return [a for a in (m() for m in makers) if a is not None]


def allowed(r: dict[str, Any], action: Action, cfg: Config) -> bool:
    """Consent and contact-frequency rules: service actions always; sales only with marketing consent and
    fewer than ``sales_touch_cap`` touchpoints in the last 30 days."""
    if action.kind == SERVICE:
        return True
    consent = r.get("marketing_consent")
    if consent is None or pd.isna(consent) or not bool(consent):
        return False
    return _num(r.get("touchpoints_30d")) < cfg.sales_touch_cap


def _lookup(df: pd.DataFrame | None, cols: list[str]) -> pd.DataFrame | None:
    if df is None or df.empty:
        return None
    return df[["customer_id", *cols]].drop_duplicates("customer_id")


def rank_actions(c360: pd.DataFrame, as_of: date, *, gaps: pd.DataFrame | None = None,
                 lapse: pd.DataFrame | None = None, value: pd.DataFrame | None = None,
                 crosssell: pd.DataFrame | None = None, pending_claims: pd.DataFrame | None = None,
                 renewals: pd.DataFrame | None = None, config: Config | None = None) -> pd.DataFrame:
    """``next_best_action`` rows: per customer the allowed actions by expected value, at most ``max_actions``.

    Optional inputs, each keyed by ``customer_id``: ``gaps`` (``gap_<coverage>`` columns), ``lapse``
    (``lapse_probability``), ``value`` (``value``, ``tier``), ``crosssell`` (``product_type``,
    ``probability``), ``pending_claims`` (``pending_claims``), ``renewals``
    (:func:`shouhu.scoring.renewal.renewal_facts`).
    """
    cfg = config or Config()
    if cfg.max_actions < 1:
        raise InvalidInput("max_actions must be at least 1", max_actions=cfg.max_actions)
    df = c360.copy()
    for extra, cols in ((gaps, None), (lapse, ["lapse_probability"]), (value, ["value", "tier"]),
                        (pending_claims, ["pending_claims"]), (renewals, list(RENEWAL_COLUMNS[1:]))):
        if extra is None:
            continue
        cols = cols or [c for c in extra.columns if c.startswith("gap_")]
        part = _lookup(extra, cols)
        if part is not None:
            df = df.drop(columns=[c for c in cols if c in df.columns]).merge(part, on="customer_id", how="left")
    cs: dict[tuple[str, str], float] = {}
    if crosssell is not None and not crosssell.empty:
        cs = {(str(c), str(t)): float(p) for c, t, p in
              crosssell[["customer_id", "product_type", "probability"]].itertuples(index=False)}
    rows: list[dict[str, Any]] = []
    for r in df.astype(object).where(df.notna(), None).to_dict("records"):
        rec = {str(k): v for k, v in r.items()}
        acts = [a for a in candidate_actions(rec, as_of, cfg, cs) if allowed(rec, a, cfg)]
        acts.sort(key=lambda a: (-a.expected_value, a.action))
        for i, a in enumerate(acts[:cfg.max_actions], start=1):
            rows.append({"customer_id": rec["customer_id"], "rank": i, "action": a.action,
                         "product_type": a.product_type, "expected_value": a.expected_value,
                         "probability": round(a.probability, 4), "outcome_value": round(a.outcome_value, 2),
                         "reason_zh": a.reason_zh, "reason_en": a.reason_en, "kind": a.kind})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _frame(expr: Any) -> pd.DataFrame:
    df: pd.DataFrame = expr.to_pyarrow().to_pandas()
    return df


GAP_TABLE = "customer_gap"  # written by the refresh step ``gaps`` (advice.batch, from ``batch_gaps``)


def _inputs(wh: Any, gaps: pd.DataFrame | None, as_of: date) -> dict[str, pd.DataFrame | None]:
    if gaps is None and wh.has_table(GAP_TABLE):
        gaps = _frame(wh.table(GAP_TABLE))
    lapse = None
    if wh.has_table("lapse_score"):
        ls = wh.table("lapse_score")
        lapse = _frame(ls.filter(ls.customer_id.notnull()).group_by("customer_id")
                       .aggregate(lapse_probability=ls.probability.max()))
    value = _frame(wh.table("customer_value").select("customer_id", "value", "tier")) \
        if wh.has_table("customer_value") else None
    crosssell = _frame(wh.table("crosssell_score").select("customer_id", "product_type", "probability")) \
        if wh.has_table("crosssell_score") else None
    pending = None
    if wh.has_table("src_claim") and wh.has_table("identity_cluster"):
        cl, pol, ic = wh.table("src_claim"), wh.table("src_policy"), wh.table("identity_cluster")
        cl = cl.filter(cl.status == "pending")
        j = cl.join(pol.select(_pno=pol.policy_no, _src=pol._source, _holder=pol.holder_record_id),
                    cl.policy_no == pol.policy_no)
        j = j.join(ic, [j._src == ic.source, j._holder == ic.record_id])
        pending = _frame(j.group_by("customer_id").aggregate(pending_claims=j.claim_no.nunique()))
    return {"gaps": gaps, "lapse": lapse, "value": value, "crosssell": crosssell,
            "pending_claims": pending, "renewals": renewal_facts(wh, as_of)}


def build_next_best_actions(wh: Any, as_of: date, config: Config | None = None, *,
                            gaps: pd.DataFrame | None = None) -> dict[str, Any]:
    """Read ``customer_360`` (+ ``customer_gap``, ``lapse_score``, ``customer_value``, ``crosssell_score``,
    ``src_claim`` when present), rank and write ``next_best_action``. Run after the gaps step and
    ``build_customer_value``. ``gaps`` (``advice.service.batch_gaps`` output) overrides ``customer_gap``;
    without either, no gap action is proposed."""
    c360 = _frame(wh.table("customer_360"))
    inputs = _inputs(wh, gaps, as_of)
    result = rank_actions(c360, as_of, config=config, **inputs)
    schema = pa.schema([("customer_id", pa.string()), ("rank", pa.int64()), ("action", pa.string()),
                        ("product_type", pa.string()), ("expected_value", pa.float64()),
                        ("probability", pa.float64()), ("outcome_value", pa.float64()), ("reason_zh", pa.string()),
                        ("reason_en", pa.string()), ("kind", pa.string())])
    wh.write_table(TABLE, pa.Table.from_pandas(result, schema=schema, preserve_index=False))
    return {"customers": int(result["customer_id"].nunique()), "actions": len(result),
            "inputs": sorted(k for k, v in inputs.items() if v is not None),
            "by_action": {k: int(v) for k, v in result["action"].value_counts().items()}}


def agent_tasks(wh: Any, agent_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The agent's task list: actions of customers whose ``primary_agent_id`` is the agent, best first."""
    if limit < 1:
        raise InvalidInput("limit must be at least 1", limit=limit)
    nba, c = wh.table(TABLE), wh.table("customer_360")
    c = c.filter(c.primary_agent_id == agent_id).select(_cid=c.customer_id)
    j = nba.join(c, nba.customer_id == c._cid).drop("_cid")
    df = _frame(j.order_by([j.expected_value.desc(), j.customer_id, j["rank"]]).limit(limit))
    return [{str(k): (None if v is None or (isinstance(v, float) and pd.isna(v)) else v) for k, v in row.items()}
            for row in df.to_dict("records")]
