"""Outbound channel adapters behind one interface: ``send(Message) -> SendResult``.

- ``SmtpAdapter``: e-mail over SMTP (smtplib), UTF-8. The ``Message-ID`` is derived from the idempotency
  key (``message_id``), so a message re-sent after a crash carries the same id and can be dropped downstream;
  the key itself travels in ``X-Shouhu-Idempotency-Key``.
- ``SmsHttpAdapter``: a generic SMS provider HTTP API, the shape most Chinese providers offer::

      POST {base_url}/v1/sms/send            Authorization: Bearer {api_key}
      {"phone": "139...", "content": "...", "sign_name": "守护", "client_ref": "<idempotency key>"}
      → 200 {"code": "OK", "message_id": "..."}
      → 4xx/5xx or 200 {"code": "<ERR>", "message": "..."}

  A provider that de-duplicates on ``client_ref`` turns a re-send into a no-op.
- ``WeComAdapter``: WeCom (企业微信) application messages: ``GET /cgi-bin/gettoken`` (token cached until it
  expires, refreshed once when a send answers 40014/42001) and ``POST /cgi-bin/message/send`` with
  ``enable_duplicate_check`` (WeCom drops a repeat of the same text to the same user within 30 minutes).
- ``RecordingAdapter``: keeps what it was given (demos and tests); can fail the next N sends.
- ``adapters_from_env``: the adapters configured by ``SHOUHU_SMTP_*``, ``SHOUHU_SMS_*``, ``SHOUHU_WECOM_*``.

Results: ``sent``; ``retry``: temporary (network, timeout, HTTP 5xx or 429, SMTP 4xx, WeCom busy), send again
later with the same key; ``failed``: permanent (refused recipient, HTTP 4xx, provider error code).
``SendResult.error`` is built from status codes only, never from the provider's free text, so it never
carries the address or the text. The log gets the channel, the idempotency key and the status, nothing else.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any, Protocol

from shouhu.errors import ConfigError

log = logging.getLogger(__name__)

# What a failed HTTP exchange can raise: URLError, timeouts and resets are OSError; a broken answer is an
# http.client.HTTPException; a body that is not JSON (or not UTF-8) is a ValueError.
_TRANSIENT = (OSError, http.client.HTTPException, ValueError)


@dataclass(frozen=True)
class Message:
    idempotency_key: str  # unique per send, e.g. "j12:s3"; the same key is re-sent after a crash
    customer_id: str
    channel: str  # "email" | "sms" | "wecom"
    to: str = field(repr=False)  # e-mail, mainland mobile or WeCom userid: never logged, never in errors
    subject: str = field(repr=False)
    body: str = field(repr=False)
    kind: str = "service"  # "marketing" | "service" | "transactional"


@dataclass(frozen=True)
class SendResult:
    status: str  # "sent" | "retry" (temporary, try again later) | "failed" (permanent)
    provider_id: str | None = None
    error: str | None = None  # safe to store and show: no address, no text


class Adapter(Protocol):
    channel: str

    def send(self, message: Message) -> SendResult: ...


def _done(message: Message, result: SendResult) -> SendResult:
    """Log the outcome (channel, key, status only) and make sure the error cannot leak the address."""
    if result.error and message.to and message.to in result.error:
        result = replace(result, error=result.error.replace(message.to, "[address]"))
    log.info("%s message %s: %s", message.channel, message.idempotency_key, result.status)
    return result


def _code(value: Any) -> str:
    """A provider's error code, if it looks like one (providers sometimes put text in it)."""
    text = str(value)
    return text if re.fullmatch(r"-?[A-Za-z0-9_.]{1,40}", text) else "?"


