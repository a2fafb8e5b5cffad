"""Customer H5: phone + one-time code sign-in (no enumeration, throttling, attempts, expiry, CSRF), my
cover, robo-advisor → plan, wallet with per-field validation feeding the diagnosis, review PDF, sign
out, and one customer never reaching another's data."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from shouhu.storage import audit
from shouhu.storage.tables import otp_code, reflected
from shouhu.web.auth import H5_COOKIE, SESSION_COOKIE
from tests.web.conftest import SENT, Web, serving_count
from tests.web.test_advice import FACT, RISK

UNKNOWN_PHONE = "19900000001"


def _people(web: Web, n: int = 2) -> list[tuple[str, str, str]]:
    """(customer id, phone, name) of customers with a phone, decrypted with the app's cipher."""
    cipher = web.client.app.state.shouhu.cipher  # type: ignore[attr-defined]
    cust = reflected(web.engine, "customer")
    with web.engine.connect() as conn:
        rows = conn.execute(select(cust.c.customer_id, cust.c.phone_enc, cust.c.name_enc)
                            .where(cust.c.phone_enc.is_not(None)).order_by(cust.c.customer_id).limit(n)).all()
    return [(r.customer_id, cipher.decrypt(r.phone_enc), cipher.decrypt(r.name_enc) or "") for r in rows]


def _pre(client: TestClient) -> str:
    page = client.get("/h5/login")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def _code_for(phone: str) -> str:
    assert SENT and SENT[-1][0] == phone
    return SENT[-1][1]


def _session_csrf(page: str) -> str:
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', page)
    assert found and found.group(1)
    return found.group(1)


