"""Service cases (保全 / 理赔协助 / 投诉): types, fields, lifecycle and SLA clocks. Pure rules, no SQL.

Lifecycle: open → in_progress | waiting_customer | resolved | closed; in_progress → waiting_customer |
resolved | closed; waiting_customer → in_progress | resolved | closed; resolved → closed; resolved or
closed → in_progress again by *reopen*. Anything else is an :class:`InvalidTransition` (HTTP 409).

SLA clocks (targets in ``sla.toml``, business time on :mod:`shouhu.operations.calendar`):

* response: due ``response`` working hours after the case was opened; met by the first staff answer
  (a status change or a comment). It never pauses.
* resolution: due ``resolution`` working time after opening. The clock runs while the case is open or
  in progress, stops while it waits on the customer (the working time used so far is kept in
  ``consumed_s``) and when it is resolved or closed; it resumes on a reply or a reopen, with what
  is left. ``"Nd"`` means N working days of working hours (N x 9 h on the default hours).

A target that runs into a year the calendar does not know gives no due time and an ``sla_note``
saying so (never a guessed date); the sweep tries again once the year is added.

Breaches are found by :func:`breaches` and recorded once each (``dedupe_key``), with an escalation
to ``escalate_to`` (the branch manager of the case's branch).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shouhu.errors import ConfigError, InvalidInput
from shouhu.model.vocab import LabelledEnum
from shouhu.operations.calendar import BusinessCalendar, CalendarGap

BUILT_IN_SLA = Path(__file__).with_name("sla.toml")


class CaseType(LabelledEnum):
    BENEFICIARY_CHANGE = ("beneficiary_change", "受益人变更", "Beneficiary change")
    ADDRESS_CHANGE = ("address_change", "地址变更", "Address change")
    ACCOUNT_CHANGE = ("account_change", "缴费账户变更", "Payment-account change")
    PARTIAL_SURRENDER = ("partial_surrender", "部分退保/部分领取申请", "Partial surrender request")
    CLAIM_HELP = ("claim_help", "理赔协助", "Claim help")
    COMPLAINT = ("complaint", "投诉", "Complaint")


class CaseStatus(LabelledEnum):
    OPEN = ("open", "待处理", "Open")
    IN_PROGRESS = ("in_progress", "处理中", "In progress")
    WAITING = ("waiting_customer", "等待客户", "Waiting on the customer")
    RESOLVED = ("resolved", "已解决", "Resolved")
    CLOSED = ("closed", "已关闭", "Closed")


class ClaimType(LabelledEnum):
    MEDICAL = ("medical", "医疗费用", "Medical expenses")
    CRITICAL_ILLNESS = ("critical_illness", "重大疾病", "Critical illness")
    ACCIDENT = ("accident", "意外伤害", "Accident")
    DISABILITY = ("disability", "伤残", "Disability")
    DEATH = ("death", "身故", "Death")


# Documents a claim of each type needs (the usual list of the claim application guides).
_ID = ("claim_form", "理赔申请书", "Claim application form")
_IDC = ("insured_id", "被保险人身份证明", "ID of the insured")
_BANK = ("bank_card", "领款人银行卡", "Payee's bank card")
_DOCS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "medical": (_ID, _IDC, _BANK, ("invoices", "医疗费用发票及明细清单", "Medical invoices and itemised bill"),
                ("medical_records", "门诊/住院病历", "Outpatient or inpatient records"),
                ("discharge_summary", "出院小结", "Discharge summary")),
    "critical_illness": (_ID, _IDC, _BANK, ("diagnosis", "二级及以上医院诊断证明", "Diagnosis by a grade II+ hospital"),
                         ("pathology", "病理或检查报告", "Pathology or test reports"),
                         ("medical_records", "门诊/住院病历", "Outpatient or inpatient records")),
    "accident": (_ID, _IDC, _BANK, ("accident_proof", "意外事故证明(交警/单位/派出所)", "Proof of the accident"),
                 ("medical_records", "门诊/住院病历", "Outpatient or inpatient records"),
                 ("invoices", "医疗费用发票及明细清单", "Medical invoices and itemised bill")),
    "disability": (_ID, _IDC, _BANK, ("disability_assessment", "伤残鉴定书", "Disability assessment"),
                   ("accident_proof", "意外事故证明", "Proof of the accident")),
    "death": (_ID, _BANK, ("death_certificate", "死亡证明", "Death certificate"),
              ("household_cancellation", "户籍注销证明", "Household registration cancellation"),
              ("beneficiary_id", "受益人身份证明及关系证明", "Beneficiaries' ID and proof of relation")),
}
DOCUMENT_LABELS = {code: (zh, en) for docs in _DOCS.values() for code, zh, en in docs}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    zh: str
    en: str
    sensitive: bool = False
    required: bool = True
    pattern: str | None = None      # a regular expression the value must match in full
    hint: str = ""


FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "beneficiary_change": (FieldSpec("beneficiary_name", "新受益人姓名", "New beneficiary", sensitive=True),
                           FieldSpec("relation", "与被保险人关系", "Relation to the insured"),
                           FieldSpec("share", "受益比例(%)", "Share (%)", pattern=r"(100|[1-9]?[0-9])",
                                     hint="0-100")),
    "address_change": (FieldSpec("new_address", "新地址", "New address", sensitive=True),),
    "account_change": (FieldSpec("bank_name", "开户银行", "Bank"),
                       FieldSpec("new_account_no", "新银行账号", "New account number", sensitive=True,
                                 pattern=r"[0-9]{12,30}", hint="12-30 digits")),
    "partial_surrender": (FieldSpec("amount", "申请金额(元)", "Amount (CNY)", pattern=r"[0-9]{1,9}(\.[0-9]{1,2})?"),),
    "claim_help": (FieldSpec("incident_date", "出险日期", "Date of the event", pattern=r"\d{4}-\d{2}-\d{2}",
                             hint="YYYY-MM-DD"),),
    "complaint": (FieldSpec("category", "投诉类别", "Category", required=False),),
}
NEEDS_POLICY = frozenset({"beneficiary_change", "account_change", "partial_surrender", "claim_help"})
H5_TYPES = ("address_change", "claim_help", "complaint")  # what a customer may file for themselves

TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "waiting_customer", "resolved", "closed"}),
    "in_progress": frozenset({"waiting_customer", "resolved", "closed"}),
    "waiting_customer": frozenset({"in_progress", "resolved", "closed"}),
    "resolved": frozenset({"closed"}),
    "closed": frozenset(),
}
RUNNING = frozenset({"open", "in_progress"})   # the resolution clock runs
DONE = frozenset({"resolved", "closed"})
PRIORITIES = {1: ("高", "High"), 2: ("中", "Normal"), 3: ("低", "Low")}


class InvalidTransition(InvalidInput):
    """A case cannot go from its status to the one asked for (the web layer answers 409)."""

    code = "invalid_transition"


# --- SLA policies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    amount: float
    unit: str  # "h" | "d"

    def seconds(self, cal: BusinessCalendar) -> float:
        day = (datetime.combine(date(2000, 1, 3), cal.closes) - datetime.combine(date(2000, 1, 3), cal.opens))
        return self.amount * 3600 if self.unit == "h" else self.amount * day.total_seconds()

    def __str__(self) -> str:
        return f"{self.amount:g}{self.unit}"


@dataclass(frozen=True)
class SlaPolicy:
    case_type: str
    response: Target
    resolution: Target
    escalate_to: str = "branch_manager"


def _target(value: Any, where: str) -> Target:
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([hd])\s*", str(value))
    if not found or float(found.group(1)) <= 0:
        raise ConfigError(f"{where}: a target is a positive number of working hours or days, e.g. '4h' or '5d', "
                          f"not {value!r}")
    return Target(float(found.group(1)), found.group(2))


def load_sla(path: Path | None = None) -> dict[str, SlaPolicy]:
    """The built-in policies, with whole entries of ``path`` (if given) replacing them."""
    out: dict[str, SlaPolicy] = {}
    for source in (BUILT_IN_SLA, path):
        if source is None:
            continue
        try:
            doc = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"SLA file not found: {source}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{source}: not valid TOML: {e}") from e
        for key, spec in doc.items():
            where = f"{source} [{key}]"
            if key not in CaseType.codes():
                raise ConfigError(f"{where}: unknown case type; one of {', '.join(CaseType.codes())}")
            if not isinstance(spec, dict) or "response" not in spec or "resolution" not in spec:
                raise ConfigError(f"{where}: needs response and resolution, e.g. response = \"4h\"")
            role = str(spec.get("escalate_to", "branch_manager"))
            if role not in ("branch_manager", "head_office"):
                raise ConfigError(f"{where} escalate_to: 'branch_manager' or 'head_office', not {role!r}")
            out[key] = SlaPolicy(key, _target(spec["response"], f"{where} response"),
                                 _target(spec["resolution"], f"{where} resolution"), role)
    missing = sorted(set(CaseType.codes()) - set(out))
    if missing:
        raise ConfigError(f"SLA policies missing for case types: {missing}")
    return out


# --- checks ------------------------------------------------------------------------------------------


def check_type(value: str) -> str:
    if value not in CaseType.codes():
        raise InvalidInput(f"case_type: {value!r} is not one of {', '.join(CaseType.codes())}", field="case_type")
    return value


def check_priority(value: int) -> int:
    if value not in PRIORITIES:
        raise InvalidInput(f"priority: {value!r} must be 1 (high), 2 (normal) or 3 (low)", field="priority")
    return value


def check_fields(case_type: str, fields: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(clear fields, sensitive fields) of a case type's form; a missing or malformed one is an error
    naming it; a field the type does not have is an error too (nothing silently dropped)."""
    specs = {s.name: s for s in FIELDS[case_type]}
    unknown = sorted(set(k for k, v in fields.items() if v not in (None, "")) - set(specs))
    if unknown:
        raise InvalidInput(f"fields.{unknown[0]}: not a field of {case_type} (fields: {', '.join(specs)})",
                           field=f"fields.{unknown[0]}")
    clear: dict[str, str] = {}
    secret: dict[str, str] = {}
    for name, spec in specs.items():
        value = str(fields.get(name) or "").strip()
        if not value:
            if spec.required:
                raise InvalidInput(f"fields.{name}: required for {case_type} ({spec.en})", field=f"fields.{name}")
            continue
        if len(value) > 500:
            raise InvalidInput(f"fields.{name}: at most 500 characters", field=f"fields.{name}")
        compact = value.replace(" ", "") if name == "new_account_no" else value
        if spec.pattern and not re.fullmatch(spec.pattern, compact):
            raise InvalidInput(f"fields.{name}: {spec.hint or 'not valid'}", field=f"fields.{name}")
        if name == "incident_date":
            try:
                date.fromisoformat(compact)
            except ValueError:
                raise InvalidInput(f"fields.{name}: not a date (YYYY-MM-DD)", field=f"fields.{name}") from None
        (secret if spec.sensitive else clear)[name] = compact
    return clear, secret


