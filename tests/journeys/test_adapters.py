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

from shouhu.journeys.adapters import Message, SmsHttpAdapter, SmtpAdapter, WeComAdapter, adapters_from_env, message_id

PHONE = "13912345678"
MAIL = Message("j7:s2", "C1", "email", "zhang@example.com", "保费提醒", "张*您好，您的保费将于2026-12-20到期。")
SMS = Message("j7:s3", "C1", "sms", PHONE, "", "张*您好，保费将于2026-12-20到期。回复TD退订")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    def __init__(self, refuse: bool = False) -> None:
        self.envelopes: list[Any] = []
        self.refuse = refuse

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def test_smtp_delivers_chinese_mail_with_a_stable_message_id(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    result = SmtpAdapter("127.0.0.1", port, "care@shouhu.example").send(MAIL)
    assert result.status == "sent" and result.provider_id == "<j7.s2@shouhu>" == message_id("j7:s2")
    (env,) = handler.envelopes
    assert env.rcpt_tos == ["zhang@example.com"]
    mail = email.message_from_bytes(env.content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == "保费提醒" and mail["Message-ID"] == "<j7.s2@shouhu>"
    assert mail["X-Shouhu-Idempotency-Key"] == "j7:s2"
    assert mail.get_content().strip() == MAIL.body


def test_smtp_down_is_retried_and_a_refused_recipient_is_not() -> None:
    assert SmtpAdapter("127.0.0.1", free_port(), "care@shouhu.example", timeout=2).send(MAIL).status == "retry"
    handler = Recorder(refuse=True)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        result = SmtpAdapter("127.0.0.1", controller.port, "care@shouhu.example").send(MAIL)
    finally:
        controller.stop()
    assert result.status == "failed" and "550" in (result.error or "") and "zhang" not in (result.error or "")


class Provider(BaseHTTPRequestHandler):
    """The SMS provider and WeCom API shapes, with scripted answers."""

    calls: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []
    script: ClassVar[list[tuple[int, dict[str, Any]]]] = []
    tokens = 0
    expire_once = False

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
        if url.path == "/cgi-bin/gettoken":
            q = parse_qs(url.query)
            if q.get("corpsecret") != ["s3cret"]:
                self._answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
                return
            Provider.tokens += 1
            self._answer(200, {"errcode": 0, "access_token": f"T{Provider.tokens}", "expires_in": 7200})

    def do_POST(self) -> None:
        url = urlparse(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Provider.calls.append((url.path, self.headers.get("Authorization", "") + url.query, body))
        if url.path == "/v1/sms/send":
            if self.headers.get("Authorization") != "Bearer k3y":
                self._answer(401, {"code": "AUTH", "message": "bad key"})
                return
            status, answer = Provider.script.pop(0) if Provider.script else (200, {"code": "OK", "message_id": "M1"})
            self._answer(status, answer)
        elif url.path == "/cgi-bin/message/send":
            if Provider.expire_once:
                Provider.expire_once = False
                self._answer(200, {"errcode": 42001, "errmsg": "access_token expired"})
                return
            self._answer(200, {"errcode": 0, "errmsg": "ok", "msgid": "W1"})


@pytest.fixture
def provider() -> Iterator[str]:
    Provider.calls, Provider.script, Provider.tokens, Provider.expire_once = [], [], 0, False
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_sms_provider_shape_and_answers(provider: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sms = SmsHttpAdapter(provider, "k3y")
    assert sms.send(SMS).status == "sent"
    path, _, body = Provider.calls[0]
    assert path == "/v1/sms/send" and body == {"phone": PHONE, "content": SMS.body, "sign_name": "守护",
                                               "client_ref": "j7:s3"}
    Provider.script = [(500, {}), (429, {}), (200, {"code": "BLACKLIST", "message": "x"}), (400, {"code": "BAD"})]
    results = [sms.send(SMS) for _ in range(4)]
    assert [r.status for r in results] == ["retry", "retry", "failed", "failed"]
    assert SmsHttpAdapter(provider, "wrong").send(SMS).status == "failed"
    assert SmsHttpAdapter(f"http://127.0.0.1:{free_port()}", "k3y", timeout=2).send(SMS).status == "retry"
    for r in results:
        assert PHONE not in (r.error or "") and "保费" not in (r.error or "")
    assert PHONE not in caplog.text and "保费" not in caplog.text and "j7:s3" in caplog.text


def test_wecom_caches_its_token_and_refreshes_it_once_when_expired(provider: str) -> None:
    wecom = WeComAdapter("corp", "s3cret", 1000002, base_url=provider)
    msg = Message("j8:s1", "C1", "wecom", "zhangsan", "续期提醒", "您的保单即将到期")
    assert wecom.send(msg).status == "sent" and wecom.send(msg).status == "sent"
    assert Provider.tokens == 1  # cached
    Provider.expire_once = True
    assert wecom.send(msg).status == "sent" and Provider.tokens == 2
    sent = [b for p, _, b in Provider.calls if p == "/cgi-bin/message/send"]
    assert sent[0] == {"touser": "zhangsan", "msgtype": "text", "agentid": 1000002,
                       "text": {"content": "续期提醒\n您的保单即将到期"}, "enable_duplicate_check": 1,
                       "duplicate_check_interval": 1800}
    bad = WeComAdapter("corp", "nope", 1, base_url=provider).send(msg)
    assert bad.status == "failed" and "40001" in (bad.error or "")


def test_adapters_from_the_environment() -> None:
    assert adapters_from_env({}) == {}
    got = adapters_from_env({"SHOUHU_SMTP_HOST": "mail", "SHOUHU_SMTP_SENDER": "a@b", "SHOUHU_SMS_URL": "http://s",
                             "SHOUHU_SMS_API_KEY": "k", "SHOUHU_WECOM_CORP_ID": "c", "SHOUHU_WECOM_SECRET": "s",
                             "SHOUHU_WECOM_AGENT_ID": "7"})
    assert sorted(got) == ["email", "sms", "wecom"]
    assert isinstance(got["email"], SmtpAdapter) and got["email"].port == 25
    with pytest.raises(ValueError, match="SHOUHU_SMTP_SENDER must be set"):
        adapters_from_env({"SHOUHU_SMTP_HOST": "mail"})
    assert "k3y" not in repr(SmsHttpAdapter("http://s", "k3y"))