def sign_in(client: TestClient, phone: str) -> str:
    """Sign in through the pages; returns the session's CSRF token."""
    pre = _pre(client)
    r = client.post("/h5/login/code", data={"phone": phone, "csrf_token": pre})
    assert r.status_code == 200 and 'id="h5-code-form"' in r.text, r.text
    r = client.post("/h5/login", data={"phone": phone, "code": _code_for(phone), "csrf_token": pre},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/h5/", r.text
    return _session_csrf(client.get("/h5/").text)


def _pdf_text(data: bytes, tmp: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    path = tmp / "r.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_h5_full_flow(web: Web, tmp_path: Path) -> None:
    (cid, phone, name), = _people(web, 1)
    c = web.client
    r = c.get("/h5/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/h5/login"

    pre = _pre(c)
    sent_before = len(SENT)
    formatted = f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"
    r = c.post("/h5/login/code", data={"phone": formatted, "csrf_token": pre})
    assert r.status_code == 200 and 'id="h5-code-form"' in r.text
    assert len(SENT) == sent_before + 1 and SENT[-1][0] == phone and re.fullmatch(r"\d{6}", SENT[-1][1])
    r = c.post("/h5/login", data={"phone": phone, "code": SENT[-1][1], "csrf_token": pre}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{H5_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie \
        and "Path=/h5" in cookie
    logins = audit.read(web.engine, action="h5_login", target_id=cid)
    assert len(logins) == 1 and logins[0]["actor"] == f"customer:{cid}" and logins[0]["actor_role"] == "customer"
    assert phone not in str(audit.read(web.engine))

    home = c.get("/h5/")
    assert home.status_code == 200 and 'id="h5-cover-chart"' in home.text and 'class="h5"' in home.text
    assert name in home.text  # the customer sees their own name
    csrf = _session_csrf(home.text)

    # robo-advisor: risk questionnaire, then the fact-find, then the plan
    advisor = c.get("/h5/advisor")
    assert 'id="h5-risk-form"' in advisor.text and "您的投资经验?" in advisor.text
    # answers recorded by staff are shown, pre-filled, for the customer to confirm
    r = web.client.post(f"/api/v1/customers/{cid}/assessments", headers=web.auth("admin"),
                        json={"questionnaire": "risk_tolerance", "answers": RISK | {"goal": "max"}})
    assert r.status_code == 201
    advisor = c.get("/h5/advisor")
    assert "请确认" in advisor.text and 'id="h5-risk-form"' in advisor.text
    assert 'value="max" checked' in advisor.text
    r = c.post("/h5/advisor", data={"questionnaire": "risk_tolerance"} | RISK, follow_redirects=False)
    assert r.status_code == 403  # no CSRF token
    r = c.post("/h5/advisor", data={"questionnaire": "risk_tolerance", "csrf_token": csrf} | RISK,
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/h5/advisor"
    advisor = c.get("/h5/advisor")
    assert "R3/C3" in advisor.text and 'id="h5-fact-form"' in advisor.text
    assert 'id="h5-risk-form"' not in advisor.text and 'id="h5-risk-retake"' in advisor.text
    age = re.search(r'name="age"[^>]*value="(\d+)"', advisor.text)  # the fact-find starts from my record
    assert age and 0 < int(age.group(1)) < 110
    bad = {"questionnaire": "fact_find", "csrf_token": csrf, "age": "-3", "sex": "X", "annual_income": "lots"}
    r = c.post("/h5/advisor", data=bad)
    assert r.status_code == 400
    for field in ("age", "sex", "annual_income"):
        assert f'id="err-{field}"' in r.text, field
    form = {"questionnaire": "fact_find", "csrf_token": csrf, "age": "36", "sex": "F", "annual_income": "200000",
            "mortgage": "500000", "dependents-0-relation": "child", "dependents-0-age": "4", "education_goal": "true"}
    r = c.post("/h5/advisor", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/h5/plan"
    plan = c.get("/h5/plan")
    assert plan.status_code == 200 and 'id="h5-plan"' in plan.text and f'id="gap-chart-{cid}"' in plan.text
    assert serving_count(web.engine, f"SELECT count(*) FROM assessment WHERE customer_id = '{cid}' "
                                     f"AND taken_by = 'customer:{cid}'") == 2
    assert serving_count(web.engine, f"SELECT count(*) FROM assessment WHERE customer_id = '{cid}'") == 3
    checks = serving_count(web.engine, "SELECT count(*) FROM suitability_check")
    assert checks > 0
    # self-service: no seller qualification applies
    assert serving_count(web.engine, "SELECT count(*) FROM suitability_check WHERE check_name = "
                                     "'seller_qualification' AND reason_en LIKE 'self-service%'") > 0

    # wallet: per-field errors, then a good external policy that the diagnosis counts
    wallet = c.get("/h5/policies")
    assert wallet.status_code == 200 and 'id="h5-wallet-form"' in wallet.text
    r = c.post("/h5/policies", data={"csrf_token": csrf, "annual_premium": "abc", "issue_date": "2999-01-01",
                                     "product_type": "crystal_ball"})
    assert r.status_code == 400
    for field in ("policy_no", "insurer", "product_name", "issue_date", "annual_premium", "product_type"):
        assert f'id="err-{field}"' in r.text, field
    good = {"csrf_token": csrf, "policy_no": "EXT-001", "insurer": "他司人寿", "product_name": "他司重疾险",
            "product_type": "critical_illness", "issue_date": "2020-03-01", "status": "in_force",
            "annual_premium": "6000", "payment_frequency": "annual", "premium_term_years": "20",
            "coverage_term_years": "0"}
    r = c.post("/h5/policies", data=good)
    assert r.status_code == 400 and 'id="err-sa"' in r.text  # no sum assured at all
    r = c.post("/h5/policies", data=good | {"sa_critical_illness": "500000"}, follow_redirects=False)
    assert r.status_code == 303
    wallet = c.get("/h5/policies")
    assert "他司重疾险" in wallet.text and "EXT-001" in wallet.text
    r = c.post("/h5/policies", data=good | {"sa_critical_illness": "500000"})
    assert r.status_code == 400 and 'id="err-policy_no"' in r.text  # already in the wallet
    assert len(audit.read(web.engine, action="wallet_add", target_id=cid)) == 1
    diag = web.client.get(f"/api/v1/customers/{cid}/diagnosis", headers=web.auth("admin")).json()
    assert diag["external_policies"] == 1
    me = next(m for m in diag["members"] if m["person_id"] == cid)
    ci = next(g for g in me["gaps"] if g["coverage"] == "critical_illness")
    assert ci["existing"] >= 500_000

    # my review report
    pdf = c.get("/h5/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    exports = audit.read(web.engine, action="export", target_id=cid)
    assert exports[0]["actor"] == f"customer:{cid}" and exports[0]["detail"]["document"] == "review_pdf"
    body = _pdf_text(pdf.content, tmp_path)
    assert "家庭保单检视报告" in body and "他司重疾险" in body
    if len(name) > 1:
        assert name not in body and name[0] + "*" * (len(name) - 1) in body  # masked, as on every report

    # sign out
    assert c.post("/h5/logout", follow_redirects=False).status_code == 403
    r = c.post("/h5/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/h5/login"
    assert c.get("/h5/", follow_redirects=False).status_code == 303
    assert audit.read(web.engine, action="h5_logout", target_id=cid)
    assert serving_count(web.engine, "SELECT count(*) FROM web_session WHERE subject_kind = 'customer'") == 0


def test_unknown_phone_gets_the_same_answer_and_no_code(web: Web) -> None:
    (_, phone, _), = _people(web, 1)
    cipher = web.client.app.state.shouhu.cipher  # type: ignore[attr-defined]
    cust = reflected(web.engine, "customer")
    with web.engine.connect() as conn:
        assert conn.execute(select(cust.c.customer_id).where(
            cust.c.phone_bidx == cipher.blind_index(UNKNOWN_PHONE))).first() is None

    def answer(p: str) -> tuple[int, str]:
        pre = _pre(web.client)
        r = web.client.post("/h5/login/code", data={"phone": p, "csrf_token": pre})
        text = r.text.replace(pre, "PRE").replace(p, "PHONE")  # the CSP nonce is fresh per answer
        return r.status_code, re.sub(r'(nonce"?[=:] ?")[A-Za-z0-9_-]+', r"\1NONCE", text, flags=re.I)

    sent = len(SENT)
    unknown = answer(UNKNOWN_PHONE)
    assert len(SENT) == sent
    known = answer(phone)
    assert len(SENT) == sent + 1
    assert unknown == known
    api_unknown = web.client.post("/api/v1/h5/code", json={"phone": UNKNOWN_PHONE})
    api_known = web.client.post("/api/v1/h5/code", json={"phone": phone})
    assert api_unknown.status_code == api_known.status_code == 202 and api_unknown.json() == api_known.json()
    assert len(SENT) == sent + 2
    # a code was stored for the unknown phone too, but nothing signs in with it
    for guess in ("000000", "123456"):
        r = web.client.post("/api/v1/h5/session", json={"phone": UNKNOWN_PHONE, "code": guess})
        assert r.status_code == 401 and r.json()["message"] == "wrong or expired code"
    r = web.client.post("/api/v1/h5/code", json={"phone": "12345678901"})
    assert r.status_code == 400 and r.json()["message"].startswith("phone:")
    r = web.client.post("/api/v1/h5/session", json={"phone": phone, "code": "12ab"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.code"
    failed = audit.read(web.engine, action="h5_login_failed")
    assert failed and UNKNOWN_PHONE not in str(failed)


def test_wrong_expired_reused_and_too_many_attempts(web: Web) -> None:
    (cid, phone, _), = _people(web, 1)
    c = web.client
    api = "/api/v1/h5/session"
    assert c.post("/api/v1/h5/code", json={"phone": phone}).status_code == 202
    code = _code_for(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert c.post(api, json={"phone": phone, "code": wrong}).status_code == 401
    r = c.post(api, json={"phone": phone, "code": code})  # one wrong guess does not kill the code
    assert r.status_code == 200 and r.json()["signed_in"] is True and H5_COOKIE in r.headers["set-cookie"]
    assert c.post(api, json={"phone": phone, "code": code}).status_code == 401  # used once only

    # expired
    assert c.post("/api/v1/h5/code", json={"phone": phone}).status_code == 202
    code = _code_for(phone)
    with web.engine.begin() as conn:
        conn.execute(update(otp_code).values(expires_at=0.0))
    assert c.post(api, json={"phone": phone, "code": code}).status_code == 401

    # five wrong guesses: the phone is throttled, and the code itself is dead
    with web.engine.begin() as conn:
        conn.execute(text("DELETE FROM login_attempt WHERE subject LIKE 'otp:%'"))  # earlier failures
    assert c.post("/api/v1/h5/code", json={"phone": phone}).status_code == 202
    code = _code_for(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert c.post(api, json={"phone": phone, "code": wrong}).status_code == 401
    assert c.post(api, json={"phone": phone, "code": code}).status_code == 429
    pre = _pre(c)
    page = c.post("/h5/login", data={"phone": phone, "code": code, "csrf_token": pre})
    assert page.status_code == 429 and 'id="h5-login-error"' in page.text
    with web.engine.begin() as conn:
        conn.execute(text("DELETE FROM login_attempt WHERE subject LIKE 'otp:%'"))  # the window passes
    assert c.post(api, json={"phone": phone, "code": code}).status_code == 401
    assert len(audit.read(web.engine, action="h5_login", target_id=cid)) == 1


def test_code_sends_are_throttled_per_phone(web: Web) -> None:
    (_, phone, _), = _people(web, 1)
    for p in (phone, UNKNOWN_PHONE):
        for _ in range(5):
            assert web.client.post("/api/v1/h5/code", json={"phone": p}).status_code == 202
        r = web.client.post("/api/v1/h5/code", json={"phone": p})
        assert r.status_code == 429 and r.headers["retry-after"] == "3600"
    pre = _pre(web.client)
    page = web.client.post("/h5/login/code", data={"phone": phone, "csrf_token": pre})
    assert page.status_code == 429 and 'id="h5-login-error"' in page.text
    other = _people(web, 2)[1][1]
    assert web.client.post("/api/v1/h5/code", json={"phone": other}).status_code == 202


def test_csrf_is_required_on_h5_posts(web: Web) -> None:
    (_, phone, _), = _people(web, 1)
    c = web.client
    pre = _pre(c)
    r = c.post("/h5/login/code", data={"phone": phone})
    assert r.status_code == 403 and 'id="h5-phone-form"' in r.text
    r = c.post("/h5/login/code", data={"phone": phone, "csrf_token": "forged"})
    assert r.status_code == 403
    sent = len(SENT)
    assert c.post("/h5/login/code", data={"phone": phone, "csrf_token": pre}).status_code == 200
    assert len(SENT) == sent + 1
    assert c.post("/h5/login", data={"phone": phone, "code": _code_for(phone)}).status_code == 403
    csrf = sign_in(c, phone)
    for path, data in (("/h5/advisor", {"questionnaire": "risk_tolerance"} | RISK),
                       ("/h5/policies", {"policy_no": "X"}), ("/h5/policies/1/remove", {}), ("/h5/logout", {})):
        assert c.post(path, data=data, follow_redirects=False).status_code == 403, path
        assert c.post(path, data=data | {"csrf_token": "forged"}, follow_redirects=False).status_code == 403, path
    assert c.post("/h5/advisor", data={"questionnaire": "risk_tolerance", "csrf_token": csrf} | RISK,
                  follow_redirects=False).status_code == 303
    assert c.post("/h5/advisor", headers={"X-CSRF-Token": csrf},
                  data={"questionnaire": "fact_find"} | {k: str(v) for k, v in FACT.items() if k == "age"} | {
                      "sex": "M", "annual_income": "1"}, follow_redirects=False).status_code == 303


def test_a_customer_never_reaches_another_customers_data(web: Web, tmp_path: Path) -> None:
    (a, phone_a, name_a), (b, phone_b, name_b) = _people(web, 2)
    app = web.client.app
    ca, cb = TestClient(app, base_url="http://127.0.0.1"), TestClient(app, base_url="http://127.0.0.1")
    csrf_a, csrf_b = sign_in(ca, phone_a), sign_in(cb, phone_b)
    assert name_a in ca.get("/h5/").text and name_b in cb.get("/h5/").text
    ext = {"policy_no": "B-1", "insurer": "他司", "product_name": "B的医疗险", "product_type": "medical",
           "issue_date": "2021-01-01", "sa_medical": "2000000", "csrf_token": csrf_b}
    assert cb.post("/h5/policies", data=ext, follow_redirects=False).status_code == 303
    wallet = reflected(web.engine, "external_policy")
    with web.engine.connect() as conn:
        b_row = conn.execute(select(wallet.c.id).where(wallet.c.customer_id == b)).scalar_one()

    # ids in URLs and forms: someone else's wallet row is not found; ids the pages do not take are ignored
    r = ca.post(f"/h5/policies/{b_row}/remove", data={"csrf_token": csrf_a}, follow_redirects=False)
    assert r.status_code == 404
    assert serving_count(web.engine, f"SELECT count(*) FROM external_policy WHERE id = {b_row}") == 1
    for path in (f"/h5/?customer_id={b}", f"/h5/policies?customer_id={b}", f"/h5/plan?customer_id={b}"):
        page = ca.get(path)
        assert page.status_code == 200 and b not in page.text.replace(f"customer_id={b}", ""), path
        assert "B的医疗险" not in page.text and (len(name_b) < 2 or name_b not in page.text)
    mine = ext | {"csrf_token": csrf_a, "policy_no": "A-1", "product_name": "A的医疗险", "customer_id": b,
                  "insured_id": b}
    r = ca.post("/h5/policies", data=mine, follow_redirects=False)
    assert r.status_code == 303
    with web.engine.connect() as conn:
        rows = conn.execute(select(wallet.c.customer_id, wallet.c.record).where(wallet.c.customer_id == a)).all()
    assert len(rows) == 1 and f'"insured_id": "{a}"' in rows[0].record and b not in rows[0].record
    pdf = ca.get(f"/h5/report.pdf?customer_id={b}")
    assert pdf.status_code == 200 and "B的医疗险" not in _pdf_text(pdf.content, tmp_path)

    # the customer session opens no staff page or API
    token = ca.cookies.get(H5_COOKIE)
    assert token
    staff = TestClient(app, base_url="http://127.0.0.1")
    staff.cookies.set(SESSION_COOKIE, token)
    for path in (f"/console/advice?customer_id={b}", f"/console/customers/{b}"):
        assert staff.get(path, follow_redirects=False).status_code == 303, path
    for path in (f"/api/v1/customers/{b}/plan", f"/api/v1/customers/{a}", f"/api/v1/customers/{b}/review.pdf"):
        assert staff.get(path).status_code == 401, path
    assert ca.get(f"/api/v1/customers/{b}/plan", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_locked_warehouse_is_a_503_everywhere(web: Web, tmp_path: Path) -> None:
    """While another process holds the warehouse's write lock (a refresh), advice answers 503 with a
    clear message (API) or says so on the page (console, H5), and nothing is half-written."""
    import sys
    from urllib.parse import urlparse

    state = web.client.app.state.shouhu  # type: ignore[attr-defined]
    copy = tmp_path / "locked.duckdb"
    shutil.copy(urlparse(state.settings.warehouse).path, copy)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); sys.stdin.read()", str(copy)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        state.settings = state.settings.model_copy(update={"warehouse_url": f"duckdb:///{copy}"})
        cid = web.own["agent"]
        for path in ("plan", "diagnosis", "review.pdf"):
            r = web.client.get(f"/api/v1/customers/{cid}/{path}", headers=web.auth("agent"))
            assert r.status_code == 503 and "refresh" in r.json()["message"], path
        web.login("agent")
        page = web.client.get(f"/console/advice/result?customer_id={cid}")
        assert page.status_code == 200 and 'id="advice-unavailable"' in page.text
        assert web.client.get(f"/console/advice/review.pdf?customer_id={cid}").status_code == 503
        (_, phone, _), = _people(web, 1)
        sign_in(web.client, phone)
        assert web.client.get("/h5/plan").status_code == 503
        r = web.client.get("/h5/report.pdf")
        assert r.status_code == 503 and 'id="h5-error"' in r.text
        assert serving_count(web.engine, "SELECT count(*) FROM suitability_check") == 0
        assert not audit.read(web.engine, action="export")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
