"""Deletion of one person across every store: the serving database, the warehouse, our files; and the
restriction of processing where the law says to keep the records (PIPL art. 47 para. 2).

What happens to each serving table is decided here, table by table (``SERVING``); a table with a
``customer_id`` column that is not listed makes every erasure refuse to run, so a new table can never
be left out silently (tests/compliance/test_erasure.py checks the migrated schema).

* ``legal``: records the law or our accountability requires (consent ledger, data-subject requests,
  holds, the audit log, the suitability log, the do-not-contact list, subject keys): kept, they hold
  no more than the customer id;
* ``contract``: contract and service records (premiums due, collection outcomes, service cases,
  policies in force): kept while a contract is within its retention period (Insurance Law art. 87),
  deleted with the rest afterwards;
* ``profile``: what was derived about the person for marketing and profiling (tags, scores, gaps,
  value, next best actions, journeys, inbox, proposals, declared policies with other insurers):
  deleted at a restriction and at an erasure;
* ``core``: the customer record and its indexes (golden record, 360 view, search tokens, scope,
  households, identity records, tasks and notes): deleted at an erasure.

A full erasure also removes the person's rows from the warehouse (every ``src_*`` table linked to their
channel records, every mart with a ``customer_id``, quarantined rows of their records), records the
channel record keys in ``erased_subject`` so that the next refresh removes rows re-sent by a channel
(``reapply``), deletes our files about them (data-subject copies) and destroys their data key, which
shreds whatever was sealed with it (the sales traceability ledger).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, delete, inspect, select

from shouhu.compliance import subject_keys
from shouhu.errors import ShouhuError
from shouhu.storage import dsr as store

SERVING: dict[str, str] = {
    # content engagement, shares and need signals derived from reading (content.engagement)
    "content_engagement": "profile", "content_share": "profile", "content_need_signal": "profile",
    # ecosystem service orders and users (partners.ecosystem)
    "eco_order": "contract", "eco_user": "profile",
    # health programme (shouhu.health): wearable data and events are sensitive health data (profile); points,
    # status totals and redemptions back the premium discounts of a contract; value-based levels are derived
    "health_daily": "profile", "health_import": "profile", "health_quarantine": "profile", "health_event": "profile",
    "health_member": "contract", "points_ledger": "contract", "points_year_total": "contract",
    "health_redemption": "contract", "membership_tier": "profile", "membership_change": "profile",
    # legal records
    "consent_event": "legal", "contact_block": "legal", "dsr_request": "legal", "erased_subject": "legal",
    "legal_hold": "legal", "processing_restriction": "legal", "subject_key": "legal", "trace_session": "legal",
    # contract and service records
    "collection_outcome": "contract", "policy_in_force": "contract", "policy_producer": "contract",
    "policy_service": "contract", "premium_due": "contract", "service_case": "contract", "pod_move": "contract",
    "assessment": "contract",  # the suitability assessment behind a sale (适当性) goes with the contract
    "customer_persistency": "contract",
    # derived for marketing and profiling
    "customer_tag": "profile", "journey_tag": "profile", "next_best_action": "profile", "customer_gap": "profile",
    "customer_value": "profile", "lapse_score": "profile", "journey_enrollment": "profile",
    "journey_event": "profile", "message_log": "profile", "inbox_message": "profile", "proposal_link": "profile",
    "external_policy": "profile", "contact_preference": "profile",
    # the customer record
    "customer": "core", "customer_360": "core", "customer_detail": "core", "customer_provenance": "core",
    "customer_scope": "core", "customer_search_token": "core", "household_member": "core",
    "identity_record": "core", "task": "core", "activity": "core", "pod_assignment": "core",
}
# rows that hang off a customer's rows by another key: table -> (its column, parent table, parent column)
CHILDREN: dict[str, tuple[str, str, str]] = {
    "journey_step": ("enrollment_id", "journey_enrollment", "id"),
    "case_event": ("case_id", "service_case", "id"),
    "eco_order_event": ("order_id", "eco_order", "order_id"),
    "eco_entitlement_use": ("order_id", "eco_order", "order_id"),
    "eco_funnel_event": ("eco_user_id", "eco_user", "eco_user_id"),
}
# warehouse tables linked to a channel record (by record id) and to a policy (by policy number)
RECORD_LINKS: dict[str, tuple[str, ...]] = {
    "src_party": ("record_id",), "src_relationship": ("record_id", "related_record_id"),
    "src_touchpoint": ("record_id",), "src_wearable_daily": ("record_id",), "src_consent": ("record_id",),
    "src_policy_beneficiary": ("record_id",),
}
POLICY_LINKS = ("src_policy", "src_policy_coverage", "src_policy_beneficiary", "src_policy_status_event",
                "src_premium_payment", "src_claim")
QUARANTINE = "ingest_quarantine"
LEGAL_ELSEWHERE = ("audit_log", "suitability_check", "incentive_ledger", "dsr_event", "retention_run")


class ErasureRefused(ShouhuError):
    code = "erasure_refused"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Outcome:
    """What an erasure or a restriction did, per store: the proof of completion records it."""

    customer_id: str
    mode: str                                       # erased | restricted
    serving: dict[str, int] = field(default_factory=dict)
    warehouse: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    key_destroyed: bool = False
    kept: dict[str, str] = field(default_factory=dict)  # table class -> why it was kept
    source_files: list[str] = field(default_factory=list)  # loaded extracts that held the person
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "mode": self.mode, "dry_run": self.dry_run,
                "serving": dict(sorted(self.serving.items())), "warehouse": dict(sorted(self.warehouse.items())),
                "files": self.files, "key_destroyed": self.key_destroyed, "kept": self.kept,
                "source_files": self.source_files}


def unclassified(engine: Engine | Connection) -> list[str]:
    """Serving tables with a customer_id column that ``SERVING`` does not classify."""
    ins = inspect(engine)
    return sorted(t for t in ins.get_table_names() if t not in SERVING and t not in CHILDREN
                  and not t.startswith("trace_") and any(c["name"] == "customer_id" for c in ins.get_columns(t)))


def _tables(conn: Connection) -> dict[str, Table]:
    md = MetaData()
    md.reflect(conn)
    return dict(md.tables)


def records_of(conn: Connection, customer_id: str) -> list[tuple[str, str]]:
    """The channel records (source, record id) of the customer, from the published identity records."""
    t = _tables(conn).get("identity_record")
    if t is None:
        return []
    return sorted((str(r[0]), str(r[1])) for r in conn.execute(
        select(t.c.source, t.c.record_id).where(t.c.customer_id == customer_id)))


def _delete_serving(conn: Connection, customer_id: str, classes: set[str], out: Outcome, dry_run: bool) -> None:
    tables = _tables(conn)
    for child, (col, parent, pcol) in CHILDREN.items():
        if child in tables and parent in tables and SERVING.get(parent) in classes:
            p = tables[parent]
            ids = select(p.c[pcol]).where(p.c.customer_id == customer_id).scalar_subquery()
            t = tables[child]
            out.serving[child] = _count_or_delete(conn, t, t.c[col].in_(ids), dry_run)
    for name, kind in SERVING.items():
        if kind in classes and name in tables and "customer_id" in tables[name].c:
            t = tables[name]
            condition = t.c.customer_id == customer_id
            if name == "next_best_action" and classes == {"profile"}:
                condition = condition & (t.c.kind == "sales")  # a restriction keeps the contract's service
            out.serving[name] = _count_or_delete(conn, t, condition, dry_run)
    out.serving = {k: v for k, v in out.serving.items() if v}


def _count_or_delete(conn: Connection, t: Table, condition: Any, dry_run: bool) -> int:
    if dry_run:
        from sqlalchemy import func

        return int(conn.execute(select(func.count()).select_from(t).where(condition)).scalar_one())
    return int(conn.execute(delete(t).where(condition)).rowcount or 0)


def restrict(engine: Engine, customer_id: str, reason: str, until: str | None, request_id: int | None,
             dry_run: bool = False) -> Outcome:
    """Stop all processing but storage: delete the marketing and profiling data, keep the contract and
    the customer record, and record the restriction (sales actions, journeys, exports and segments leave
    the person out from now on)."""
    out = Outcome(customer_id, "restricted", dry_run=dry_run,
                  kept={"contract": reason, "core": "needed to serve the contracts in force or retained",
                        "legal": "records the law requires"})
    with engine.begin() as conn:
        _check_schema(conn)
        _delete_serving(conn, customer_id, {"profile"}, out, dry_run)
        if not dry_run:
            store.add_restriction(conn, {"customer_id": customer_id, "since": now_text(), "reason": reason,
                                         "until": until, "request_id": request_id})
    return out


def _check_schema(conn: Connection) -> None:
    missing = unclassified(conn)
    if missing:
        raise ErasureRefused(f"serving tables {', '.join(missing)} hold customer data but are not classified in "
                             "compliance.erasure.SERVING; classify them before erasing anyone")


def erase(engine: Engine, customer_id: str, *, warehouse: Any = None, data_dir: Path | None = None,
          request_id: int | None = None, dry_run: bool = False) -> Outcome:
    """Delete the person everywhere (see the module docstring). ``warehouse``: an open
    ``storage.warehouse.Warehouse`` (None: the serving side only, the next refresh cleans the warehouse
    from ``erased_subject``). Safe to run again: what is already gone counts 0."""
    out = Outcome(customer_id, "erased", dry_run=dry_run, kept={"legal": "records the law requires, "
                                                                         "customer id only"})
    with engine.begin() as conn:
        _check_schema(conn)
        records = records_of(conn, customer_id)
        if not records:
            known = [r for r in store.erased(conn) if r["customer_id"] == customer_id]
            records = list(known[0]["records"]) if known else []
        if not dry_run and not any(r["customer_id"] == customer_id for r in store.erased(conn)):
            store.add_erased(conn, customer_id, records, now_text(), request_id)  # first: a crash re-applies
    if warehouse is not None:
        out.warehouse, out.source_files = erase_in_warehouse(warehouse, [customer_id], records, dry_run)
    with engine.begin() as conn:
        _delete_serving(conn, customer_id, {"profile", "contract", "core"}, out, dry_run)
        if not dry_run:
            out.key_destroyed = subject_keys.destroy(conn, customer_id, f"erasure (request {request_id})")
    if data_dir is not None:
        out.files = _erase_files(data_dir, customer_id, dry_run)
    return out


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def warehouse_plan(wh: Any, customer_ids: Iterable[str], records: Iterable[tuple[str, str]]
                   ) -> list[tuple[str, str]]:
    """(table, SQL condition) for every warehouse row about these people: their channel records' rows in
    the ``src_*`` tables and their policies' rows, their quarantined rows, their rows in every mart."""
    recs = sorted(set(records))
    ids = sorted(set(customer_ids))
    names = set(wh.list_tables())
    plan: list[tuple[str, str]] = []
    by_source: dict[str, list[str]] = {}
    for source, record in recs:
        by_source.setdefault(source, []).append(record)

    def record_where(cols: tuple[str, ...]) -> str:
        parts = []
        for source, rs in by_source.items():
            inside = ", ".join(_literal(r) for r in rs)
            parts.append(f"(_source = {_literal(source)} AND (" + " OR ".join(f"{c} IN ({inside})" for c in cols)
                         + "))")
        return " OR ".join(parts)

    if recs:
        policy_where = None
        if "src_policy" in names:
            held = record_where(("holder_record_id", "insured_record_id"))
            policies = [str(r[0]) for r in wh.query(f"SELECT DISTINCT policy_no FROM src_policy WHERE {held}")]
            if policies:
                policy_where = "policy_no IN (" + ", ".join(_literal(p) for p in policies) + ")"
        for table, cols in RECORD_LINKS.items():
            if table in names:
                plan.append((table, record_where(cols)))
        if policy_where:
            plan += [(t, policy_where) for t in POLICY_LINKS if t in names]
        if QUARANTINE in names:
            likes = " OR ".join(f"(source = {_literal(s)} AND raw_record LIKE {_literal('%' + r + '%')})"
                                for s, rs in by_source.items() for r in rs)
            plan.append((QUARANTINE, likes))
    if ids:
        inside = ", ".join(_literal(c) for c in ids)
        for table in sorted(names):
            if table.startswith(("src_", "ingest_", "trace_")) or table == QUARANTINE or table in LEGAL_ELSEWHERE \
                    or SERVING.get(table) == "legal":
                continue  # legal records are never warehouse marts (a warehouse may share the serving database)
            if "customer_id" in _columns(wh, table):
                plan.append((table, f"customer_id IN ({inside})"))
    return plan


