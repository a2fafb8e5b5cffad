"""The six checks of the sandbox conformance report (``partners.conformance``), each a function of what was
replayed (:class:`Sandbox`) returning a :class:`Check`: pass/fail, evidence (counts and ids, never personal
data) and an explanation in Chinese and English. docs/partners.md ("Sandbox conformance and go-live")."""

from __future__ import annotations

import http.client
import json
import secrets
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from shouhu.compliance import traceability as trace
from shouhu.partners import webhooks
from shouhu.partners.licence import allowed_scopes
from shouhu.partners.products import products
from shouhu.partners.registry import now_utc, stamp
from shouhu.storage import partners as store
from shouhu.storage import traceability as trace_store

CHECKS: dict[str, tuple[str, str]] = {
    "idempotency": ("写请求均带幂等键", "Idempotency keys on every write"),
    "happy_path": ("完整业务流程", "A full happy path"),
    "disclosures": ("告知确认与可回溯记录", "Disclosures acknowledged and traced"),
    "webhooks": ("回调接收与验签", "Webhooks received and verified"),
    "error_handling": ("错误处理", "Error handling"),
    "licence": ("持牌范围与约定产品", "Licence and agreed products"),
}
MAX_4XX_RATE = 0.2  # deliberate error tests are expected in a sandbox; more than one call in five is a bad client
RETRY_WINDOW = timedelta(seconds=60)  # a write to the same route this soon after a 409 is taken as its retry
PROBE_TIMEOUT = 5.0
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PRICE_BIND = ("POST /quotes", "POST /policies", "POST /policies/{policy_no}/changes",
              "POST /changes/{change_id}/confirm")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    evidence: dict[str, Any]
    zh: str
    en: str

    def to_dict(self) -> dict[str, Any]:
        title_zh, title_en = CHECKS[self.name]
        return {"name": self.name, "title_zh": title_zh, "title_en": title_en, "passed": self.passed,
                "evidence": self.evidence, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Sandbox:
    """What one report replays: the partner, and its sandbox traffic and data since ``since``."""

    partner: dict[str, Any]
    since: str
    calls: list[dict[str, Any]]
    policies: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    links: list[dict[str, Any]]
    endpoints: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]


def route(call: Mapping[str, Any]) -> str:
    """``METHOD /path`` of a logged call, relative to /api/v1/partner (``POST /quotes``)."""
    path = str(call["route"])
    cut = path.find("/partner/")
    return f"{call['method']} {path[cut + 8:] if cut >= 0 else path}"


def _check(name: str, passed: bool, evidence: dict[str, Any], zh: str, en: str) -> Check:
    return Check(name, passed, evidence, zh, en)


# --- (a) idempotency keys ----------------------------------------------------------------------------

def check_idempotency(box: Sandbox) -> Check:
    writes = [c for c in box.calls if c["method"] in WRITES]
    bare = Counter(route(c) for c in writes if not c["idempotency_key"])
    missing = sum(bare.values())
    ev = {"writes": len(writes), "with_key": len(writes) - missing, "without_key": missing,
          "routes_without_key": dict(sorted(bare.items()))}
    if not writes:
        return _check("idempotency", False, ev, "沙箱中没有写请求可供检查。", "No sandbox write to check.")
    if missing:
        where = ", ".join(f"{r} ×{n}" for r, n in sorted(bare.items()))
        return _check("idempotency", False, ev, f"{missing} 个写请求未带 Idempotency-Key：{where}。",
                      f"{missing} write(s) without an Idempotency-Key: {where}.")
    return _check("idempotency", True, ev, f"全部 {len(writes)} 个写请求均带 Idempotency-Key。",
                  f"All {len(writes)} writes carried an Idempotency-Key.")


# --- (b) a full happy path ---------------------------------------------------------------------------

def check_happy_path(box: Sandbox) -> Check:
    ok = Counter(route(c) for c in box.calls if 200 <= int(c["status_code"]) < 300)
    return _scene_path(box, ok) if box.partner["licence"] == "scene" else _intermediary_path(box, ok)


