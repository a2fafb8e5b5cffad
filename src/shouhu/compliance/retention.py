"""Retention: how long contract records are kept, legal holds, and the job that deletes what is due.

Insurance Law art. 87: an insurer keeps the complete books, vouchers and records of its business for at
least **5 years** from the end of a contract of one year or less and at least **10 years** from the end of
a longer one (whole-life cover counts as longer). A contract ends on its latest status event that ends
cover (lapsed, surrendered, matured, terminated by a claim); a lapsed contract can still be reinstated
within two years (art. 37), which the 5/10 years from the lapse already covers. A contract in force is
retained without an end date.

``run`` (``shouhu retention run``, daily): every restricted person (a deletion request met a retention
period or a hold) whose contracts are no longer retained and who has no active legal hold is erased
(``erasure.erase``: every store, their data key destroyed); and every customer whose sales traceability
sessions are all past retention (5/10 years from the contract's end) has their data key destroyed, which
shreds the ledger's sealed personal parts. A legal hold (litigation, a regulator's
inquiry, a claim dispute) stops any deletion of the person until it is released.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, inspect, select

from shouhu.compliance import erasure
from shouhu.errors import InvalidInput
from shouhu.storage import dsr as store

SHORT_YEARS, LONG_YEARS = 5, 10
ENDING = ("lapsed", "surrendered", "matured", "claimed")
DATA_CLASSES = ("all", "contract", "profile", "traceability")


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def retain_until(ended: date | None, coverage_term_years: Any) -> date | None:
    """The last day a contract's records must be kept (None while it is in force)."""
    if ended is None:
        return None
    try:
        term = float(coverage_term_years) if coverage_term_years is not None else None
    except (TypeError, ValueError):
        term = None
    short = term is not None and 0 < term <= 1
    return _years_after(ended, SHORT_YEARS if short else LONG_YEARS)


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def contracts_of(engine: Engine, customer_id: str, warehouse: Any, today: date) -> list[dict[str, Any]]:
    """The person's policies (as holder or insured) with their end and retention dates. From the warehouse
    when given; else from the serving database, where any policy known counts as retained (no end date)."""
    with engine.connect() as conn:
        records = erasure.records_of(conn, customer_id)
        serving_policies: set[str] = set()
        md = MetaData()
        names = set(inspect(conn).get_table_names())
        for name in ("policy_producer", "policy_in_force", "premium_due"):
            if name in names:
                t = md.tables.get(name) or _reflect(md, conn, name)
                serving_policies |= {str(r[0]) for r in conn.execute(
                    select(t.c.policy_no).where(t.c.customer_id == customer_id))}
    if warehouse is None or not warehouse.has_table("src_policy") or not records:
        return [{"policy_no": p, "ended": None, "retain_until": None, "retained": True}
                for p in sorted(serving_policies)]
    lit = erasure._literal
    by_source: dict[str, list[str]] = {}
    for source, record in records:
        by_source.setdefault(source, []).append(record)
    where = " OR ".join(f"(_source = {lit(s)} AND (holder_record_id IN ({', '.join(lit(r) for r in rs)}) OR "
                        f"insured_record_id IN ({', '.join(lit(r) for r in rs)})))" for s, rs in by_source.items())
    rows = warehouse.query(f"SELECT policy_no, coverage_term_years, status, status_date FROM src_policy WHERE {where}")
    events: dict[str, tuple[str, Any]] = {}
    if rows and warehouse.has_table("src_policy_status_event"):
        inside = ", ".join(lit(str(r[0])) for r in rows)
        for policy, status, when in warehouse.query(
                "SELECT policy_no, status, effective_date FROM src_policy_status_event "
                f"WHERE policy_no IN ({inside}) ORDER BY effective_date"):
            if _as_date(when) is not None and _as_date(when) <= today:  # type: ignore[operator]
                events[str(policy)] = (str(status), when)
    out: dict[str, dict[str, Any]] = {}
    for policy, term, status, status_date in rows:
        latest_status, since = events.get(str(policy), (str(status), status_date))
        ended = _as_date(since) if latest_status in ENDING else None
        until = retain_until(ended, term)
        retained = ended is None or until is None or until >= today
        out[str(policy)] = {"policy_no": str(policy), "ended": ended.isoformat() if ended else None,
                            "retain_until": until.isoformat() if until else None, "retained": retained}
    for p in serving_policies - set(out):
        out[p] = {"policy_no": p, "ended": None, "retain_until": None, "retained": True}
    return [out[k] for k in sorted(out)]