def warehouse_rows(wh: Any, customer_id: str, records: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """The person's rows in the warehouse's source tables (``src_*``: what the channels sent about them) and
    quarantine, for their copy. The marts are left out: the serving copy holds what they became."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table, where in warehouse_plan(wh, [customer_id], records):
        if not (table.startswith("src_") or table == QUARANTINE):
            continue
        cols = sorted(c for c in _columns(wh, table) if c != "_row_number")
        rows = [dict(zip(cols, (v.isoformat() if hasattr(v, "isoformat") else v for v in r), strict=True))
                for r in wh.query(f"SELECT {', '.join(cols)} FROM {table} WHERE {where}")]
        if rows:
            out.setdefault(table, []).extend(rows)
    return out


def erase_in_warehouse(wh: Any, customer_ids: Iterable[str], records: Iterable[tuple[str, str]],
                       dry_run: bool = False) -> tuple[dict[str, int], list[str]]:
    """Remove the rows of ``warehouse_plan`` in one warehouse transaction. Returns rows per table and the
    loaded files that held them (to purge at the source)."""
    plan = warehouse_plan(wh, customer_ids, records)
    names = set(wh.list_tables())
    counts: dict[str, int] = {}
    files: set[str] = set()
    for table, where in plan:
        n = int(wh.query(f"SELECT COUNT(*) FROM {table} WHERE {where}")[0][0])
        if n:
            counts[table] = counts.get(table, 0) + n
            if table.startswith("src_") and "_file_id" in _columns(wh, table) and "ingest_file" in names:
                files |= {str(r[0]) for r in wh.query(
                    f"SELECT DISTINCT f.file_name FROM ingest_file f JOIN (SELECT DISTINCT _file_id FROM {table} "
                    f"WHERE {where}) x ON x._file_id = f.file_id")}
    if not dry_run and counts:
        with wh.transaction() as tx:
            for table, where in plan:
                if table in counts:
                    tx.execute(f"DELETE FROM {table} WHERE {where}")
    return counts, sorted(files)


def _columns(wh: Any, table: str) -> set[str]:
    return {str(c) for c in wh.table(table).columns}


def _erase_files(data_dir: Path, customer_id: str, dry_run: bool) -> list[str]:
    """Our files about the person: data-subject copies under ``<data_dir>/dsr/<customer>/``."""
    folder = Path(data_dir) / "dsr" / customer_id
    if not folder.exists():
        return []
    found = sorted(str(p.relative_to(data_dir)) for p in folder.rglob("*") if p.is_file())
    if not dry_run:
        shutil.rmtree(folder)
    return found


def reapply(engine: Engine, wh: Any) -> dict[str, int]:
    """At the start of each refresh: remove again from the warehouse the rows of every erased person that a
    channel sent again (a re-sent extract, a full reload). Returns rows removed per table."""
    with engine.connect() as conn:
        if "erased_subject" not in inspect(conn).get_table_names():
            return {}
        gone = store.erased(conn)
    if not gone:
        return {}
    counts, _ = erase_in_warehouse(wh, [g["customer_id"] for g in gone],
                                   [tuple(r) for g in gone for r in g["records"]])
    return {f"erased_{k}": v for k, v in counts.items()}


def outcome_json(outcome: Outcome) -> str:
    return json.dumps(outcome.to_dict(), ensure_ascii=False, sort_keys=True)


# -- after a restore from backup --------------------------------------------------------------------
def erased_people(serving_url: str) -> list[dict[str, Any]]:
    """Everyone erased in the serving database at ``serving_url`` (empty when there is none yet): read before
    a restore replaces it, so that nobody erased after the backup was taken comes back."""
    from shouhu.storage.serving import engine_for

    engine = engine_for(serving_url)
    try:
        with engine.connect() as conn:
            if "erased_subject" not in inspect(conn).get_table_names():
                return []
            return store.erased(conn)
    except Exception as e:  # an unreadable database is often why one restores: the caller decides
        raise RestoreRefused(f"cannot read who was erased from the current serving database ({type(e).__name__}: "
                             f"{e}); people erased after the backup could come back. Restore with --ignore-current "
                             "only if you know nobody was erased since the backup was taken") from e
    finally:
        engine.dispose()


class RestoreRefused(ShouhuError, RuntimeError):
    code = "restore_refused"


def reerase(serving_url: str, wh: Any, before: Iterable[dict[str, Any]]) -> list[str]:
    """Erase again everyone of ``before`` whom the restored serving database does not list as erased."""
    from shouhu.storage.serving import engine_for, upgrade

    upgrade(serving_url)  # a backup of an older version: bring the schema up first
    engine = engine_for(serving_url)
    try:
        with engine.connect() as conn:
            known = {r["customer_id"] for r in store.erased(conn)}
        again = [g for g in before if g["customer_id"] not in known]
        for g in again:
            with engine.begin() as conn:
                store.add_erased(conn, g["customer_id"], [tuple(r) for r in g["records"]], g["erased_at"],
                                 g.get("request_id"))
            erase(engine, g["customer_id"], warehouse=wh)
        return [g["customer_id"] for g in again]
    finally:
        engine.dispose()
