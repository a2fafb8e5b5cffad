"""Customer journeys for the console, the API and the H5: check and publish a journey (a changed
definition is a new version; people inside finish theirs), its statistics and funnel, status changes,
message templates and their four-eyes review, consent and do-not-contact of one customer, the customer
360 section (journeys, consent, recent messages) and the customer's own inbox.

Rules live in ``shouhu.journeys`` and SQL in ``shouhu.storage.journeys``; this module shapes what the
pages show, labels codes in zh or en (:func:`label`) and audits every write: ``journey_publish``,
``journey_status``, ``journey_events``, ``template_added``, ``template_review``, ``consent_change``,
``contact_block``, ``contact_unblock``. Callers check the caller's row scope where a customer is named.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import Principal
from shouhu.access.roles import Role
from shouhu.errors import InvalidInput
from shouhu.journeys import analytics, editing, messaging
from shouhu.journeys import engine as jeng
from shouhu.journeys.definition import Journey, Node, from_json, parse
from shouhu.journeys.templates import ALLOWED_VARIABLES
from shouhu.storage import audit
from shouhu.storage import journeys as store
from shouhu.web.auth import record
from shouhu.web.state import AppState

Pair = tuple[str, str]
PURPOSES = ("marketing", "health_data", "profiling", "partner_sharing")
CHANNELS = ("any", "email", "sms", "wecom", "phone", "inbox")  # consent and do-not-contact channels
STATUSES = ("active", "paused", "archived")
BREAKDOWNS = tuple(analytics.BREAKDOWNS)
MESSAGE_CHANNELS = ("sms", "email", "wecom", "inbox")
TEMPLATE_KINDS = ("service", "marketing", "transactional")
TEMPLATE_PURPOSES = ("marketing", "service", "transactional")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
ORIGIN = "editor"  # how parse errors name the document typed into the console editor
FUNNEL_STEPS = 6   # node pickers of the funnel form

LABELS: dict[str, dict[str, Pair]] = {
    "journey_status": {"active": ("进行中", "Active"), "paused": ("已暂停", "Paused"),
                       "archived": ("已归档", "Archived")},
    "enrolment_status": {"active": ("旅程中", "In the journey"), "completed": ("已完成", "Completed"),
                         "exited": ("已退出", "Exited")},
    "template_status": {"draft": ("草稿", "Draft"), "pending": ("待审批", "Awaiting review"),
                        "approved": ("已批准", "Approved"), "rejected": ("已驳回", "Rejected"),
                        "retired": ("已停用", "Retired")},
    "channel": {"email": ("电子邮件", "Email"), "sms": ("短信", "SMS"), "wecom": ("企业微信", "WeCom"),
                "inbox": ("站内信", "In-app inbox"), "phone": ("电话", "Phone"), "any": ("全部渠道", "All channels")},
    "kind": {"marketing": ("营销", "Marketing"), "service": ("服务", "Service"),
             "transactional": ("交易通知", "Transactional")},
    "purpose": {"marketing": ("营销推广", "Marketing"), "health_data": ("健康数据使用", "Use of health data"),
                "profiling": ("客户画像与个性化推荐", "Profiling and personalisation"),
                "partner_sharing": ("向合作机构共享", "Sharing with partners"),
                "service": ("服务", "Service"), "transactional": ("交易通知", "Transactional")},
    "node_type": {"wait": ("等待", "Wait"), "branch": ("条件分支", "Branch"), "split": ("A/B分流", "A/B split"),
                  "message": ("发送消息", "Message"), "task": ("创建待办", "Task"), "content": ("推送内容", "Content"),
                  "tag": ("打标签", "Tag"), "end": ("结束", "End")},
    "message_status": {"sending": ("发送中", "Sending"), "sent": ("已发送", "Sent"), "failed": ("发送失败", "Failed"),
                       "suppressed": ("已拦截", "Suppressed")},
    "reason": {"do_not_contact": ("免打扰名单", "Do-not-contact list"), "no_consent": ("未获营销同意", "No consent"),
               "template_not_approved": ("模板未批准", "Template not approved"),
               "template_channel_mismatch": ("模板渠道不符", "Template for another channel"),
               "no_address": ("无联系方式", "No address"), "template_error": ("模板填充失败", "Template error"),
               "quiet_hours": ("免打扰时段", "Quiet hours"), "frequency_cap": ("超过频次上限", "Frequency cap")},
    "outcome": {"sent": ("已发送", "sent"), "suppressed": ("已拦截", "suppressed"), "failed": ("发送失败", "failed"),
                "event": ("事件到达", "event came"), "timeout": ("等待超时", "timed out"),
                "elapsed": ("等待结束", "waited"), "else": ("其他情况", "else"), "holdout": ("对照组", "holdout"),
                "tagged": ("已打标签", "tagged"), "task_created": ("已建待办", "task created"),
                "pushed": ("已推送", "pushed"), "end": ("结束", "end"), "cancelled": ("已取消", "cancelled"),
                "error": ("出错", "error"), "completed": ("已完成", "completed"), "exited": ("已退出", "exited"),
                "goal": ("达成目标", "goal reached"), "deferred:quiet_hours": ("免打扰时段顺延", "deferred")},
    "breakdown": {"channel": ("渠道", "Channel"), "segment": ("人生阶段", "Life stage"), "agent": ("代理人", "Agent"),
                  "arm": ("实验组", "Arm"), "version": ("版本", "Version")},
    "event": {"premium_due": ("保费即将到期", "Premium due"),
              "policy_anniversary": ("保单周年日", "Policy anniversary"),
              "birthday": ("生日", "Birthday"), "claim_filed": ("提交理赔", "Claim filed"),
              "new_child": ("新生儿", "New child"), "lapse_risk_high": ("失效风险高", "High lapse risk"),
              "content_read": ("阅读内容", "Content read"), "premium_paid": ("已缴保费", "Premium paid"),
              "policy_lapsed": ("保单失效", "Policy lapsed"), "policy_reinstated": ("保单复效", "Policy reinstated"),
              "policy_issued": ("保单生效", "Policy issued"), "case_closed": ("工单办结", "Case closed"),
              "task_done": ("待办完成", "Task done")},
    "source": {"h5": ("客户H5", "customer H5"), "console": ("员工后台", "console"), "api": ("接口", "API"),
               "import": ("批量导入", "import"), "cli": ("命令行", "command line")},
    "funnel_step": {"entered": ("进入旅程", "Entered"), "goal": ("达成目标", "Goal reached")},
    "arm": {"all": ("全部", "All"), "holdout": ("对照组", "Holdout")},
}


def label(kind: str, code: Any, lang: str) -> str:
    """The zh/en label of a journey code; a code without one is shown as it is, nothing as "—"."""
    if code is None or code == "":
        return "—"
    text = str(code)
    pair = LABELS.get(kind, {}).get(text)
    if pair is None and kind in ("reason", "outcome"):  # "frequency_cap:sms/24h", "case2", "event:policy_lapsed"
        head, _, rest = text.partition(":")
        if head in LABELS["reason"]:
            return f"{_pick(LABELS['reason'][head], lang)} {rest}".strip()
        found = re.fullmatch(r"case(\d+)", text)
        if found:
            return f"条件{found.group(1)}" if lang == "zh" else f"case {found.group(1)}"
        if head == "event" and rest:
            return label("event", rest, lang)
        if head in LABELS["outcome"]:
            return _pick(LABELS["outcome"][head], lang)
    return text if pair is None else _pick(pair, lang)


def _pick(pair: Pair, lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def labeller(lang: str) -> Any:
    return lambda kind, code: label(kind, code, lang)


def options(kind: str, codes: tuple[str, ...] | list[str], lang: str) -> list[tuple[str, str]]:
    return [(c, label(kind, c, lang)) for c in codes]


def now() -> datetime:
    return datetime.now(UTC)


def duration(seconds: float | None, lang: str) -> str:
    """A time spent, as people say it: 2天3小时, 45分钟 (2d 3h, 45m)."""
    if seconds is None:
        return "—"
    s = round(seconds)
    units = (("天", "d", 86400), ("小时", "h", 3600), ("分钟", "m", 60), ("秒", "s", 1))
    parts: list[str] = []
    for zh, en, size in units:
        if s >= size or (size == 1 and not parts):
            n, s = divmod(s, size)
            parts.append(f"{n}{zh if lang == 'zh' else en}")
        if len(parts) == 2:
            break
    return ("" if lang == "zh" else " ").join(parts)



# --- journeys --------------------------------------------------------------------------------------

def journeys(state: AppState, lang: str) -> list[dict[str, Any]]:
    """Every journey with its counts and labels."""
    return [r | {"name": r["name_zh"] if lang == "zh" else r["name_en"], "enrolled": int(r["enrolled"] or 0),
                 "active": int(r["active"] or 0), "converted": int(r["converted"] or 0),
                 "status_label": label("journey_status", r["status"], lang)}
            for r in store.list_journeys(state.engine)]


def _edges(node: Node, lang: str) -> list[dict[str, str]]:
    """Where a node goes, each target with what takes it there."""
    s, zh = node.spec, lang == "zh"
    if node.type == "branch":
        return [*({"when": f"条件{i + 1}" if zh else f"case {i + 1}", "to": c["next"]}
                  for i, c in enumerate(s.get("cases", []))),
                {"when": "其他情况" if zh else "else", "to": s["else"]}]
    if node.type == "split":
        return [{"arm": name, "when": f"{arm['weight']:g}%", "to": arm["next"]}
                for name, arm in s.get("arms", {}).items()]
    if node.type == "wait" and "until_event" in s:
        return [{"when": label("outcome", "event", lang), "to": s["next"]},
                {"when": label("outcome", "timeout", lang), "to": s["timeout_next"]}]
    return [{"when": "", "to": s["next"]}] if s.get("next") else []


def _what(node: Node, lang: str) -> str:
    """A node's settings in a few words."""
    s, zh = node.spec, lang == "zh"
    if node.type == "message":
        return label("channel", s.get("channel"), lang)  # the template's code: ``literal`` (nodes_table)
    if node.type == "wait":
        if "until_event" in s:
            event, most = label("event", s["until_event"], lang), duration(s.get("seconds"), lang)
            return f"等待「{event}」，最长{most}" if zh else f"until {event}, at most {most}"
        if "until_time" in s:
            return f"等到{s['until_time']}（客户当地时间）" if zh else f"until {s['until_time']} (customer's time)"
        return f"{'等待' if zh else 'for '}{duration(s.get('seconds'), lang)}"
    if node.type == "split":
        return f"对照组 {s.get('holdout', 0):g}%" if zh else f"holdout {s.get('holdout', 0):g}%"
    if node.type in ("task", "content"):
        return str(s.get("title", ""))
    if node.type == "tag":
        return "打标签" if zh else "tag"
    if node.type == "branch":
        return f"{len(s.get('cases', []))}个条件" if zh else f"{len(s.get('cases', []))} case(s)"
    return ""