def _intermediary_path(box: Sandbox, ok: Counter[str]) -> Check:
    bound = [p for p in box.policies if p["via"] == "api"]
    changed = {c["policy_no"] for c in box.changes if c["status"] == "confirmed"}
    noticed = {c["policy_no"] for c in box.claims if c["source"] == "notice"}
    complete = sorted(p["policy_no"] for p in bound if p["policy_no"] in changed | noticed)
    ev = {"quotes": ok["POST /quotes"], "binds": len(bound), "changes_confirmed": len(changed),
          "claim_notices": len(noticed), "complete_policies": complete[:10]}
    if not complete:
        return _check("happy_path", False, ev, "尚无完整流程：需询价 → 投保出单 → 批改/退保（预览并确认）或报案。",
                      "No full happy path yet: quote → bind → a change (preview and confirm) or a claim notice.")
    return _check("happy_path", True, ev, f"{len(complete)} 张保单走完询价、出单及后续操作。",
                  f"{len(complete)} policy(ies) went through quote, bind and a follow-up.")


def _scene_path(box: Sandbox, ok: Counter[str]) -> Check:
    hosted = {p["policy_no"] for p in box.policies if p["via"] == "hosted"}
    bound = [link for link in box.links if link["policy_no"] in hosted]
    priced = {r: ok[r] for r in PRICE_BIND if ok[r]}
    refused = sum(1 for c in box.calls if route(c) in PRICE_BIND and int(c["status_code"]) == 403)
    direct = [p["policy_no"] for p in box.policies if p["via"] != "hosted"]
    ev = {"hosted_links": len(box.links), "hosted_bound": len(bound), "price_or_bind_succeeded": priced,
          "price_or_bind_refused_403": refused, "policies_not_hosted": direct[:10]}
    if priced or direct:
        n = sum(priced.values()) + len(direct)
        return _check("happy_path", False, ev, f"非持牌场景合作方有 {n} 次成功的报价/出单"
                      f"（{', '.join(priced) or '非托管保单'}）：不得报价或代办投保，须使用托管投保页。",
                      f"An unlicensed scene partner succeeded {n} time(s) in pricing or binding "
                      f"({', '.join(priced) or 'policies not via hosted pages'}); it must use the hosted pages.")
    if not bound:
        return _check("happy_path", False, ev, "尚无通过托管投保页出单的保单。",
                      "No policy bound through a hosted link yet.")
    return _check("happy_path", True, ev,
                  f"{len(bound)} 张保单经托管投保页出单；{refused} 次报价/出单调用按规被拒（403）。",
                  f"{len(bound)} policy(ies) bound through hosted links; {refused} price/bind call(s) refused "
                  "(403) as they should be.")


# --- (c) disclosures and traceability, checked again -------------------------------------------------

def bind_problems(engine: Engine, partner_id: str, policy: Mapping[str, Any]) -> list[str]:
    """What is wrong with one stored bind, replaying the bind's checks on the stored rows."""
    q = store.get_quote(engine, str(policy["quote_id"]))
    if q is None or q["partner_id"] != partner_id or q["mode"] != policy["mode"]:
        return [f"quote {policy['quote_id']} is not one of the partner's quotes in this mode"]
    return ack_problems(q["disclosures"], policy["acknowledgements"]) + session_problems(engine, partner_id, policy, q)


def ack_problems(wanted: Sequence[Mapping[str, Any]], given: Any) -> list[str]:
    acks = {str(a.get("code")): a for a in given or [] if isinstance(a, Mapping)}
    return [f"{d['code']} v{d['version']}: not acknowledged at the quote's version and hash" for d in wanted
            if (a := acks.get(d["code"])) is None or a.get("version") != d["version"] or a.get("sha256") != d["sha256"]]


def _confirmed(event: Mapping[str, Any]) -> bool:
    return event["type"] == "confirm" and json.loads(event["data"] or "{}").get("value") is True


def session_problems(engine: Engine, partner_id: str, policy: Mapping[str, Any], q: Mapping[str, Any]) -> list[str]:
    sid = str(policy["trace_session_id"])
    s = trace_store.get_session(engine, sid)
    if s is None or s["channel"] != partner_id or s["product_code"] != q["product_code"]:
        return [f"traceability session {sid}: not the partner's session for {q['product_code']}"]
    if s["policy_no"] not in (None, policy["policy_no"]):
        return [f"traceability session {sid}: closed for another policy ({s['policy_no']})"]
    events = trace_store.events_of(engine, sid)
    pages = {(e["page_code"], int(e["page_version"])) for e in events if e["page_code"] is not None}
    hashes = {k: str(p["sha256"]) for k in pages if (p := trace_store.page(engine, k[0], k[1])) is not None}
    broken, _ = trace.check_session(s, events, hashes)
    out = [f"traceability session {sid}: {broken}"] if broken else []
    seen = {kind: {(e["page_code"], e["page_version"], e["page_hash"]) for e in events if test(e)}
            for kind, test in (("viewed", lambda e: e["type"] == "page_view"), ("confirmed", _confirmed))}
    for d in q["disclosures"]:
        missing = [kind for kind, keys in seen.items() if (d["code"], d["version"], d["sha256"]) not in keys]
        if missing:
            out.append(f"{d['code']} v{d['version']}: not {' nor '.join(missing)} in session {sid}")
    return out


