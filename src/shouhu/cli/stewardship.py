"""``shouhu identity review|confirm|reject|merge|split|revert|history``: data stewardship from the CLI."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, err, guarded, out, print_json
from shouhu.settings import get_settings

Actor = Annotated[str, typer.Option("--by", help="Who makes the decision (recorded).")]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded).")]


def _done(decision_id: int, as_json: bool, applied: dict[str, Any] | None = None) -> None:
    """Report a decision: a confirm or merge has joined the two customers' records already (the
    profile is rebuilt by the next refresh); anything else takes effect at the next refresh."""
    if as_json:
        print_json({"decision_id": decision_id} | ({"applied_now": applied} if applied else {}))
    elif applied and applied.get("applied"):
        out.print(f"decision {decision_id} recorded and applied: the records now belong to {applied['customer_id']} "
                  f"({applied['moved']} moved; 已生效); the profile is rebuilt at the next [b]shouhu refresh[/b]")
    else:
        out.print(f"decision {decision_id} recorded; it takes effect at the next [b]shouhu refresh[/b] (下次刷新生效)")


def _apply(decision_id: int) -> dict[str, Any]:
    from shouhu.identity import stewardship as st

    url = get_settings().serving
    made = next(d for d in st.history(url) if d["id"] == decision_id)
    return st.apply_now(url, made["unique_id_l"], made["unique_id_r"])


def register(app: typer.Typer) -> None:
    """Add the stewardship commands to the ``identity`` sub-app."""
    from shouhu.identity import stewardship as st

    @app.command()
    def review(limit: Annotated[int, typer.Option(help="At most this many pairs.")] = 20,
               as_json: JsonOpt = False) -> None:
        """Uncertain pairs awaiting a decision, most uncertain first (待审核的疑似重复)."""
        rows = guarded(lambda: st.review_queue(get_settings().serving, limit))
        if as_json:
            print_json(rows)
            return
        table = Table(title="identity review queue 身份待审核")
        for col in ("left", "right", "probability", "weight"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["unique_id_l"], r["unique_id_r"], f"{r['match_probability']:.3f}",
                          f"{r['match_weight']:.2f}")
        out.print(table)

    @app.command()
    def confirm(left: str, right: str, by: Actor, reason: Reason, as_json: JsonOpt = False) -> None:
        """The two records are the same person."""
        decision_id = guarded(lambda: st.confirm_pair(get_settings().serving, left, right, actor=by, reason=reason))
        _done(decision_id, as_json, guarded(lambda: _apply(decision_id)))

    @app.command()
    def reject(left: str, right: str, by: Actor, reason: Reason, as_json: JsonOpt = False) -> None:
        """The two records are different people."""
        _done(guarded(lambda: st.reject_pair(get_settings().serving, left, right, actor=by, reason=reason)), as_json)

    @app.command()
    def merge(customer_a: str, customer_b: str, by: Actor, reason: Reason, as_json: JsonOpt = False) -> None:
        """Two customers are one person (refused if their ID numbers differ)."""
        decision_id = guarded(lambda: st.merge_customers(get_settings().serving, customer_a, customer_b, actor=by,
                                                         reason=reason))
        _done(decision_id, as_json, guarded(lambda: _apply(decision_id)))

    @app.command()
    def split(unique_id: str, by: Actor, reason: Reason, as_json: JsonOpt = False) -> None:
        """Take one record (source:record_id) out of its customer."""
        _done(guarded(lambda: st.split_record(get_settings().serving, unique_id, actor=by, reason=reason)), as_json)

    @app.command()
    def revert(decision_id: int, by: Actor, reason: Reason) -> None:
        """Undo a decision (it stays in the history)."""
        guarded(lambda: st.revert(get_settings().serving, decision_id, actor=by, reason=reason))
        err.print(f"decision {decision_id} reverted; the next refresh no longer applies it")

    @app.command()
    def history(as_json: JsonOpt = False) -> None:
        """Every decision with who, when, why, and whether it was reverted."""
        rows: list[dict[str, Any]] = guarded(lambda: st.history(get_settings().serving))
        if as_json:
            print_json(rows)
            return
        table = Table(title="identity decisions 人工决定")
        for col in ("id", "action", "records", "by", "when", "why", "reverted"):
            table.add_column(col)
        for r in rows:
            records = " ↔ ".join(x for x in (r["unique_id_l"], r["unique_id_r"]) if x)
            reverted = f"{r['reverted_by']} {r['reverted_at']:%Y-%m-%d}" if r["reverted_at"] else ""
            table.add_row(str(r["id"]), r["action"], records, r["actor"], f"{r['created_at']:%Y-%m-%d %H:%M}",
                          r["reason"], reverted)
        out.print(table)