def nodes_table(journey: Journey, lang: str = "zh") -> list[dict[str, Any]]:
    """One row per node (definition order): id, type, what it does, where it goes (and on what)."""
    return [{"id": n.id, "type": n.type, "type_label": label("node_type", n.type, lang), "detail": _what(n, lang),
             "targets": n.targets(), "edges": _edges(n, lang), "start": n.id == journey.start,
             "template": n.spec.get("template") if n.type == "message" else None,
             "literal": n.spec.get({"message": "template", "tag": "tag"}.get(n.type, ""))}
            for n in journey.nodes.values()]


def graph(journey: Journey, lang: str = "zh") -> dict[str, Any]:
    """The journey as a picture for ECharts: nodes placed in layers (longest path from the start),
    each labelled with its id and type, and the edges with what takes a customer along them."""
    places = editing.layout(journey)
    nodes = [{"id": n.id, "name": n.id, "type": n.type, "x": places[n.id][0] * 180, "y": places[n.id][1] * 80,
              "label": f"{n.id}\n{label('node_type', n.type, lang)}", "start": n.id == journey.start}
             for n in journey.nodes.values()]
    links = [{"source": n.id, "target": e["to"], "label": " ".join(x for x in (e.get("arm"), e.get("when")) if x)}
             for n in journey.nodes.values() for e in _edges(n, lang)]
    return {"nodes": nodes, "links": links}