def message_id(key: str) -> str:
    """The Message-ID for an idempotency key: letters, digits, ``-`` and ``_`` kept, every other character
    written as ``=XX`` (its UTF-8 bytes), so two different keys never share an id (``j7:s2`` →
    ``<j7=3As2@shouhu>``)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", lambda m: "".join(f"={b:02X}" for b in m.group().encode()), key)
    return f"<{safe}@shouhu>"


@dataclass
class SmtpAdapter:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 10.0
    channel: str = field(default="email", init=False)

    def _mail(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Message-ID"] = message_id(message.idempotency_key)
        mail["X-Shouhu-Idempotency-Key"] = message.idempotency_key
        mail.set_content(message.body, charset="utf-8", cte="base64")  # survives servers without 8BITMIME
        return mail

    def send(self, message: Message) -> SendResult:
        try:
            mail = self._mail(message)
        except (ValueError, TypeError):  # a line break in the address or subject: never send it
            return _done(message, SendResult("failed", error="invalid address or subject"))
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
            finally:
                _quit(smtp)  # a QUIT that fails after the message was accepted must not turn it into a retry
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            status = "retry" if codes and all(400 <= c < 500 for c in codes) else "failed"
            refused = ", ".join(map(str, codes))
            return _done(message, SendResult(status, error=f"SMTP recipient refused ({refused})"))
        except smtplib.SMTPResponseException as e:  # sender refused, data refused, auth, bad greeting
            status = "retry" if 400 <= e.smtp_code < 500 else "failed"
            return _done(message, SendResult(status, error=f"SMTP {e.smtp_code}"))
        except smtplib.SMTPNotSupportedError:  # e.g. a non-ASCII address and no SMTPUTF8
            return _done(message, SendResult("failed", error="SMTP server does not support this message"))
        except (OSError, smtplib.SMTPException) as e:
            return _done(message, SendResult("retry", error=f"SMTP server unreachable: {type(e).__name__}"))
        return _done(message, SendResult("sent", provider_id=mail["Message-ID"]))


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _http(method: str, url: str, body: Mapping[str, Any] | None, headers: Mapping[str, str],
          timeout: float) -> tuple[int, Any]:
    """(HTTP status, decoded JSON answer); an HTTP error status is an answer, not an exception."""
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status), json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as e:
        with e:
            try:
                payload = json.loads(e.read() or b"{}")
            except _TRANSIENT:
                payload = {}
        return e.code, payload


@dataclass
class SmsHttpAdapter:
    base_url: str
    api_key: str = field(repr=False)
    sign_name: str = "守护"
    timeout: float = 10.0
    channel: str = field(default="sms", init=False)

    def send(self, message: Message) -> SendResult:
        request = {"phone": message.to, "content": message.body, "sign_name": self.sign_name,
                   "client_ref": message.idempotency_key}
        try:
            status, payload = _http("POST", f"{self.base_url.rstrip('/')}/v1/sms/send", request,
                                    {"Authorization": f"Bearer {self.api_key}"}, self.timeout)
        except _TRANSIENT as e:
            return _done(message, SendResult("retry", error=f"SMS provider unreachable: {type(e).__name__}"))
        answer = payload if isinstance(payload, dict) else {}
        code = _code(answer.get("code", "-"))
        if status >= 500 or status == 429:
            return _done(message, SendResult("retry", error=f"SMS provider HTTP {status}"))
        if status >= 400 or answer.get("code") != "OK":
            return _done(message, SendResult("failed", error=f"SMS provider HTTP {status} code {code}"))
        return _done(message, SendResult("sent", provider_id=str(answer["message_id"])
                                         if answer.get("message_id") else None))


class _WeComDown(Exception):
    """gettoken failed for a reason that may pass (busy, 5xx, network)."""


class _WeComRefused(Exception):
    """gettoken refused the credentials: fix the configuration."""


@dataclass
class WeComAdapter:
    corp_id: str
    secret: str = field(repr=False)
    agent_id: int
    base_url: str = "https://qyapi.weixin.qq.com"
    timeout: float = 10.0
    channel: str = field(default="wecom", init=False)
    _token: tuple[str, float] | None = field(default=None, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def _access_token(self, fresh: bool = False) -> str:
        with self._lock:
            if not fresh and self._token is not None and self._token[1] > time.monotonic():
                return self._token[0]
            query = urllib.parse.urlencode({"corpid": self.corp_id, "corpsecret": self.secret})
            try:
                status, payload = _http("GET", f"{self.base_url.rstrip('/')}/cgi-bin/gettoken?{query}", None, {},
                                        self.timeout)
            except _TRANSIENT as e:  # never str(e): the URL holds the secret
                raise _WeComDown(f"WeCom unreachable: {type(e).__name__}") from None
            answer = payload if isinstance(payload, dict) else {}
            errcode = answer.get("errcode")
            if status >= 500 or status == 429 or errcode == -1:
                raise _WeComDown(f"WeCom gettoken busy (HTTP {status}, errcode {_code(errcode)})")
            if errcode != 0 or not answer.get("access_token"):
                raise _WeComRefused(f"WeCom gettoken errcode {_code(errcode)} (HTTP {status})")
            try:
                lifetime = int(answer.get("expires_in", 7200))
            except (TypeError, ValueError):
                lifetime = 7200
            self._token = (str(answer["access_token"]), time.monotonic() + lifetime - 60)  # renew a bit early
            return self._token[0]

    def send(self, message: Message) -> SendResult:
        text = f"{message.subject}\n{message.body}" if message.subject else message.body
        request = {"touser": message.to, "msgtype": "text", "agentid": self.agent_id, "text": {"content": text},
                   "enable_duplicate_check": 1, "duplicate_check_interval": 1800}
        try:
            for attempt in range(2):
                token = self._access_token(fresh=attempt > 0)
                url = f"{self.base_url.rstrip('/')}/cgi-bin/message/send?access_token={urllib.parse.quote(token)}"
                status, payload = _http("POST", url, request, {}, self.timeout)
                answer = payload if isinstance(payload, dict) else {}
                errcode = answer.get("errcode")
                if errcode not in (40014, 42001):  # invalid or expired token: fetch a new one, once
                    break
        except _WeComRefused as e:
            return _done(message, SendResult("failed", error=str(e)))
        except _WeComDown as e:
            return _done(message, SendResult("retry", error=str(e)))
        except _TRANSIENT as e:
            return _done(message, SendResult("retry", error=f"WeCom unreachable: {type(e).__name__}"))
        if status >= 500 or status == 429 or errcode == -1:
            return _done(message, SendResult("retry", error=f"WeCom busy (HTTP {status}, errcode {_code(errcode)})"))
        if errcode != 0:
            return _done(message, SendResult("failed", error=f"WeCom errcode {_code(errcode)} (HTTP {status})"))
        if answer.get("invaliduser") or answer.get("unlicenseduser"):  # accepted, but not for this user
            return _done(message, SendResult("failed", error="WeCom recipient invalid or not licensed"))
        return _done(message, SendResult("sent", provider_id=str(answer["msgid"]) if answer.get("msgid") else None))


@dataclass
class RecordingAdapter:
    channel: str
    sent: list[Message] = field(default_factory=list, init=False)
    _fail: int = field(default=0, init=False, repr=False)

    def fail_next(self, n: int) -> None:
        """The next ``n`` sends answer ``retry`` (and are not recorded)."""
        if n < 0:
            raise ValueError("fail_next needs n >= 0")
        self._fail = n

    def send(self, message: Message) -> SendResult:
        if self._fail > 0:
            self._fail -= 1
            return _done(message, SendResult("retry", error="recording adapter told to fail"))
        self.sent.append(message)
        return _done(message, SendResult("sent", provider_id=f"rec-{len(self.sent)}"))


_SMTP = ("SHOUHU_SMTP_HOST", "SHOUHU_SMTP_PORT", "SHOUHU_SMTP_SENDER", "SHOUHU_SMTP_USERNAME",
         "SHOUHU_SMTP_PASSWORD", "SHOUHU_SMTP_STARTTLS")
_SMS = ("SHOUHU_SMS_URL", "SHOUHU_SMS_API_KEY", "SHOUHU_SMS_SIGN")
_WECOM = ("SHOUHU_WECOM_CORP_ID", "SHOUHU_WECOM_SECRET", "SHOUHU_WECOM_AGENT_ID", "SHOUHU_WECOM_URL")
_YES, _NO = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _section(environ: Mapping[str, str], channel: str, names: tuple[str, ...], required: tuple[str, ...]
             ) -> dict[str, str] | None:
    """The channel's variables; None when none is set; ConfigError when a required one is missing."""
    given = {n: environ.get(n, "").strip() for n in names}
    if not any(given.values()):
        return None
    missing = [n for n in required if not given[n]]
    if missing:
        raise ConfigError(f"{', '.join(missing)} must be set too: the {channel} channel is only partly "
                          "configured (渠道配置不完整)", variable=missing[0])
    return given