def _reflect(md: MetaData, conn: Any, name: str) -> Any:
    from sqlalchemy import Table

    return Table(name, md, autoload_with=conn)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def place_hold(engine: Engine, customer_id: str, reason: str, actor: str, data_class: str = "all") -> int:
    if len(reason.strip()) < 2:
        raise InvalidInput("reason: say why the data must be kept (case number, inquiry)", field="reason")
    if data_class not in DATA_CLASSES:
        raise InvalidInput(f"data_class: must be one of {', '.join(DATA_CLASSES)}", field="data_class")
    with engine.begin() as conn:
        return store.add_hold(conn, {"customer_id": customer_id, "data_class": data_class, "reason": reason.strip(),
                                     "placed_by": actor, "placed_at": _stamp()})


def release_hold(engine: Engine, hold_id: int, actor: str) -> None:
    with engine.begin() as conn:
        if not store.release_hold(conn, hold_id, actor, _stamp()):
            raise InvalidInput(f"hold: there is no active hold {hold_id}", field="hold")


def _shred_traceability(engine: Engine, day: date, dry_run: bool) -> list[str]:
    """Customers whose every sales traceability session is past its retention and who are not on hold:
    their data key is destroyed, so the sealed personal parts of the ledger become unreadable (the
    append-only rows and their proofs stay)."""
    from shouhu.compliance import subject_keys, traceability

    due = {r["customer_id"] for r in traceability.due_for_deletion(engine, day) if r["customer_fully_due"]}
    out = []
    for customer in sorted(due):
        if store.active_holds(engine, customer):
            continue
        if not dry_run:
            with engine.begin() as conn:
                subject_keys.destroy(conn, customer, "sales traceability retention ended")
        out.append(customer)
    return out


def stale_prospects(engine: Engine, today: date, years: int) -> list[str]:
    """Customers who never held a policy (``customer_360.policies_total`` 0 or empty) and with whom there was
    no contact for ``years`` (``last_contact_at``, else when they were first seen): PIPL art. 19 keeps
    personal information no longer than the purpose needs."""
    cutoff = _years_after(today, -years).isoformat()
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        if not {"customer_360", "customer"} <= names:
            return []
        md = MetaData()
        c360, cust = _reflect(md, conn, "customer_360"), _reflect(md, conn, "customer")
        rows = conn.execute(select(c360.c.customer_id, c360.c.policies_total, c360.c.last_contact_at,
                                   cust.c.first_seen).join(cust, cust.c.customer_id == c360.c.customer_id))
        out = []
        for customer, policies, last, first in rows:
            if policies:
                continue
            seen = _as_date(last) or _as_date(first)
            if seen is not None and seen.isoformat() < cutoff:
                out.append(str(customer))
    return sorted(out)


def run(engine: Engine, *, today: date | None = None, actor: str = "retention-job", warehouse: Any = None,
        data_dir: Path | None = None, dry_run: bool = False, prospect_years: int = 0) -> dict[str, Any]:
    """Erase the restricted people whose retention has ended and who are not on hold, shred traceability
    sessions past retention, and (``prospect_years`` > 0, off by default) erase prospects who never held a
    policy and were not contacted for that many years; record the run."""
    from shouhu.compliance.dsr import deletion_plan

    day = today or date.today()
    with engine.connect() as conn:
        restricted = [dict(r._mapping) for r in conn.execute(select(store.restriction))]
    erased, held, retained = [], [], []
    for r in sorted(restricted, key=lambda x: str(x["customer_id"])):
        customer = str(r["customer_id"])
        plan = deletion_plan(engine, customer, warehouse, day)
        if plan["action"] == "erase":
            if not dry_run:
                erasure.erase(engine, customer, warehouse=warehouse, data_dir=data_dir,
                              request_id=r.get("request_id"))
                with engine.begin() as conn:
                    conn.execute(store.restriction.delete().where(store.restriction.c.customer_id == customer))
            erased.append(customer)
        elif plan["reason"] == "legal_hold":
            held.append(customer)
        else:
            retained.append({"customer_id": customer, "until": plan["until"]})
    shredded = _shred_traceability(engine, day, dry_run)
    prospects: list[str] = []
    if prospect_years > 0:
        for customer in stale_prospects(engine, day, prospect_years):
            plan = deletion_plan(engine, customer, warehouse, day)
            if plan["action"] != "erase":  # a hold, or a policy the warehouse knows of
                if plan["reason"] == "legal_hold":
                    held.append(customer)
                else:
                    retained.append({"customer_id": customer, "until": plan["until"]})
                continue
            if not dry_run:
                erasure.erase(engine, customer, warehouse=warehouse, data_dir=data_dir)
            prospects.append(customer)
    summary = {"day": day.isoformat(), "restricted": len(restricted), "erased": erased, "held": held,
               "retained": retained, "trace_shredded": shredded, "prospects_erased": prospects}
    with engine.begin() as conn:
        summary["run"] = store.add_retention_run(conn, _stamp(), actor, dry_run, summary)
    return summary