def mask_value(name: str, value: str) -> str:
    """How a sensitive case field is shown by default."""
    if name == "new_account_no":
        return "*" * max(len(value) - 4, 0) + value[-4:]
    if name == "new_address":  # the first 6 characters (province, city) and no more
        return value[:6] + "*" * min(max(len(value) - 6, 0), 12)
    return value[:1] + "*" * max(len(value) - 1, 1)


def checklist(claim_type: str | None) -> list[dict[str, Any]]:
    if claim_type is None:
        return []
    if claim_type not in ClaimType.codes():
        raise InvalidInput(f"claim_type: {claim_type!r} is not one of {', '.join(ClaimType.codes())}",
                           field="claim_type")
    return [{"code": code, "received": False} for code, _, _ in _DOCS[claim_type]]


def check_subject(value: str) -> str:
    text = value.strip()
    if not 2 <= len(text) <= 200:
        raise InvalidInput("subject: give 2 to 200 characters", field="subject")
    return text


# --- clocks ------------------------------------------------------------------------------------------


def iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def parse(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value)


def _due(cal: BusinessCalendar, start: datetime, seconds: float) -> tuple[str | None, str | None]:
    """(due time, note): no due time and the calendar's reason when the year is unknown."""
    try:
        return iso(cal.add_working_seconds(start, max(seconds, 0.0))), None
    except CalendarGap as e:
        return None, str(e)