def _int(given: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = given[name] or str(default)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {text!r}", variable=name)
    return int(text)


def adapters_from_env(environ: Mapping[str, str]) -> dict[str, Adapter]:
    """The adapters configured in ``environ`` (pass ``os.environ``), by channel.

    e-mail: SHOUHU_SMTP_HOST and SHOUHU_SMTP_SENDER (required), SHOUHU_SMTP_PORT (25), SHOUHU_SMTP_USERNAME
    with SHOUHU_SMTP_PASSWORD, SHOUHU_SMTP_STARTTLS (1/true/yes/on or 0/false/no/off);
    sms: SHOUHU_SMS_URL and SHOUHU_SMS_API_KEY (required), SHOUHU_SMS_SIGN (守护);
    wecom: SHOUHU_WECOM_CORP_ID, SHOUHU_WECOM_SECRET, SHOUHU_WECOM_AGENT_ID (required), SHOUHU_WECOM_URL.
    A channel with none of its variables set is absent; one with some but not all required is a ConfigError
    (a ValueError) naming what is missing.
    """
    out: dict[str, Adapter] = {}
    smtp = _section(environ, "email", _SMTP, ("SHOUHU_SMTP_HOST", "SHOUHU_SMTP_SENDER"))
    if smtp is not None:
        if bool(smtp["SHOUHU_SMTP_USERNAME"]) != bool(smtp["SHOUHU_SMTP_PASSWORD"]):
            raise ConfigError("SHOUHU_SMTP_USERNAME and SHOUHU_SMTP_PASSWORD must be set together",
                              variable="SHOUHU_SMTP_PASSWORD" if smtp["SHOUHU_SMTP_USERNAME"]
                              else "SHOUHU_SMTP_USERNAME")
        starttls = smtp["SHOUHU_SMTP_STARTTLS"].lower()
        if starttls not in _YES + _NO:
            raise ConfigError(f"SHOUHU_SMTP_STARTTLS must be one of {', '.join(_YES + _NO[1:])}, not {starttls!r}",
                              variable="SHOUHU_SMTP_STARTTLS")
        out["email"] = SmtpAdapter(smtp["SHOUHU_SMTP_HOST"], _int(smtp, "SHOUHU_SMTP_PORT", 25, 1, 65535),
                                   smtp["SHOUHU_SMTP_SENDER"], smtp["SHOUHU_SMTP_USERNAME"] or None,
                                   smtp["SHOUHU_SMTP_PASSWORD"] or None, starttls in _YES)
    sms = _section(environ, "sms", _SMS, ("SHOUHU_SMS_URL", "SHOUHU_SMS_API_KEY"))
    if sms is not None:
        out["sms"] = SmsHttpAdapter(sms["SHOUHU_SMS_URL"], sms["SHOUHU_SMS_API_KEY"], sms["SHOUHU_SMS_SIGN"] or "守护")
    wecom = _section(environ, "wecom", _WECOM, ("SHOUHU_WECOM_CORP_ID", "SHOUHU_WECOM_SECRET", "SHOUHU_WECOM_AGENT_ID"))
    if wecom is not None:
        out["wecom"] = WeComAdapter(wecom["SHOUHU_WECOM_CORP_ID"], wecom["SHOUHU_WECOM_SECRET"],
                                    _int(wecom, "SHOUHU_WECOM_AGENT_ID", 0, 0, 2**31 - 1),
                                    wecom["SHOUHU_WECOM_URL"] or "https://qyapi.weixin.qq.com")
    return out
