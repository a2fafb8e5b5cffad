"""``shouhu explain CUSTOMER``: every automated decision about a customer, explained (PIPL art. 24, 48).

For the person answering a customer's request for an explanation: what was decided, when and by which
model or rule, the inputs with their values (personal fields masked), the main reasons and what the
customer can do. ``--audience customer`` gives the customer's version (no internal figures). Each use
is written to the audit log. Wiring (main.py): ``register(app)``. docs/explanations.md is the user guide.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.markup import escape

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.settings import get_settings

LangOpt = Annotated[str, typer.Option("--lang", help="zh (default) or en, for the text output.")]
AudienceOpt = Annotated[str, typer.Option("--audience", help="staff (default: with the internal figures) or "
                                                            "customer (what the customer's H5 page shows).")]


def build(customer: str, audience: str = "staff") -> dict[str, Any]:
    """The explanation as an operator at the command line sees it: every customer, personal fields masked."""
    from shouhu.access.policy import SENSITIVE_FIELDS, Principal, field_view, row_rule
    from shouhu.access.roles import Role
    from shouhu.compliance.explain import Sources, explain
    from shouhu.errors import InvalidInput, ShouhuError
    from shouhu.privacy.crypto import cipher_from_settings
    from shouhu.segments.tags import load_tag_library
    from shouhu.storage import audit, serving
    from shouhu.storage import explain as store
    from shouhu.web.shaping import shape

    if audience not in ("staff", "customer"):
        raise InvalidInput("--audience must be staff or customer", audience=audience)
    settings = get_settings()
    serving.upgrade(settings.serving)
    engine = serving.engine_for(settings.serving)
    actor = os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli"
    principal = Principal(user_id=f"cli:{actor}"[:64], role=Role.ADMIN, can_reveal=False)  # masked, never clear
    try:
        rows = store.explanation_rows(engine, row_rule(principal), customer)
        if rows is None:
            raise InvalidInput(f"no customer {customer!r} in the serving database", customer_id=customer)
        record = shape(principal, rows["record"], cipher_from_settings(settings))
        record.pop("revealable", None)
        try:
            library = load_tag_library(settings.data_dir)
        except ShouhuError:
            library = None
        views = {f: field_view(principal, f) for f in SENSITIVE_FIELDS}
        result = explain(Sources.of(customer, rows, record, tags=library, views=views),
                         "customer" if audience == "customer" else "staff")
        audit.append(engine, actor=principal.user_id, actor_role="admin", action="explanation", target_kind="customer",
                     target_id=customer, detail={"count": result["count"]["made"]}, client="cli")
        return result
    finally:
        engine.dispose()


def _print(result: dict[str, Any], lang: str) -> None:
    zh = lang == "zh"
    title = "自动化决策说明" if zh else "Automated decisions explained"
    as_of = f"  ({'数据截止' if zh else 'data as of'} {result['data_as_of']})" if result.get("data_as_of") else ""
    out.print(f"[bold]{title}[/bold] {escape(result['customer_id'])}{escape(as_of)}")
    for d in result["decisions"]:
        title = d["title"][lang] + (f" · {d['subject'][lang]}" if d.get("subject") else "")
        if not d["made"]:
            out.print(f"\n[bold]{escape(title)}[/bold]\n  {escape(d['not_made'][lang])}", highlight=False)
            continue
        out.print(f"\n[bold]{escape(title)}[/bold]: {escape(d['outcome'][lang])}", highlight=False)
        out.print(f"  {'时间' if zh else 'when'}: {d.get('made_at') or '—'} · "
                  f"{'模型或规则' if zh else 'model or rule'}: {d['made_by']['label'][lang]}", highlight=False,
                  markup=False)
        for r in d["reasons"]:
            out.print(f"  - {r[lang]}", highlight=False, markup=False)
        for i in d["inputs"]:
            out.print(f"    {i['label'][lang]}: {i['shown'][lang]}", highlight=False, markup=False)
    out.print("\n" + ("客户可以：" if zh else "The customer can: ")
              + ("；" if zh else "; ").join(r["label"][lang] for r in result["rights"]), highlight=False, markup=False)


def explain_cmd(customer: Annotated[str, typer.Argument(help="Customer id (CU...).")],
                as_json: JsonOpt = False, lang: LangOpt = "zh", audience: AudienceOpt = "staff") -> None:
    """Explain every automated decision about a customer: outcome, when, model or rule, inputs, reasons (audited).
    说明对某客户的全部自动化决策。"""
    result = guarded(lambda: build(customer, audience))
    if as_json:
        print_json(result)
    else:
        _print(result, "en" if lang == "en" else "zh")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_cmd)
