"""Message templates' lifecycle: draft → pending (submitted) → approved | rejected; approved → retired when
a newer version is approved. Only an approved version is ever sent, and nobody approves their own
template (four eyes: the compliance reviewer is not the author).

A template file (TOML)::

    code = "premium_due_sms"
    channel = "sms"              # email | sms | wecom | inbox
    kind = "service"             # marketing | service | transactional
    purpose = "service"          # marketing needs the customer's marketing consent
    subject_zh = "保费提醒"
    body_zh = "{{ customer_name }}您好，您的保费将于{{ premium_due_date }}到期。"
    subject_en = "Premium reminder"
    body_en = "Dear {{ customer_name }}, your premium is due on {{ premium_due_date }}."
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shouhu.errors import InvalidInput
from shouhu.journeys.definition import CHANNELS, KINDS
from shouhu.journeys.templates import check_template, preview
from shouhu.storage import journeys as store

FIELDS = ("code", "channel", "kind", "purpose", "subject_zh", "body_zh", "subject_en", "body_en")
MOVES = {"submit": ("pending", ("draft", "rejected")), "approve": ("approved", ("pending",)),
         "reject": ("rejected", ("pending",)), "retire": ("retired", ("approved",))}


def check(values: dict[str, Any], origin: str = "<template>") -> dict[str, Any]:
    """The template's fields, checked; InvalidInput lists every problem with the file."""
    problems = [f"{f}: missing" for f in FIELDS if f != "purpose" and not str(values.get(f) or "").strip()
                and f not in ("subject_zh", "subject_en")]
    if values.get("channel") not in CHANNELS:
        problems.append(f"channel: must be one of {', '.join(CHANNELS)}")
    if values.get("kind") not in KINDS:
        problems.append(f"kind: must be one of {', '.join(KINDS)}")
    if not problems:
        for locale, suffix in (("zh-CN", "zh"), ("en", "en")):
            problems += [f"{suffix}: {p}" for p in check_template(values["channel"], values["kind"],
                                                                 values.get(f"subject_{suffix}") or "",
                                                                 values[f"body_{suffix}"], locale)]
    if problems:
        raise InvalidInput(f"{origin}: " + "; ".join(problems), file=origin)
    purpose = values.get("purpose") or ("marketing" if values["kind"] == "marketing" else values["kind"])
    return {f: str(values.get(f) or "") for f in FIELDS} | {"purpose": purpose}


def add_template(engine: Any, values: dict[str, Any], actor: str, origin: str = "<template>",
                 now: datetime | None = None) -> dict[str, Any]:
    clean = check(values, origin)
    version = store.save_template(engine, clean | {"created_by": actor}, now or datetime.now(UTC))
    return {"code": clean["code"], "version": version, "status": "draft"}


def add_template_file(engine: Any, path: Path, actor: str) -> dict[str, Any]:
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InvalidInput(f"{path}: cannot read the template: {e}", file=str(path)) from e
    return add_template(engine, values, actor, str(path))


def review(engine: Any, code: str, version: int, move: str, actor: str, note: str | None = None,
           now: datetime | None = None) -> dict[str, Any]:
    """Submit, approve, reject or retire one version."""
    if move not in MOVES:
        raise InvalidInput(f"move: {move!r} is not one of {', '.join(MOVES)}", field="move")
    row = store.template_row(engine, code, version)
    if row is None:
        raise InvalidInput(f"no template {code} version {version}", field="template")
    if move in ("approve", "reject") and row["created_by"] == actor:
        raise InvalidInput(f"{actor} wrote {code} v{version} and cannot review it: another person must "
                           "(四眼原则：作者不能审批自己的模板)", field="by")
    target, allowed = MOVES[move]
    if not store.set_template_status(engine, code, version, target, allowed, actor, note, now or datetime.now(UTC)):
        raise InvalidInput(f"{code} v{version} is {row['status']}: cannot {move} it (allowed from "
                           f"{', '.join(allowed)})", field="status")
    return {"code": code, "version": version, "status": target}


def preview_template(engine: Any, code: str, version: int, locale: str = "zh-CN") -> dict[str, str]:
    row = store.template_row(engine, code, version)
    if row is None:
        raise InvalidInput(f"no template {code} version {version}", field="template")
    suffix = "zh" if locale == "zh-CN" else "en"
    subject, body = preview(row[f"subject_{suffix}"], row[f"body_{suffix}"])
    return {"subject": subject, "body": body}