def check_disclosures(engine: Engine, box: Sandbox) -> Check:
    pid = box.partner["partner_id"]
    problems = {p["policy_no"]: found for p in box.policies if (found := bind_problems(engine, pid, p))}
    ev = {"binds": len(box.policies), "verified": len(box.policies) - len(problems),
          "problems": dict(list(problems.items())[:20])}
    if not box.policies:
        return _check("disclosures", False, ev, "沙箱中没有出单记录可供复核。", "No sandbox bind to verify.")
    if problems:
        first = next(iter(problems.items()))
        return _check("disclosures", False, ev,
                      f"{len(problems)} 张保单的告知确认或可回溯记录不完整，如 {first[0]}：{first[1][0]}。",
                      f"{len(problems)} bind(s) lack an acknowledgement or traceability evidence, e.g. {first[0]}: "
                      f"{first[1][0]}.")
    return _check("disclosures", True, ev, f"全部 {len(box.policies)} 张保单的告知确认与可回溯记录复核通过。",
                  f"All {len(box.policies)} binds verified again: acknowledgements and traceability sessions.")


# --- (d) webhooks -------------------------------------------------------------------------------------

def probe(url: str, send: webhooks.Send) -> int | None:
    """POST a ping signed with a random secret (fresh timestamp); the status, or None without an answer."""
    event_id = f"evt_probe_{secrets.token_hex(8)}"
    body = webhooks.envelope(event_id, "ping", stamp(now_utc()), "sandbox", {"probe": "bad_signature"}).encode()
    ts = int(time.time())
    headers = {webhooks.HEADER_ID: event_id, webhooks.HEADER_TIMESTAMP: str(ts),
               webhooks.HEADER_SIGNATURE: webhooks.signature_header([webhooks.new_secret()], event_id, ts, body)}
    try:
        return send(url, body, headers, PROBE_TIMEOUT)
    except (OSError, http.client.HTTPException, ValueError):
        return None


def check_webhooks(box: Sandbox, send: webhooks.Send) -> Check:
    enabled = {e["endpoint_id"]: e for e in box.endpoints if e["enabled"]}
    delivered = [d for d in box.deliveries if d["state"] == "delivered" and 200 <= int(d["last_status"] or 0) < 300
                 and d["endpoint_id"] in enabled]
    reached = sorted({d["endpoint_id"] for d in delivered})[:3]
    ev: dict[str, Any] = {"endpoints": len(box.endpoints), "enabled": len(enabled),
                          "deliveries": len(box.deliveries), "delivered_2xx": len(delivered),
                          "by_type": dict(sorted(Counter(str(d["type"]) for d in delivered).items()))}
    if not enabled:
        return _check("webhooks", False, ev, "没有启用的回调地址（POST /api/v1/partner/webhooks）。",
                      "No enabled webhook endpoint (POST /api/v1/partner/webhooks).")
    if not delivered:
        return _check("webhooks", False, ev, "沙箱中没有以 2xx 送达的 ping 或事件。",
                      "No sandbox ping or event was delivered with a 2xx answer.")
    ev["bad_signature_probes"] = {e: probe(enabled[e]["url"], send) for e in reached}
    accepted = [e for e, status in ev["bad_signature_probes"].items() if status is None or 200 <= status < 300]
    if accepted:
        return _check("webhooks", False, ev,
                      f"回调地址 {', '.join(accepted)} 接受了签名错误的请求（或无应答）：请校验 Shouhu-Signature。",
                      f"Endpoint(s) {', '.join(accepted)} accepted a request with a wrong signature (or did not "
                      "answer): verify Shouhu-Signature and refuse it.")
    return _check("webhooks", True, ev, f"{len(delivered)} 次投递以 2xx 送达；签名错误的探测请求被拒绝。",
                  f"{len(delivered)} delivery(ies) answered 2xx; the wrongly signed probe was refused.")