def open_clocks(policy: SlaPolicy, cal: BusinessCalendar, opened: datetime) -> dict[str, Any]:
    """The SLA columns of a new case."""
    response, note1 = _due(cal, opened, policy.response.seconds(cal))
    resolution, note2 = _due(cal, opened, policy.resolution.seconds(cal))
    return {"opened_at": iso(cal.local(opened)), "response_due_at": response, "resolution_due_at": resolution,
            "clock_since": iso(cal.local(opened)), "consumed_s": 0.0, "sla_note": note1 or note2,
            "reopened": 0, "escalated": 0}


def _used(case: Mapping[str, Any], cal: BusinessCalendar, now: datetime) -> float:
    since = parse(case.get("clock_since"))
    extra = cal.working_seconds_between(since, now) if since is not None else 0.0
    return float(case.get("consumed_s") or 0.0) + extra


def remaining_s(case: Mapping[str, Any], policy: SlaPolicy, cal: BusinessCalendar, now: datetime) -> float:
    """Working seconds left on the resolution clock (negative once breached)."""
    return policy.resolution.seconds(cal) - _used(case, cal, now)


def transition(case: Mapping[str, Any], to: str, policy: SlaPolicy, cal: BusinessCalendar, now: datetime,
               by_staff: bool = True) -> dict[str, Any]:
    """The changes that move ``case`` to status ``to`` (``reopen`` is ``to="in_progress"`` from a
    resolved or closed case), SLA clocks included."""
    status = str(case["status"])
    if to not in CaseStatus.codes():
        raise InvalidInput(f"status: {to!r} is not one of {', '.join(CaseStatus.codes())}", field="status")
    reopening = status in DONE and to == "in_progress"
    if not reopening and to not in TRANSITIONS[status]:
        raise InvalidTransition(f"case {case['id']} is {status}: it cannot become {to}", case_id=case["id"],
                                status=status)
    stamp = iso(cal.local(now))
    changes: dict[str, Any] = {"status": to}
    if by_staff and not case.get("first_response_at"):
        changes["first_response_at"] = stamp
    running_now, running_next = status in RUNNING, to in RUNNING
    if running_now and not running_next:          # pause or stop: keep the time used
        changes |= {"consumed_s": _used(case, cal, now), "clock_since": None, "resolution_due_at": None}
    elif not running_now and running_next:         # resume with what is left
        left = policy.resolution.seconds(cal) - float(case.get("consumed_s") or 0.0)
        due, note = _due(cal, now, left)
        changes |= {"clock_since": stamp, "resolution_due_at": due, "sla_note": note}
    if to == "resolved":
        changes["resolved_at"] = stamp
    if to == "closed":
        changes["closed_at"] = stamp
    if reopening:
        changes |= {"reopened": int(case.get("reopened") or 0) + 1, "resolved_at": None, "closed_at": None}
    return changes