def check(source: str) -> tuple[Journey | None, list[str]]:
    """The parsed journey, or None and the problems (each names its field path)."""
    try:
        return parse(source, ORIGIN), []
    except InvalidInput as e:
        problems = e.data.get("problems")
        return None, [str(p) for p in problems] if isinstance(problems, list) and problems else [e.message]


def problem_rows(errors: list[str]) -> list[dict[str, str]]:
    """Problems as (field path, what is wrong); a problem without a path keeps its whole text."""
    out = []
    for p in errors:
        where, sep, what = p.partition(": ")
        if sep and where and " " not in where and where != ORIGIN:
            out.append({"field": where, "problem": what})
        else:
            out.append({"field": "", "problem": p.removeprefix(f"{ORIGIN}: ").removeprefix(f"{ORIGIN} ")})
    return out


def unapproved_templates(state: AppState, journey: Journey) -> list[str]:
    """Templates the journey sends that have no approved version (their messages are held back)."""
    return sorted({str(n.spec["template"]) for n in journey.nodes.values()
                   if n.type == "message" and store.template_row(state.engine, n.spec["template"]) is None})


def source_of(state: AppState, key: str) -> str:
    found = store.get_journey(state.engine, key)
    if found is None:
        raise HTTPException(404, f"no journey {key}")
    row = store.version_row(state.engine, key, int(found["current_version"]))
    return str(row["source"]) if row else ""


