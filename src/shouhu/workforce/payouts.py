"""Post a plan's payouts for one month to the incentive ledger: new entries only, never twice.

Posting is idempotent: an entry whose (kind, agent, policy, period) is in the ledger already for
the plan is skipped, so running a month again adds nothing; a correction is a reversal
(``shouhu workforce ledger reverse SEQ``) followed by a new posting or adjustment.
"""

from __future__ import annotations

from typing import Any

from shouhu.storage import ledger
from shouhu.storage import workforce as store
from shouhu.workforce.incentives import Plan, PolicyFacts, bonus_entries, commission_entries

Engine = Any  # a SQLAlchemy engine; only storage imports SQLAlchemy


def _facts(rows: list[dict[str, Any]]) -> tuple[list[PolicyFacts], dict[str, str | None]]:
    facts = [PolicyFacts(r["policy_no"], r["producer_of_record"], r["producer_of_service"], r["product_type"],
                         r["issue_date"], r["status"] or "", r["status_date"], float(r["annual_premium"] or 0))
             for r in rows]
    return facts, {r["producer_of_record"]: r["branch_id"] for r in rows if r["producer_of_record"]}


def post(engine: Engine, plan: Plan, period: str, *, actor: str, dry_run: bool = False) -> dict[str, Any]:
    facts, branch = _facts(store.policy_facts(engine))
    entries = commission_entries(plan, facts, period, ledger.paid_first_year(engine, plan.plan_id))
    entries += bonus_entries(plan, facts, period)
    done = ledger.posted_keys(engine, plan.plan_id)
    new = [e for e in entries if (e.kind, e.agent_id, e.policy_no, e.period) not in done]
    rows: list[dict[str, Any]] = [
        {"agent_id": e.agent_id, "branch_id": branch.get(e.agent_id), "plan_id": plan.plan_id, "kind": e.kind,
         "policy_no": e.policy_no, "period": e.period, "amount_fen": e.amount_fen, "memo": e.memo} for e in new]
    written = rows if dry_run or not rows else ledger.append(engine, rows, actor=actor)
    by_kind: dict[str, int] = {}
    for e in new:
        by_kind[e.kind] = by_kind.get(e.kind, 0) + e.amount_fen
    return {"plan": plan.plan_id, "period": period, "entries": len(written), "skipped": len(entries) - len(new),
            "dry_run": dry_run, "fen_by_kind": by_kind}
