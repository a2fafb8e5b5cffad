"""The policy wallet (保单托管): every policy of a household in one list, ours and other insurers'.

External policies arrive as records (a form) or as rows of an uploaded CSV/Excel file. Each row is
validated like any ingest row: every problem is collected with file, row and field, and a file with
problems is refused as a whole with all of them listed. Value parsing is injected (:class:`Parsers`)
because this domain package may not import :mod:`shouhu.ingest`; the file adapter
(:mod:`shouhu.reports.wallet_upload`) passes the ingest parsers, so uploads parse numbers, dates
and 是/否 exactly as ingest does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shouhu.advice.model import NEED_TYPES, Policy
from shouhu.errors import InvalidInput
from shouhu.model.vocab import PaymentFrequency, PolicyStatus, ProductType

REQUIRED = ("policy_no", "insurer", "product_name", "product_type", "insured_id", "issue_date")
OPTIONAL_TEXT = ("holder_id",)
INTS = ("premium_term_years", "coverage_term_years", "waiting_days")
SA_COLUMNS = tuple(f"sa_{c.value}" for c in NEED_TYPES)
COLUMNS = (*REQUIRED, *OPTIONAL_TEXT, "status", "status_date", "annual_premium", "payment_frequency", *INTS,
           *SA_COLUMNS)


def _float(value: Any) -> float:
    return float(str(value).replace(",", "")) if not isinstance(value, int | float) else float(value)


@dataclass(frozen=True)
class Parsers:
    """How raw values become numbers and dates (ingest's parsers at the file edge)."""

    number: Callable[[Any], float] = _float
    integer: Callable[[Any], int] = int
    day: Callable[[Any], date] = lambda v: v if isinstance(v, date) else date.fromisoformat(str(v).strip()[:10])


@dataclass(frozen=True)
class RowProblem:
    file: str
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, field {self.field!r}: {self.reason}"


class WalletError(InvalidInput):
    code = "wallet_invalid"

    def __init__(self, problems: list[RowProblem]) -> None:
        shown = "; ".join(str(p) for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the policies: {shown}{more}", problems=len(problems))
        self.problems = problems


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def _row(raw: Mapping[str, Any], row: int, file: str, parse: Parsers, today: date) -> tuple[Policy | None,
                                                                                           list[RowProblem]]:
    problems: list[RowProblem] = []
    vals: dict[str, Any] = {}

    def bad(name: str, reason: str) -> None:
        problems.append(RowProblem(file, row, name, reason))

    for name in COLUMNS:
        v = raw.get(name)
        if _blank(v):
            if name in REQUIRED:
                bad(name, "required value is missing")
            continue
        try:
            if name in ("issue_date", "status_date"):
                vals[name] = parse.day(v)
                if vals[name] > today:
                    bad(name, f"date {vals[name]} is in the future")
            elif name in INTS:
                vals[name] = parse.integer(v)
                if vals[name] < 0:
                    bad(name, "must not be negative")
            elif name == "annual_premium" or name in SA_COLUMNS:
                vals[name] = parse.number(v)
                if vals[name] < 0:
                    bad(name, "must not be negative")
            else:
                vals[name] = str(v).strip()
        except (ValueError, TypeError) as e:
            bad(name, str(e) or f"cannot read {v!r}")
    for name, enum in (("product_type", ProductType), ("status", PolicyStatus),
                       ("payment_frequency", PaymentFrequency)):
        if name in vals and vals[name] not in enum.codes():
            bad(name, f"{vals[name]!r} is not one of {enum.codes()}")
    cover = {c[3:]: vals[c] for c in SA_COLUMNS if vals.get(c)}
    if not problems and not cover:
        bad("sa_*", "no sum assured: give at least one of " + ", ".join(SA_COLUMNS))
    if problems:
        return None, problems
    return Policy(
        policy_no=vals["policy_no"], insured_id=vals["insured_id"], product_type=vals["product_type"],
        coverages=cover, issue_date=vals["issue_date"], status=vals.get("status", PolicyStatus.IN_FORCE.value),
        status_date=vals.get("status_date"), annual_premium=vals.get("annual_premium", 0.0),
        payment_frequency=vals.get("payment_frequency", "annual"),
        premium_term_years=vals.get("premium_term_years", 1), coverage_term_years=vals.get("coverage_term_years", 0),
        waiting_days=vals.get("waiting_days", 0), holder_id=vals.get("holder_id", ""),
        product_name=vals["product_name"], insurer=vals["insurer"], source="external",
    ), []


def external_policies(rows: Iterable[tuple[int, Mapping[str, Any]]], *, file: str = "form",
                      parsers: Parsers | None = None, today: date | None = None) -> list[Policy]:
    """Validate ``(row number, record)`` pairs into policies; any problem refuses them all, listing every one."""
    parse = parsers or Parsers()
    day = today or date.today()
    policies: list[Policy] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for row, raw in rows:
        pol, errs = _row(raw, row, file, parse, day)
        problems.extend(errs)
        if pol is not None:
            if pol.policy_no in seen:
                problems.append(RowProblem(file, row, "policy_no",
                                           f"duplicate of row {seen[pol.policy_no]}: {pol.policy_no}"))
            seen[pol.policy_no] = row
            policies.append(pol)
    if problems:
        raise WalletError(problems)
    return policies


@dataclass
class Wallet:
    """A household's policies. Adding an external policy with the number of one already held replaces it."""

    household_id: str
    policies: list[Policy] = field(default_factory=list)

    def add(self, items: Iterable[Policy]) -> None:
        for p in items:
            key = (p.policy_no, p.insurer)
            self.policies = [q for q in self.policies if (q.policy_no, q.insurer) != key] + [p]

    def for_person(self, person_id: str) -> list[Policy]:
        return [p for p in self.policies if person_id in (p.insured_id, p.holder_id)]