def responded(case: Mapping[str, Any], cal: BusinessCalendar, now: datetime) -> dict[str, Any]:
    """A staff comment: the first one answers the response clock."""
    return {} if case.get("first_response_at") else {"first_response_at": iso(cal.local(now))}


@dataclass(frozen=True)
class Breach:
    case_id: int
    clock: str      # response | resolution
    due_at: str
    key: str        # dedupe key of the breach event

    @property
    def escalation_key(self) -> str:
        return self.key.replace("breach:", "escalation:", 1)


def breaches(case: Mapping[str, Any], cal: BusinessCalendar, now: datetime) -> list[Breach]:
    """The SLA targets ``case`` has missed at ``now`` (each keyed so that it is recorded once; a reopened
    case can miss its resolution target again, as a new round)."""
    out = []
    cid = int(case["id"])
    due = parse(case.get("response_due_at"))
    answered = parse(case.get("first_response_at"))
    if due is not None and (answered or now) > due:
        out.append(Breach(cid, "response", iso(due), f"breach:{cid}:response:0"))
    due = parse(case.get("resolution_due_at"))
    if due is not None and case["status"] in RUNNING and now > due:
        out.append(Breach(cid, "resolution", iso(due), f"breach:{cid}:resolution:{int(case.get('reopened') or 0)}"))
    return out