def publish(state: AppState, principal: Principal, request: Request, source: str) -> dict[str, Any]:
    """Publish (InvalidInput when the document is wrong); a changed definition becomes a new version."""
    done = jeng.publish(state.engine, source, principal.user_id, origin=ORIGIN)
    record(state, principal, "journey_publish", "journey", done["journey"], request, version=done["version"],
           created=done["created"])
    return done


def _version_nodes(state: AppState, key: str, versions: list[dict[str, Any]]) -> list[str]:
    """Node ids of every version, the current version's first, in definition order."""
    seen: list[str] = []
    for v in sorted(versions, key=lambda v: -int(v["version"])):
        row = store.version_row(state.engine, key, int(v["version"]))
        if row is not None:
            seen += [n for n in from_json(row["definition"]).nodes if n not in seen]
    return seen


def detail(state: AppState, key: str, steps: list[str] | None = None, by: str | None = None,
           lang: str = "zh") -> dict[str, Any]:
    """A journey with its versions (and how many people are still inside each), the current version's
    nodes, per-node statistics, conversion per version and arm, and (when asked) a funnel."""
    try:
        summary = jeng.journey_summary(state.engine, key)
    except InvalidInput:
        raise HTTPException(404, f"no journey {key}") from None
    row = store.version_row(state.engine, key, int(summary["current_version"]))
    j = from_json(row["definition"]) if row else None
    enrolments = store.enrollment_rows(state.engine, key)
    active = Counter(int(e["version"]) for e in enrolments if e["status"] == "active")
    entered = Counter(int(e["version"]) for e in enrolments)
    versions = [v | {"active": active.get(int(v["version"]), 0), "enrolled": entered.get(int(v["version"]), 0),
                     "current": int(v["version"]) == int(summary["current_version"])} for v in summary["versions"]]
    stats = [r | {"median": duration(r["median_seconds"], lang),
                  "outcome_list": [(label("outcome", k, lang), n) for k, n in sorted(r["outcomes"].items())]}
             for r in analytics.node_stats(state.engine, key)]
    node_ids = _version_nodes(state, key, summary["versions"])
    funnel = None
    if steps or by:
        if by is not None and by not in BREAKDOWNS:
            raise HTTPException(422, f"by: must be one of {', '.join(BREAKDOWNS)}")
        funnel = analytics.funnel(state.engine, key, [s for s in steps or [] if s in node_ids], by)
        for group in funnel["groups"].values():
            top = max((s["count"] for s in group), default=0)
            for s in group:
                s["node"] = s["step"] not in ("entered", "goal")
                s["label"] = s["step"] if s["node"] else label("funnel_step", s["step"], lang)
                s["width"] = round(100 * s["count"] / top) if top else 0
        funnel["by_label"] = label("breakdown", by, lang) if by else ""
    return {k: v for k, v in summary.items() if k not in ("definition", "source")} | {
        "name": summary["name_zh"] if lang == "zh" else summary["name_en"],
        "status_label": label("journey_status", summary["status"], lang), "versions": versions,
        "nodes": nodes_table(j, lang) if j else [], "graph": graph(j, lang) if j else None,
        "entry": _entry_text(j, lang) if j else "",
        "goal_label": label("event", j.goal["event"], lang) if j and j.goal else None,
        "goal_days": j.goal["within_days"] if j and j.goal else None,
        "stats": stats, "conversion": analytics.conversion(state.engine, key), "funnel": funnel,
        "node_ids": node_ids, "active_total": sum(active.values())}


