"""The sandbox conformance report and go-live (issue 18).

Before a partner gets production keys, :func:`run` replays what it did in the sandbox (the request log
``partner_request`` and its sandbox quotes, policies, changes, claims, hosted links, traceability sessions
and webhook deliveries, over the last ``WINDOW`` or since a given time) against six checks:

* ``idempotency``: every write carried an ``Idempotency-Key``;
* ``happy_path``: an intermediary quoted, bound and then confirmed a change or sent a claim notice; a scene
  partner had a policy bound through a hosted link and made no successful price or bind call;
* ``disclosures``: every sandbox bind is checked again from the stored rows (acknowledgements at the quote's
  versions and hashes; a traceability session of the partner whose hash chain verifies and whose events show
  each page version viewed and confirmed), not taken on trust because it was accepted then;
* ``webhooks``: an enabled endpoint, a ping or event delivered with 2xx, and a probe signed with a wrong
  secret that the endpoint refuses (the only way to see from here that the partner verifies signatures);
* ``error_handling``: at most ``MAX_4XX_RATE`` of the calls answered 4xx, and no write retried without its
  key after a 409;
* ``licence``: the agreed products and scenes, the keys' scopes and what was sold fit the licence.

Each check carries pass/fail, its evidence (counts, never personal data) and an explanation in Chinese and
English; the report (``partner_conformance``) passes only when all six pass. :func:`go_live` switches the
partner to production mode on a passed report made since the partner's last configuration change and at
most ``WINDOW`` old. User guide: docs/partners.md ("Sandbox conformance and go-live").
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from shouhu.errors import InvalidInput
from shouhu.partners import registry, webhooks
from shouhu.partners.conformance_checks import (
    CHECKS,
    Check,
    Sandbox,
    check_disclosures,
    check_errors,
    check_happy_path,
    check_idempotency,
    check_licence,
    check_webhooks,
)
from shouhu.partners.registry import Forbidden, now_utc, stamp
from shouhu.storage import audit
from shouhu.storage import partners as store
from shouhu.storage import webhooks as hook_store

__all__ = ["CHECKS", "WINDOW", "Check", "NotConformant", "Sandbox", "gather", "go_live", "latest", "parse_since",
           "refusal", "run"]

WINDOW = timedelta(days=30)  # the traffic replayed by default, and the longest a passed report allows go-live
OWN_ROUTE = "/conformance-reports"  # the report's own calls are not replayed


class NotConformant(Forbidden):
    """Go-live refused: no report, a failed one (``failing`` names its checks), or one that is out of date."""

    code = "not_conformant"


def parse_since(value: str) -> datetime:
    """An ISO 8601 time with offset (``since`` of a report)."""
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("since: an ISO 8601 time with offset, e.g. 2026-12-01T00:00:00+08:00",
                           field="since") from None
    if at.tzinfo is None:
        raise InvalidInput("since: needs a time zone offset", field="since")
    return at


def gather(engine: Engine, partner: dict[str, Any], since: str) -> Sandbox:
    pid, mode = partner["partner_id"], "sandbox"
    calls = [c for c in store.requests_of(engine, pid, mode, since) if OWN_ROUTE not in str(c["route"])]
    deliveries = [d for d in hook_store.deliveries_of(engine, pid, limit=1000)
                  if d["mode"] == mode and d["created_at"] >= since]
    return Sandbox(partner, since, calls, store.policies_since(engine, pid, mode, since),
                   store.changes_since(engine, pid, mode, since), store.claims_since(engine, pid, mode, since),
                   store.links_since(engine, pid, mode, since), hook_store.endpoints_of(engine, pid), deliveries)


# --- the report and go-live ---------------------------------------------------------------------------

def run(engine: Engine, partner_id: str, now: datetime | None = None, *, since: datetime | None = None,
        send: webhooks.Send | None = None) -> dict[str, Any]:
    """Replay the partner's sandbox traffic and data since ``since`` (default: ``WINDOW`` before ``now``),
    store the report and return it. ``send`` replaces the HTTP client of the signature probe."""
    moment = now or now_utc()
    p = registry.get(engine, partner_id)
    start = since or moment - WINDOW
    if start > moment:
        raise InvalidInput("since: must not be in the future", field="since")
    box = gather(engine, p, stamp(start))
    checks = [check_idempotency(box), check_happy_path(box), check_disclosures(engine, box),
              check_webhooks(box, send or webhooks.post), check_errors(box), check_licence(engine, box)]
    passed = all(c.passed for c in checks)
    report_id = f"CR{moment.strftime('%Y%m%d%H%M%S%f')}{secrets.token_hex(3).upper()}"
    report = {"report_id": report_id, "partner_id": partner_id, "licence": p["licence"], "at": stamp(moment),
              "since": box.since, "config_at": p["updated_at"], "passed": passed,
              "failed": [c.name for c in checks if not c.passed], "checks": [c.to_dict() for c in checks]}
    store.add_report(engine, {"report_id": report_id, "partner_id": partner_id, "at": report["at"],
                              "passed": passed, "report": report})
    return report


def latest(engine: Engine, partner_id: str) -> dict[str, Any]:
    from shouhu.partners.sales import NotFound

    found = store.latest_report(engine, partner_id)
    if found is None:
        raise NotFound(f"partner {partner_id} has no conformance report yet", field="partner_id")
    return dict(found["report"])


def refusal(partner: Mapping[str, Any], found: Mapping[str, Any] | None, moment: datetime) -> str | None:
    """Why the partner may not go live on its latest report, or None."""
    pid = partner["partner_id"]
    if found is None:
        return f"partner {pid} has no conformance report: run `shouhu partners conformance {pid}`"
    r = found["report"]
    if not found["passed"]:
        return f"the latest conformance report {r['report_id']} ({r['at']}) failed: {', '.join(r['failed'])}"
    if r.get("config_at") != partner["updated_at"]:
        return (f"partner {pid} was changed at {partner['updated_at']}, after its latest conformance report "
                f"{r['report_id']} ({r['at']}): run the report again")
    if r["at"] < stamp(moment - WINDOW):
        return f"the latest conformance report {r['report_id']} ({r['at']}) is older than {WINDOW.days} days"
    return None


def go_live(engine: Engine, partner_id: str, by: str, now: datetime | None = None) -> dict[str, Any]:
    """Switch the partner to production mode (production keys may then be issued), on a passed report
    that is newer than its last change and at most ``WINDOW`` old; audited under ``by``."""
    if not (by or "").strip() or len(by) > 64:
        raise InvalidInput("by: who makes the partner live (1 to 64 characters)", field="by")
    p = registry.get(engine, partner_id)
    if p["status"] != "active":
        raise NotConformant(f"partner {partner_id} is {p['status']}: make it active first", field="status")
    if p["mode"] == "production":
        return p
    found = store.latest_report(engine, partner_id)
    reason = refusal(p, found, now or now_utc())
    if reason is not None:
        failing = list(found["report"]["failed"]) if found else []
        raise NotConformant(f"partner {partner_id} cannot go live: {reason}", field="conformance", failing=failing)
    assert found is not None
    store.update_partner(engine, partner_id, {"mode": "production", "live_report_id": found["report_id"]})
    audit.append(engine, actor=by.strip(), actor_role="partners", action="partner.go_live", target_kind="partner",
                 target_id=partner_id, detail={"report_id": found["report_id"]})
    return registry.get(engine, partner_id)