# --- (e) error handling -------------------------------------------------------------------------------

def bare_retries(calls: Sequence[Mapping[str, Any]]) -> list[str]:
    """Writes sent without a key within ``RETRY_WINDOW`` after a 409 on the same route (calls in log order)."""
    found = []
    for i, c in enumerate(calls):
        if int(c["status_code"]) != 409 or c["method"] not in WRITES:
            continue
        limit = stamp(datetime.fromisoformat(str(c["at"]).replace("Z", "+00:00")) + RETRY_WINDOW)
        for later in calls[i + 1:]:
            if later["at"] > limit:
                break
            if route(later) == route(c):
                if not later["idempotency_key"]:
                    found.append(f"{route(c)} at {later['at']}")
                break
    return found


def check_errors(box: Sandbox) -> Check:
    scene = box.partner["licence"] == "scene"
    counted = [c for c in box.calls if not (scene and route(c) in PRICE_BIND and int(c["status_code"]) == 403)]
    client = Counter(int(c["status_code"]) for c in counted if 400 <= int(c["status_code"]) < 500)
    rate = sum(client.values()) / len(counted) if counted else 0.0
    retries = bare_retries(box.calls)
    ev = {"calls": len(counted), "client_errors": sum(client.values()), "rate": round(rate, 3),
          "threshold": MAX_4XX_RATE, "by_status": {str(k): v for k, v in sorted(client.items())},
          "retried_without_key_after_409": retries[:10], "licence_refusals_left_out": len(box.calls) - len(counted)}
    if not counted:
        return _check("error_handling", False, ev, "沙箱中没有调用可供检查。", "No sandbox call to check.")
    if rate > MAX_4XX_RATE:
        return _check("error_handling", False, ev, f"4xx 比例 {rate:.0%} 超过上限 {MAX_4XX_RATE:.0%}。",
                      f"{rate:.0%} of the calls answered 4xx, above the {MAX_4XX_RATE:.0%} threshold.")
    if retries:
        return _check("error_handling", False, ev, f"409 之后有 {len(retries)} 次重试未带幂等键（如 {retries[0]}）。",
                      f"{len(retries)} retry(ies) after a 409 without the idempotency key (e.g. {retries[0]}).")
    return _check("error_handling", True, ev,
                  f"4xx 比例 {rate:.0%}（上限 {MAX_4XX_RATE:.0%}）；409 之后的重试均带幂等键。",
                  f"{rate:.0%} of the calls answered 4xx (threshold {MAX_4XX_RATE:.0%}); retries after a 409 kept "
                  "their key.")


# --- (f) licence --------------------------------------------------------------------------------------

def licence_problems(engine: Engine, box: Sandbox) -> list[str]:
    p, shelf = box.partner, products()
    out = [] if p["products"] else ["no product agreed with the partner"]
    if p["licence"] == "intermediary" and not p["licence_no"]:
        out.append("a licensed intermediary without its licence number")
    for code in p["products"]:
        if code not in shelf:
            out.append(f"product {code} is not on the shelf")
        elif shelf[code].scene not in p["scenes"]:
            out.append(f"product {code} belongs to the scene {shelf[code].scene}, which is not agreed")
    permitted = allowed_scopes(p["licence"])
    for key in store.keys_of(engine, p["partner_id"]):
        extra = sorted(set(key["scopes"]) - permitted)
        if extra and not key["revoked_at"]:
            out.append(f"key {key['key_id']} carries {', '.join(extra)}, beyond a {p['licence']} licence")
    sold = sorted({str(x["product_code"]) for x in box.policies + box.links} - set(p["products"]))
    return out + [f"sandbox sales of {code}, which is not agreed" for code in sold]


def check_licence(engine: Engine, box: Sandbox) -> Check:
    p = box.partner
    problems = licence_problems(engine, box)
    ev = {"licence": p["licence"], "licence_no_given": bool(p["licence_no"]), "products": p["products"],
          "scenes": p["scenes"], "problems": problems}
    if problems:
        return _check("licence", False, ev, f"与持牌规则或约定不符：{'; '.join(problems)}。",
                      f"Does not fit the licence rules or the agreement: {'; '.join(problems)}.")
    return _check("licence", True, ev, "约定产品、场景、密钥权限与销售记录均符合持牌规则。",
                  "Agreed products and scenes, key scopes and sandbox sales fit the licence rules.")