def _entry_text(j: Journey, lang: str) -> str:
    if j.entry_event:
        return label("event", j.entry_event, lang)
    daily = j.entry.get("schedule") == "daily"
    return ("客群（每日）" if daily else "客群（一次）") if lang == "zh" else \
        ("segment (daily)" if daily else "segment (once)")


def set_status(state: AppState, principal: Principal, request: Request, key: str, status: str) -> None:
    if status not in STATUSES:
        raise HTTPException(422, f"status: must be one of {', '.join(STATUSES)}, not {status!r}")
    found = store.get_journey(state.engine, key)
    if found is None:
        raise HTTPException(404, f"no journey {key}")
    store.set_status(state.engine, key, status, now())
    record(state, principal, "journey_status", "journey", key, request, before=found["status"], after=status)


# --- templates -------------------------------------------------------------------------------------

def _template(r: dict[str, Any], lang: str) -> dict[str, Any]:
    return r | {"status_label": label("template_status", r["status"], lang),
                "channel_label": label("channel", r["channel"], lang), "kind_label": label("kind", r["kind"], lang),
                "purpose_label": label("purpose", r["purpose"], lang)}


def templates(state: AppState, lang: str) -> list[dict[str, Any]]:
    """Every version of every template, newest version of each code first."""
    rows = store.list_templates(state.engine)
    return [_template(r, lang) for r in sorted(rows, key=lambda r: (r["code"], -int(r["version"])))]


def template_or_404(state: AppState, code: str, version: int, lang: str) -> dict[str, Any]:
    """One version with its texts filled with the sample values (zh and en)."""
    row = store.template_row(state.engine, code, version)
    if row is None:
        raise HTTPException(404, f"no template {code} version {version}")
    out = _template(row, lang)
    for locale, suffix in (("zh-CN", "zh"), ("en", "en")):
        try:
            out[f"preview_{suffix}"] = messaging.preview_template(state.engine, code, version, locale)
        except InvalidInput as e:
            out[f"preview_{suffix}"] = {"subject": "", "body": "", "error": e.message}
    return out