def recompute(case: Mapping[str, Any], policy: SlaPolicy, cal: BusinessCalendar) -> dict[str, Any]:
    """Due times missing because the calendar lacked a year: try again (after the year was added)."""
    changes: dict[str, Any] = {}
    opened = parse(case["opened_at"])
    assert opened is not None
    if not case.get("response_due_at"):
        due, _ = _due(cal, opened, policy.response.seconds(cal))
        if due:
            changes["response_due_at"] = due
    since = parse(case.get("clock_since"))
    if since is not None and not case.get("resolution_due_at"):
        due, _ = _due(cal, since, policy.resolution.seconds(cal) - float(case.get("consumed_s") or 0.0))
        if due:
            changes["resolution_due_at"] = due
    if changes:
        changes["sla_note"] = None
    return changes


def sla_state(case: Mapping[str, Any], now: datetime) -> str:
    """met | running | paused | breached | unknown, for lists and badges."""
    if case.get("sla_note") and not case.get("resolution_due_at") and case["status"] in RUNNING:
        return "unknown"
    due = parse(case.get("resolution_due_at"))
    if case["status"] in RUNNING:
        return "breached" if due is not None and now > due else "running"
    if case["status"] == "waiting_customer":
        return "paused"
    return "met" if int(case.get("escalated") or 0) == 0 else "breached"


SLA_LABELS = {"met": ("达标", "Met"), "running": ("计时中", "Running"), "paused": ("暂停(等待客户)", "Paused"),
              "breached": ("已超时", "Breached"), "unknown": ("无法计算(日历未覆盖)", "Unknown (calendar gap)")}


# --- the sweep (storage through shouhu.storage.cases) ------------------------------------------------


def sweep(engine: Any, cal: BusinessCalendar, policies: Mapping[str, SlaPolicy], now: datetime) -> dict[str, int]:
    """Record every missed target once, with an escalation event and a task for the manager; fill in due
    times that were missing for a calendar gap. Safe to run again: a second run records nothing."""
    from shouhu.storage import cases as store

    counts = {"checked": 0, "breaches": 0, "already_recorded": 0, "escalation_tasks": 0, "no_manager": 0,
              "due_filled": 0, "still_unknown": 0}
    for row in store.sweep_inputs(engine):
        counts["checked"] += 1
        policy = policies[row["case_type"]]
        if row.get("sla_note"):
            fill = recompute(row, policy, cal)
            if fill:
                store.set_due(engine, int(row["id"]), fill)
                row = row | fill
                counts["due_filled"] += 1
            else:
                counts["still_unknown"] += 1
        for breach in breaches(row, cal, now):
            manager = store.manager_of(engine, policy.escalate_to, row.get("branch_id"))
            label = CaseType(row["case_type"]).zh
            clock = "首次响应" if breach.clock == "response" else "办结"
            job = None if manager is None else {
                "customer_id": row["customer_id"], "household_id": row.get("household_id"),
                "owner_user_id": manager["user_id"], "owner_staff_id": manager["staff_id"],
                "title": f"工单#{row['id']}({label}){clock}超时,请跟进", "source": "case",
                "source_key": f"case:{row['id']}:{breach.clock}:{breach.key.rsplit(':', 1)[1]}",
                "status": "open", "priority": 1, "due_date": cal.local(now).date().isoformat()}
            detail = {"clock": breach.clock, "due_at": breach.due_at, "owner": row.get("owner_user_id")}
            written = store.record_breach(
                engine, row,
                {"kind": "breach", "dedupe_key": breach.key, "detail": json_text(detail)},
                {"kind": "escalation", "dedupe_key": breach.escalation_key,
                 "detail": json_text(detail | {"to_role": policy.escalate_to,
                                               "to_user": manager["user_id"] if manager else None})},
                job)
            if not written:
                counts["already_recorded"] += 1
                continue
            counts["breaches"] += 1
            counts["escalation_tasks" if manager else "no_manager"] += 1
    return counts


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def export_to_warehouse(engine: Any, wh: Any) -> dict[str, int]:
    """Copy every case and case event into the warehouse (``op_case``, ``op_case_event``)."""
    from shouhu.storage import cases as store

    written = {}
    for name, data in store.export_tables(engine).items():
        wh.write_table(name, data)
        written[name] = data.num_rows
    return written
