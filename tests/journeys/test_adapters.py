"""Channel adapters against real local servers: SMTP (aiosmtpd), an HTTP server with the SMS provider's API
shape and one with WeCom's (token, expiry, duplicate check). No address or text in results or logs."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller

from shouhu.journeys.adapters import (
    Message,
    RecordingAdapter,
    SendResult,
    SmsHttpAdapter,
    SmtpAdapter,
    WeComAdapter,
    adapters_from_env,
    message_id,
)

PHONE = "13912345678"
ADDRESS = "zhang@example.com"
MAIL = Message("j7:s2", "C1", "email", ADDRESS, "保费提醒", "张*您好，您的保费将于2026-12-20到期。")
SMS = Message("j7:s3", "C1", "sms", PHONE, "", "张*您好，保费将于2026-12-20到期。回复TD退订")
WECOM = Message("j8:s1", "C1", "wecom", "zhangsan", "续期提醒", "您的保单即将到期")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_clean(results: list[SendResult], caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """Neither the results nor any log record carries the address or the text (the test SMTP server's own
    ``mail.log`` records aside: that is the other side of the wire)."""
    texts = [r.error or "" for r in results] + [r.provider_id or "" for r in results]
    texts += [r.getMessage() for r in caplog.records if r.name != "mail.log"]
    for secret in secrets:
        assert not [t for t in texts if secret in t], secret


# --- SMTP --------------------------------------------------------------------------------------------

class Recorder:
    """aiosmtpd handler: records envelopes; answers RCPT with ``rcpt_answer``."""

    def __init__(self, rcpt_answer: str = "250 OK") -> None:
        self.envelopes: list[Any] = []
        self.rcpt_answer = rcpt_answer

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def smtp_server(handler: Recorder) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    controller = smtp_server(handler)
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def test_message_ids_are_stable_and_distinct_per_key() -> None:
    assert message_id("j7:s2") == message_id("j7:s2") == "<j7=3As2@shouhu>"
    assert len({message_id(k) for k in ("j7:s2", "j7.s2", "j7_s2", "j7=3As2", "j7-s2")}) == 5


def test_smtp_delivers_chinese_mail_with_a_stable_message_id(smtp: tuple[Recorder, int],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler, port = smtp
    result = SmtpAdapter("127.0.0.1", port, "care@shouhu.example").send(MAIL)
    assert result == SendResult("sent", provider_id="<j7=3As2@shouhu>")
    (env,) = handler.envelopes
    assert env.rcpt_tos == [ADDRESS] and env.mail_from == "care@shouhu.example"
    mail = email.message_from_bytes(env.content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == "保费提醒" and mail["To"] == ADDRESS
    assert mail["Message-ID"] == "<j7=3As2@shouhu>" and mail["X-Shouhu-Idempotency-Key"] == "j7:s2"
    assert mail.get_content_charset() == "utf-8" and mail.get_content().strip() == MAIL.body
    assert "j7:s2" in caplog.text
    assert_clean([result], caplog, ADDRESS, MAIL.body)


def test_a_resend_after_a_crash_carries_the_same_message_id(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    adapter = SmtpAdapter("127.0.0.1", port, "care@shouhu.example")
    adapter.send(MAIL)
    adapter.send(MAIL)
    ids = [email.message_from_bytes(e.content, policy=email.policy.default)["Message-ID"] for e in handler.envelopes]
    assert ids == ["<j7=3As2@shouhu>", "<j7=3As2@shouhu>"]


def test_smtp_down_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = SmtpAdapter("127.0.0.1", free_port(), "care@shouhu.example", timeout=2).send(MAIL)
    assert result.status == "retry" and "unreachable" in (result.error or "")
    assert_clean([result], caplog, ADDRESS, MAIL.body)


@pytest.mark.parametrize(("answer", "status"), [("550 5.1.1 <zhang@example.com>: no such mailbox", "failed"),
                                                ("451 4.7.1 greylisted, try later", "retry")])
def test_a_refused_recipient_fails_unless_the_refusal_is_temporary(answer: str, status: str,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler = Recorder(rcpt_answer=answer)
    controller = smtp_server(handler)
    try:
        result = SmtpAdapter("127.0.0.1", controller.port, "care@shouhu.example").send(MAIL)
    finally:
        controller.stop()
    assert result.status == status and answer[:3] in (result.error or "")
    assert handler.envelopes == []
    assert_clean([result], caplog, ADDRESS, "zhang", MAIL.body)


def test_a_line_break_in_the_address_is_never_sent(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    bad = Message("j7:s4", "C1", "email", "a@example.com\nBcc: all@example.com", "s", "b")
    result = SmtpAdapter("127.0.0.1", port, "care@shouhu.example").send(bad)
    assert result.status == "failed" and "example.com" not in (result.error or "")
    assert handler.envelopes == []


# --- SMS and WeCom over HTTP ---------------------------------------------------------------------------

class Provider(BaseHTTPRequestHandler):
    """The SMS provider and WeCom API shapes. SMS answers follow ``script``; WeCom accepts only the tokens in
    ``valid`` (``expire()`` revokes them all, as if they had expired)."""

    calls: ClassVar[list[tuple[str, dict[str, str], dict[str, Any]]]] = []
    script: ClassVar[list[tuple[int, dict[str, Any]]]] = []
    wecom_script: ClassVar[list[dict[str, Any]]] = []
    tokens: ClassVar[int] = 0
    valid: ClassVar[set[str]] = set()

    @classmethod
    def reset(cls) -> None:
        cls.calls, cls.script, cls.wecom_script, cls.tokens, cls.valid = [], [], [], 0, set()

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        Provider.calls.append((url.path, q, {}))
        if url.path != "/cgi-bin/gettoken":
            self._answer(404, {})
        elif q.get("corpid") != "corp" or q.get("corpsecret") != "s3cret":
            self._answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
        else:
            Provider.tokens += 1
            token = f"T{Provider.tokens}"
            Provider.valid.add(token)
            self._answer(200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    def do_POST(self) -> None:
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
        Provider.calls.append((url.path, q | {"Authorization": self.headers.get("Authorization", "")}, body))
        if url.path == "/v1/sms/send":
            if self.headers.get("Authorization") != "Bearer k3y":
                self._answer(401, {"code": "AUTH", "message": "bad key"})
                return
            status, answer = Provider.script.pop(0) if Provider.script else (200, {"code": "OK", "message_id": "M1"})
            self._answer(status, answer)
        elif url.path == "/cgi-bin/message/send":
            if q.get("access_token") not in Provider.valid:
                self._answer(200, {"errcode": 42001, "errmsg": "access_token expired"})
            elif Provider.wecom_script:
                self._answer(200, Provider.wecom_script.pop(0))
            else:
                self._answer(200, {"errcode": 0, "errmsg": "ok", "msgid": "W1"})
        else:
            self._answer(404, {})


@pytest.fixture
def provider() -> Iterator[str]:
    Provider.reset()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_sms_sends_the_provider_shape(provider: str) -> None:
    result = SmsHttpAdapter(provider, "k3y").send(SMS)
    assert result == SendResult("sent", provider_id="M1")
    ((path, headers, body),) = Provider.calls
    assert path == "/v1/sms/send" and headers["Authorization"] == "Bearer k3y"
    assert body == {"phone": PHONE, "content": SMS.body, "sign_name": "守护", "client_ref": "j7:s3"}


def test_sms_answers_map_to_retry_or_failed(provider: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sms = SmsHttpAdapter(provider, "k3y", sign_name="守护保险")
    Provider.script = [(500, {}), (429, {"code": "THROTTLED"}),
                       (200, {"code": "BLACKLIST", "message": f"{PHONE} is blacklisted"}),
                       (400, {"code": "BAD_PHONE", "message": f"bad phone {PHONE}"}),
                       (200, {"code": f"ERR {PHONE}", "message": "x"})]
    results = [sms.send(SMS) for _ in range(5)]
    assert [r.status for r in results] == ["retry", "retry", "failed", "failed", "failed"]
    assert "BLACKLIST" in (results[2].error or "") and "400" in (results[3].error or "")
    assert Provider.calls[0][2]["sign_name"] == "守护保险"
    results.append(SmsHttpAdapter(provider, "wrong").send(SMS))
    results.append(SmsHttpAdapter(f"http://127.0.0.1:{free_port()}", "k3y", timeout=2).send(SMS))
    assert [r.status for r in results[-2:]] == ["failed", "retry"]
    assert "j7:s3" in caplog.text
    assert_clean(results, caplog, PHONE, SMS.body, "退订")


def test_wecom_sends_the_application_message_shape(provider: str) -> None:
    assert WeComAdapter("corp", "s3cret", 1000002, base_url=provider).send(WECOM) == SendResult("sent", "W1")
    (_, token_query, _), (path, query, body) = Provider.calls
    assert token_query == {"corpid": "corp", "corpsecret": "s3cret"}
    assert path == "/cgi-bin/message/send" and query["access_token"] == "T1"
    assert body == {"touser": "zhangsan", "msgtype": "text", "agentid": 1000002,
                    "text": {"content": "续期提醒\n您的保单即将到期"}, "enable_duplicate_check": 1,
                    "duplicate_check_interval": 1800}


def test_wecom_caches_its_token_and_refreshes_it_once_when_expired(provider: str) -> None:
    wecom = WeComAdapter("corp", "s3cret", 1000002, base_url=provider)
    assert [wecom.send(WECOM).status for _ in range(3)] == ["sent"] * 3
    assert Provider.tokens == 1  # cached
    Provider.valid.clear()  # the token expired on WeCom's side
    assert wecom.send(WECOM).status == "sent" and Provider.tokens == 2
    sends = [q["access_token"] for p, q, _ in Provider.calls if p == "/cgi-bin/message/send"]
    assert sends == ["T1", "T1", "T1", "T1", "T2"]  # the refused one, then the same message with the new token
    assert wecom.send(WECOM).status == "sent" and Provider.tokens == 2


def test_wecom_errors(provider: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wecom = WeComAdapter("corp", "s3cret", 1000002, base_url=provider)
    Provider.wecom_script = [{"errcode": -1, "errmsg": "system busy"},
                             {"errcode": 81013, "errmsg": "user zhangsan invalid"},
                             {"errcode": 0, "errmsg": "ok", "invaliduser": "zhangsan", "msgid": ""}]
    results = [wecom.send(WECOM) for _ in range(3)]
    assert [r.status for r in results] == ["retry", "failed", "failed"]
    assert "81013" in (results[1].error or "")
    bad_secret = WeComAdapter("corp", "nope", 1, base_url=provider).send(WECOM)
    assert bad_secret.status == "failed" and "40001" in (bad_secret.error or "")
    down = WeComAdapter("corp", "s3cret", 1, base_url=f"http://127.0.0.1:{free_port()}", timeout=2).send(WECOM)
    assert down.status == "retry"
    assert_clean([*results, bad_secret, down], caplog, "zhangsan", WECOM.body, "s3cret", "nope")


def test_wecom_gives_up_after_one_refresh(provider: str) -> None:
    Provider.wecom_script = [{"errcode": 42001}, {"errcode": 42001}]
    result = WeComAdapter("corp", "s3cret", 1, base_url=provider).send(WECOM)
    assert result.status == "failed" and "42001" in (result.error or "") and Provider.tokens == 2


# --- recording adapter and configuration ---------------------------------------------------------------

def test_the_recording_adapter_keeps_messages_and_fails_on_request() -> None:
    rec = RecordingAdapter("sms")
    rec.fail_next(2)
    assert [rec.send(SMS).status for _ in range(3)] == ["retry", "retry", "sent"]
    assert rec.sent == [SMS] and rec.channel == "sms"
    assert PHONE not in repr(rec) and SMS.body not in repr(rec)


FULL = {"SHOUHU_SMTP_HOST": "mail", "SHOUHU_SMTP_PORT": "587", "SHOUHU_SMTP_SENDER": "a@b",
        "SHOUHU_SMTP_USERNAME": "u", "SHOUHU_SMTP_PASSWORD": "pw", "SHOUHU_SMTP_STARTTLS": "true",
        "SHOUHU_SMS_URL": "http://s", "SHOUHU_SMS_API_KEY": "k3y", "SHOUHU_SMS_SIGN": "守护保险",
        "SHOUHU_WECOM_CORP_ID": "c", "SHOUHU_WECOM_SECRET": "s", "SHOUHU_WECOM_AGENT_ID": "7",
        "SHOUHU_WECOM_URL": "http://w"}


def test_adapters_from_a_full_environment() -> None:
    got = adapters_from_env(FULL | {"PATH": "/bin"})
    assert sorted(got) == ["email", "sms", "wecom"] and all(a.channel == ch for ch, a in got.items())
    assert got["email"] == SmtpAdapter("mail", 587, "a@b", "u", "pw", starttls=True)
    assert got["sms"] == SmsHttpAdapter("http://s", "k3y", "守护保险")
    assert got["wecom"] == WeComAdapter("c", "s", 7, base_url="http://w")
    assert "k3y" not in repr(got["sms"]) and "pw" not in repr(got["email"])


def test_adapters_from_a_minimal_or_empty_environment() -> None:
    assert adapters_from_env({}) == {}
    assert adapters_from_env({"SHOUHU_SMTP_HOST": "", "HOME": "/root"}) == {}
    got = adapters_from_env({"SHOUHU_SMTP_HOST": "mail", "SHOUHU_SMTP_SENDER": "a@b",
                             "SHOUHU_SMS_URL": "http://s", "SHOUHU_SMS_API_KEY": "k"})
    assert sorted(got) == ["email", "sms"]
    assert got["email"] == SmtpAdapter("mail", 25, "a@b") and got["sms"] == SmsHttpAdapter("http://s", "k", "守护")


@pytest.mark.parametrize(("env", "missing"), [
    ({"SHOUHU_SMTP_HOST": "mail"}, "SHOUHU_SMTP_SENDER"),
    ({"SHOUHU_SMTP_PORT": "25"}, "SHOUHU_SMTP_HOST"),
    ({"SHOUHU_SMS_URL": "http://s"}, "SHOUHU_SMS_API_KEY"),
    ({"SHOUHU_WECOM_CORP_ID": "c", "SHOUHU_WECOM_SECRET": "s"}, "SHOUHU_WECOM_AGENT_ID"),
    ({"SHOUHU_SMTP_HOST": "mail", "SHOUHU_SMTP_SENDER": "a@b", "SHOUHU_SMTP_USERNAME": "u"}, "SHOUHU_SMTP_PASSWORD"),
    ({"SHOUHU_SMTP_HOST": "mail", "SHOUHU_SMTP_SENDER": "a@b", "SHOUHU_SMTP_PORT": "smtp"}, "SHOUHU_SMTP_PORT"),
    ({"SHOUHU_SMTP_HOST": "mail", "SHOUHU_SMTP_SENDER": "a@b", "SHOUHU_SMTP_STARTTLS": "ture"},
     "SHOUHU_SMTP_STARTTLS"),
])
def test_a_partial_configuration_names_what_is_missing(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        adapters_from_env(env)