def add_template(state: AppState, principal: Principal, request: Request, values: dict[str, str]) -> dict[str, Any]:
    """A new draft version; InvalidInput names the fields that are wrong."""
    clean = {f: (values.get(f) or "").strip() for f in messaging.FIELDS}
    if not CODE.match(clean["code"]):
        raise InvalidInput("code: lower-case letters, digits and _ (2-64, starting with a letter)", field="code")
    if clean["purpose"] and clean["purpose"] not in TEMPLATE_PURPOSES:
        raise InvalidInput(f"purpose: must be one of {', '.join(TEMPLATE_PURPOSES)}", field="purpose")
    made = messaging.add_template(state.engine, clean, principal.user_id, origin="template")
    record(state, principal, "template_added", "template", f"{made['code']} v{made['version']}", request,
           kind=clean["kind"], contact_channel=clean["channel"])
    return made


def review_template(state: AppState, principal: Principal, request: Request, code: str, version: int, move: str,
                    note: str = "") -> dict[str, Any]:
    """Submit, approve, reject or retire one version; InvalidInput carries the backend's refusal (the author
    approving their own template, a move the status does not allow)."""
    text = audit.scrub(note.strip())[:1000] or None
    done = messaging.review(state.engine, code, version, move, principal.user_id, text)
    record(state, principal, "template_review", "template", f"{code} v{version}", request, move=move,
           status=done["status"])
    return done


def template_variables(lang: str) -> list[tuple[str, str, str]]:
    return [(name, v.label_zh if lang == "zh" else v.label_en, v.sample if lang == "zh" else (v.sample_en or v.sample))
            for name, v in ALLOWED_VARIABLES.items()]


# --- consent and do-not-contact --------------------------------------------------------------------

def granted_anywhere(current: dict[tuple[str, str], bool], purpose: str) -> bool:
    """Whether any channel (``any`` included) holds a grant of ``purpose`` now."""
    return any(v for (p, _), v in current.items() if p == purpose)


def consent_rows(state: AppState, customer_id: str) -> list[dict[str, Any]]:
    """The current answer per purpose on ``any`` (None: never asked) and on every channel with its own answer."""
    current = store.consent_state(state.engine, customer_id)
    rows = []
    for p in PURPOSES:
        rows.append({"purpose": p, "channel": "any", "granted": current.get((p, "any"))})
        rows += [{"purpose": p, "channel": ch, "granted": current[(p, ch)]}
                 for ch in CHANNELS if ch != "any" and (p, ch) in current]
    return rows


def purposes_of(state: AppState, customer_id: str) -> list[dict[str, Any]]:
    """Per purpose: granted on any channel now, ever answered, and the channels withdrawn on their own."""
    current = store.consent_state(state.engine, customer_id)
    return [{"purpose": p, "granted": granted_anywhere(current, p),
             "answered": any(pp == p for pp, _ in current),
             "withdrawn_channels": [ch for ch in CHANNELS if ch != "any" and current.get((p, ch)) is False]}
            for p in PURPOSES]


def change_consent(state: AppState, principal: Principal, request: Request, customer_id: str, purpose: str,
                   channel: str, granted: bool, source: str, note: str | None = None) -> None:
    """Record one grant or withdrawal (InvalidInput for an unknown purpose or channel); audited. The
    caller has checked that the customer is in its scope (an H5 customer: themselves)."""
    actor = customer_id if principal.role is Role.CUSTOMER else principal.user_id
    text = audit.scrub(note.strip())[:500] if note and note.strip() else None
    jeng.consent_change(state.engine, customer_id, purpose, channel, granted, source=source, actor=actor, note=text)
    record(state, principal, "consent_change", "customer", customer_id, request, reason=text or "",
           purpose=purpose, contact_channel=channel, granted=granted, source=source)


