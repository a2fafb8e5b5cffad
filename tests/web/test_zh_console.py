"""Server side of "usable by Chinese staff" (issue 13 item 12): identity decisions applied to the
serving view at once, the review queue paged and filtered, the accounts form's errors in Chinese
without a regular expression, 404 pages as Chinese HTML, the favicon, and the display helpers
(Beijing time, quarantine reasons, comparison levels, audit details). SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shouhu.identity import stewardship as st
from shouhu.identity.clustering import customer_id as cluster_id
from shouhu.storage import audit
from shouhu.storage import decisions as store
from shouhu.web import display
from tests.web.conftest import Web


def _queue(web: Web, **params: object) -> dict[str, object]:
    r = web.client.get("/api/v1/identity/queue", headers=web.auth("admin"), params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_confirm_joins_the_two_customers_at_once(web: Web) -> None:
    url = web.settings.serving
    split = _queue(web, same_customer=False)["items"]
    assert split, "the test book has no undecided pair of two customers"
    pair = split[0]  # type: ignore[index]
    left, right = pair["unique_id_l"], pair["unique_id_r"]
    before = {c: [r["unique_id"] for r in store.records_of(url, customer_id=c)]
              for c in (pair["customer_id_l"], pair["customer_id_r"])}
    joined = cluster_id([u for found in before.values() for u in found])

    r = web.client.post("/api/v1/identity/confirm", headers=web.auth("admin"),
                        json={"left": left, "right": right, "reason": "电话核实为同一人"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["takes_effect"] == "now" and body["customer_id"] == joined, body
    assert body["records_moved"] == len(before[pair["customer_id_l"] if joined != pair["customer_id_l"]
                                               else pair["customer_id_r"]])
    now = {x["unique_id"]: x for x in store.records_of(url, customer_id=joined)}
    assert {left, right} <= set(now) and set(now) == {u for found in before.values() for u in found}
    assert {x["decided_by"] for u, x in now.items() if u not in before.get(joined, [])} == {"manual"}
    entry = audit.read(web.engine, action="identity_confirm", limit=1)[0]
    assert entry["detail"]["joined_as"] == joined

    # the console history of the joined customer lists both records now, before any refresh
    web.login("admin")
    page = web.client.get(f"/console/identity/history?customer_id={joined}")
    assert page.status_code == 200 and page.text.count('title="') >= 2
    for uid in (left, right):
        assert f'title="{uid}"' in page.text

    # a reject changes nothing before the refresh and says so
    other = _queue(web)["items"]
    if other:
        p = other[0]  # type: ignore[index]
        r = web.client.post("/api/v1/identity/reject", headers=web.auth("admin"),
                            json={"left": p["unique_id_l"], "right": p["unique_id_r"], "reason": "不是同一人"})
        assert r.status_code == 200 and r.json()["takes_effect"] == "next refresh"


def test_apply_now_keeps_the_refresh_id() -> None:
    # the joined id is the one clustering gives the union: CU + hash of its smallest record id
    assert cluster_id(["b:2", "a:1", "c:3"]) == cluster_id(["a:1"])
    assert st.apply_now.__doc__ and "serving view" in st.apply_now.__doc__


def test_review_queue_pages_and_filters(web: Web) -> None:
    everything = _queue(web, limit=500)["items"]
    assert isinstance(everything, list) and everything
    one = _queue(web, limit=1)
    assert one["count"] == 1 and one["more"] is (len(everything) > 1)
    if len(everything) > 1:
        second = _queue(web, limit=1, offset=1)["items"]
        assert second[0] != one["items"][0]  # type: ignore[index]
    high = _queue(web, limit=500, min_probability=0.9)["items"]
    assert all(p["match_probability"] >= 0.9 for p in high)  # type: ignore[union-attr]
    same = _queue(web, limit=500, same_customer=True)["items"]
    assert all(p["same_customer"] for p in same)  # type: ignore[union-attr]
    source = str(everything[0]["unique_id_l"]).split(":")[0]
    mine = _queue(web, limit=500, source=source)["items"]
    assert mine and all(source + ":" in p["unique_id_l"] + p["unique_id_r"] for p in mine)  # type: ignore[operator,index]
    assert _queue(web, source="no_such_source")["items"] == []

    web.login("admin")
    page = web.client.get("/console/identity", params={"view": "same", "source": source, "min": "10"})
    assert page.status_code == 200 and 'id="queue-filter"' in page.text
    assert f'<option value="{source}" selected>' in page.text


def test_accounts_form_errors_are_chinese_without_a_regex(web: Web) -> None:
    csrf = web.login("admin")
    hx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    for odd in ("张 三", "-start", "a" * 80, "x y", "a/b"):
        r = web.client.post("/console/users", headers=hx,
                            data={"user_id": odd, "role": "analyst", "password": "correct-horse-battery"})
        assert r.status_code == 400, (odd, r.text)
        assert "用户名" in r.text and "^" not in r.text and "[A-Za-z" not in r.text and "pattern" not in r.text, r.text
    r = web.client.post("/console/users", headers=hx, data={"user_id": "ok-name", "role": "nobody",
                                                             "password": "correct-horse-battery"})
    assert r.status_code == 400 and "角色" in r.text
    page = web.client.get("/console/users")
    assert 'pattern="[A-Za-z0-9][A-Za-z0-9._@\\-]{0,63}"' in page.text  # valid under the /v flag
    assert "(head_office)" not in page.text and "staff AG" not in page.text


def test_unknown_paths_are_chinese_pages(web: Web) -> None:
    for path in ("/console/no-such-page", "/h5/no-such-page", "/no-such"):
        r = web.client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert "未找到" in r.text and '"detail"' not in r.text, r.text
    assert web.client.get("/api/v1/no-such").json()["error"] == "not_found"  # the API answers JSON
    r = web.client.get("/no-such?lang=en")
    assert "Not found" in r.text


def test_favicon(web: Web) -> None:
    r = web.client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml") and b"<svg" in r.content


def test_display_helpers() -> None:
    assert display.local_time("2026-01-01T00:30:00+00:00") == "2026-01-01 08:30:00"
    assert display.local_time("2026-01-01T00:30:00Z", "%H:%M") == "08:30"
    assert display.local_time(datetime(2026, 6, 1, 16, 0, tzinfo=UTC)) == "2026-06-02 00:00:00"
    assert display.local_time(None) == "—" and display.local_time("not a time") == "not a time"
    assert display.quarantine_reason("required value is missing", "zh") == "必填项缺失"
    assert display.quarantine_reason("'未知' is not one of ['F', 'M']", "zh") == "'未知'不是允许的取值（女、男）"
    assert "11位" in display.quarantine_reason("not a mainland mobile number (11 digits starting 13-19)", "zh")
    assert display.quarantine_reason("not a number: '#VALUE!'", "en") == "not a number: '#VALUE!'"
    assert display.comparison_label("Exact match on gender", "zh") == "完全一致"
    assert display.comparison_label("All other comparisons", "zh") == "不一致"
    assert display.comparison_label("null", "zh").startswith("缺失")
    detail = display.audit_detail({"fields": ["phone"], "purpose": "回访", "can_reveal": True}, "zh")
    assert detail == "字段：手机号；用途：回访；可查看明文：是" and not re.search(r"[{}\"]", detail)
    assert display.audit_action("permission_changed", "zh") == "修改账号权限"
    assert display.role_label("head_office", "zh") == "总公司管理人员"
    assert display.record_ref("agent_crm:KH1", "zh") == "代理人CRM KH1"
    assert display.attribution_model("markov_2", "zh").startswith("马尔可夫")
    assert display.life_method("dime", "zh") == "DIME法"


def test_console_split_takes_the_record_as_the_pages_show_it(web: Web) -> None:
    url = web.settings.serving
    rows = [r for r in store.records_of(url) if r["source"] in display.SOURCES]
    by_customer: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        by_customer.setdefault(str(r["customer_id"]), []).append(r)
    record = next(found[-1] for found in by_customer.values() if len(found) >= 2)
    shown = display.record_ref(record["unique_id"], "zh")  # e.g. 代理人CRM KH1388072703
    csrf = web.login("admin")
    r = web.client.post("/console/identity/split", data={"unique_id": shown, "reason": "不是同一人"},
                        headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200 and "decision-done" in r.text, r.text
    made = [d for d in st.history(url) if d["action"] == "split"][-1]
    assert made["unique_id_l"] == record["unique_id"]
