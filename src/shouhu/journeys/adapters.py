"""Outbound channel adapters behind one interface: ``send(Message) -> SendResult``.

- ``SmtpAdapter``: e-mail over SMTP (smtplib). The ``Message-ID`` is derived from the idempotency key,
  so a message re-sent after a crash carries the same id and can be dropped downstream.
- ``SmsHttpAdapter``: a generic SMS provider HTTP API, the shape most Chinese providers offer::

      POST {base_url}/v1/sms/send      Authorization: Bearer {api_key}
      {"phone": "...", "content": "...", "sign_name": "守护", "client_ref": "<idempotency key>"}
      → 200 {"code": "OK", "message_id": "..."}   or   {"code": "<ERR>", "message": "..."}

  A provider that de-duplicates on ``client_ref`` turns a re-send into a no-op.
- ``WeComAdapter``: WeCom (企业微信) application messages: ``GET /cgi-bin/gettoken`` (cached until it
  expires) and ``POST /cgi-bin/message/send`` with ``enable_duplicate_check``.
- ``RecordingAdapter``: keeps what it was given (demos and tests).

Results: ``sent``; ``retry`` (temporary: network, 5xx, 429, SMTP 4xx, WeCom busy); ``failed``
(permanent). Errors never carry the address or the text, and nothing here logs them.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    idempotency_key: str
    customer_id: str
    channel: str
    to: str = field(repr=False)
    subject: str = field(repr=False)
    body: str = field(repr=False)
    kind: str = "service"


@dataclass(frozen=True)
class SendResult:
    status: str  # sent | retry | failed
    provider_id: str | None = None
    error: str | None = None


class Adapter(Protocol):
    channel: str

    def send(self, message: Message) -> SendResult: ...


def _done(channel: str, message: Message, result: SendResult) -> SendResult:
    log.info("%s message %s: %s", channel, message.idempotency_key, result.status)
    return result


def message_id(key: str) -> str:
    return f"<{re.sub(r'[^A-Za-z0-9.-]', '.', key)}@shouhu>"


@dataclass
class SmtpAdapter:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 10.0
    channel: str = "email"

    def send(self, message: Message) -> SendResult:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.to, message.subject
        mail["Message-ID"] = message_id(message.idempotency_key)
        mail["X-Shouhu-Idempotency-Key"] = message.idempotency_key
        mail.set_content(message.body, charset="utf-8")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            status = "retry" if all(400 <= c < 500 for c in codes) else "failed"
            refused = ", ".join(map(str, codes))
            return _done("email", message, SendResult(status, error=f"recipient refused ({refused})"))
        except smtplib.SMTPResponseException as e:
            status = "retry" if 400 <= e.smtp_code < 500 else "failed"
            return _done("email", message, SendResult(status, error=f"SMTP {e.smtp_code}"))
        except (OSError, smtplib.SMTPException) as e:
            return _done("email", message, SendResult("retry", error=f"SMTP server unreachable: {type(e).__name__}"))
        return _done("email", message, SendResult("sent", provider_id=mail["Message-ID"]))


def _http(method: str, url: str, body: Mapping[str, Any] | None, headers: Mapping[str, str],
          timeout: float) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            payload = json.loads(e.read() or b"{}")
        except ValueError:
            payload = {}
        return e.code, payload


@dataclass
class SmsHttpAdapter:
    base_url: str
    api_key: str = field(repr=False)
    sign_name: str = "守护"
    timeout: float = 10.0
    channel: str = "sms"

    def send(self, message: Message) -> SendResult:
        try:
            status, payload = _http("POST", f"{self.base_url.rstrip('/')}/v1/sms/send",
                                    {"phone": message.to, "content": message.body, "sign_name": self.sign_name,
                                     "client_ref": message.idempotency_key},
                                    {"Authorization": f"Bearer {self.api_key}"}, self.timeout)
        except (OSError, ValueError) as e:
            return _done("sms", message, SendResult("retry", error=f"SMS provider unreachable: {type(e).__name__}"))
        code = str(payload.get("code", "")) if isinstance(payload, dict) else ""
        if status >= 500 or status == 429:
            return _done("sms", message, SendResult("retry", error=f"SMS provider HTTP {status}"))
        if status >= 400 or code != "OK":
            return _done("sms", message, SendResult("failed", error=f"SMS provider HTTP {status} code {code or '-'}"))
        return _done("sms", message, SendResult("sent", provider_id=str(payload.get("message_id") or "")))


@dataclass
class WeComAdapter:
    corp_id: str
    secret: str = field(repr=False)
    agent_id: int = 0
    base_url: str = "https://qyapi.weixin.qq.com"
    timeout: float = 10.0
    channel: str = "wecom"
    _token: tuple[str, float] | None = field(default=None, repr=False)

    def _access_token(self, fresh: bool = False) -> str:
        if not fresh and self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        query = urllib.parse.urlencode({"corpid": self.corp_id, "corpsecret": self.secret})
        _, payload = _http("GET", f"{self.base_url.rstrip('/')}/cgi-bin/gettoken?{query}", None, {}, self.timeout)
        if not isinstance(payload, dict) or payload.get("errcode") != 0:
            code = payload.get("errcode") if isinstance(payload, dict) else "-"
            raise PermissionError(f"WeCom gettoken errcode {code}")
        self._token = (str(payload["access_token"]), time.monotonic() + int(payload.get("expires_in", 7200)) - 60)
        return self._token[0]

    def send(self, message: Message) -> SendResult:
        body = {"touser": message.to, "msgtype": "text", "agentid": self.agent_id,
                "text": {"content": f"{message.subject}\n{message.body}" if message.subject else message.body},
                "enable_duplicate_check": 1, "duplicate_check_interval": 1800}
        try:
            for attempt in range(2):
                token = self._access_token(fresh=attempt > 0)
                url = f"{self.base_url.rstrip('/')}/cgi-bin/message/send?access_token={urllib.parse.quote(token)}"
                status, payload = _http("POST", url, body, {}, self.timeout)
                errcode = payload.get("errcode") if isinstance(payload, dict) else None
                if errcode in (40014, 42001) and attempt == 0:
                    continue  # the token expired or was revoked: fetch a new one once
                break
        except PermissionError as e:
            return _done("wecom", message, SendResult("failed", error=str(e)))
        except (OSError, ValueError) as e:
            return _done("wecom", message, SendResult("retry", error=f"WeCom unreachable: {type(e).__name__}"))
        if status >= 500 or errcode == -1:
            return _done("wecom", message, SendResult("retry", error=f"WeCom busy (HTTP {status}, errcode {errcode})"))
        if errcode != 0:
            return _done("wecom", message, SendResult("failed", error=f"WeCom errcode {errcode}"))
        return _done("wecom", message, SendResult("sent", provider_id=str(payload.get("msgid") or "")))


@dataclass
class RecordingAdapter:
    channel: str
    sent: list[Message] = field(default_factory=list)
    _fail: int = 0

    def fail_next(self, n: int) -> None:
        """The next ``n`` sends answer ``retry``."""
        self._fail = n

    def send(self, message: Message) -> SendResult:
        if self._fail > 0:
            self._fail -= 1
            return SendResult("retry", error="recording adapter told to fail")
        self.sent.append(message)
        return SendResult("sent", provider_id=f"rec-{len(self.sent)}")


def adapters_from_env(environ: Mapping[str, str]) -> dict[str, Adapter]:
    """The adapters configured by ``SHOUHU_SMTP_*``, ``SHOUHU_SMS_*`` and ``SHOUHU_WECOM_*``; a channel with
    none of its variables is absent; one with some but not all is a configuration error."""
    out: dict[str, Adapter] = {}

    def need(prefix: str, names: tuple[str, ...]) -> dict[str, str] | None:
        given = {n: environ.get(f"{prefix}{n}", "") for n in names}
        if not any(environ.get(k) for k in environ if k.startswith(prefix)):
            return None
        missing = [f"{prefix}{n}" for n, v in given.items() if not v]
        if missing:
            raise ValueError(f"{', '.join(missing)} must be set too (the channel is half configured)")
        return given

    smtp = need("SHOUHU_SMTP_", ("HOST", "SENDER"))
    if smtp is not None:
        out["email"] = SmtpAdapter(smtp["HOST"], int(environ.get("SHOUHU_SMTP_PORT", "25")), smtp["SENDER"],
                                   environ.get("SHOUHU_SMTP_USERNAME") or None,
                                   environ.get("SHOUHU_SMTP_PASSWORD") or None,
                                   environ.get("SHOUHU_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"))
    sms = need("SHOUHU_SMS_", ("URL", "API_KEY"))
    if sms is not None:
        out["sms"] = SmsHttpAdapter(sms["URL"], sms["API_KEY"], environ.get("SHOUHU_SMS_SIGN") or "守护")
    wecom = need("SHOUHU_WECOM_", ("CORP_ID", "SECRET", "AGENT_ID"))
    if wecom is not None:
        out["wecom"] = WeComAdapter(wecom["CORP_ID"], wecom["SECRET"], int(wecom["AGENT_ID"]),
                                    environ.get("SHOUHU_WECOM_URL") or "https://qyapi.weixin.qq.com")
    return out