def withdraw_everywhere(state: AppState, principal: Principal, request: Request, customer_id: str, purpose: str,
                        source: str, note: str | None = None) -> None:
    """Withdraw ``purpose`` on ``any`` and on every channel holding a grant of its own: a channel's own
    answer wins over ``any`` at send time (guards.consent_ok), so withdrawing on ``any`` alone would
    leave, say, an SMS-only grant in force."""
    current = store.consent_state(state.engine, customer_id)
    for ch in ["any", *(c for c in CHANNELS if c != "any" and current.get((purpose, c)))]:
        change_consent(state, principal, request, customer_id, purpose, ch, False, source, note)


def blocked_channels(state: AppState, customer_id: str) -> list[str]:
    with state.engine.connect() as conn:
        return sorted(store.blocked_channels(conn, customer_id))


def contact_block(state: AppState, principal: Principal, request: Request, customer_id: str, channel: str,
                  block: bool, reason: str) -> None:
    """Put a channel (or ``any``) on the do-not-contact list or lift it; audited with the reason."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}", field="channel")
    text = audit.scrub(reason.strip())[:500]
    if len(text) < 2:
        raise InvalidInput("reason: say why (at least 2 characters)", field="reason")
    if block:
        if channel not in blocked_channels(state, customer_id):
            store.add_block(state.engine, customer_id, channel, text, principal.user_id, now())
        record(state, principal, "contact_block", "customer", customer_id, request, reason=text,
               contact_channel=channel)
    else:
        lifted = store.lift_block(state.engine, customer_id, channel, principal.user_id, now())
        record(state, principal, "contact_unblock", "customer", customer_id, request, reason=text,
               contact_channel=channel, count=lifted)


def customer_section(state: AppState, customer_id: str, lang: str = "zh") -> dict[str, Any]:
    """The 360 page's journeys section: enrolments, consent, blocked channels, recent messages (channel,
    status, reason, time: never the address). The caller has checked the customer is in scope."""
    history = [h | {"purpose_label": label("purpose", h["purpose"], lang),
                    "channel_label": label("channel", h["channel"], lang),
                    "source_label": label("source", h["source"], lang)}
               for h in reversed(store.consent_history(state.engine, customer_id)[-20:])]
    enrolled = [r | {"name": r["name_zh"] if lang == "zh" else r["name_en"],
                     "status_label": label("enrolment_status", r["status"], lang),
                     "exit_label": label("outcome", r["exit_reason"], lang) if r.get("exit_reason") else ""}
                for r in store.customer_journeys(state.engine, customer_id)[:20]]
    messages = [{k: m.get(k) for k in ("channel", "kind", "status", "reason", "journey_key", "template_code",
                                       "created_at", "sent_at")}
                | {"channel_label": label("channel", m["channel"], lang), "kind_label": label("kind", m["kind"], lang),
                   "status_label": label("message_status", m["status"], lang),
                   "reason_label": label("reason", m["reason"], lang) if m.get("reason") else ""}
                for m in store.messages_of(state.engine, customer_id, limit=20)]
    consent = [c | {"purpose_label": label("purpose", c["purpose"], lang),
                    "channel_label": label("channel", c["channel"], lang)} for c in consent_rows(state, customer_id)]
    return {"journeys": enrolled, "consent": consent, "history": history,
            "blocked": blocked_channels(state, customer_id),
            "blocked_labels": [label("channel", ch, lang) for ch in blocked_channels(state, customer_id)],
            "messages": messages, "channel_options": options("channel", CHANNELS, lang),
            "purpose_options": options("purpose", PURPOSES, lang)}


# --- the customer's inbox (H5) ---------------------------------------------------------------------

def safe_link(link: Any) -> str | None:
    """A content link a page may show: a path on this site or an https address (never javascript:)."""
    text = str(link or "").strip()
    if text.startswith("https://") or (text.startswith("/") and not text.startswith("//")):
        return text
    return None
