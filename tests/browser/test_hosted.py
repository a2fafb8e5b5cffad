"""The hosted sales page inside a partner's app, in real Chromium: a page on the partner's origin (a local
http.server on another port, registered as the partner's frame origin) embeds /hosted/{token} in an
iframe; on a phone-sized screen the customer reads, ticks and submits inside the frame, the policy is
issued via "hosted" and "back" returns the whole window to the partner. A page on an origin the partner
did not register cannot frame it: Chromium refuses (frame-ancestors) and the frame never shows the form.

The application runs as in tests/browser/conftest.py (uvicorn on a free loopback port), over a small
database of its own: these tests need no customer book."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from shouhu.partners import hosted, registry, sales
from shouhu.settings import Settings
from tests.browser.conftest import TIMEOUT_MS, shot
from tests.conftest import KEY

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ID_NUMBER, MOBILE = "110101199003074514", "13912345678"


class _PartnerPages(ThreadingHTTPServer):
    pages: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    server: _PartnerPages

    def do_GET(self) -> None:
        body = self.server.pages.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write((body or "not found").encode())

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@dataclass
class Shop:
    app_url: str
    engine: Engine
    caller: registry.Caller
    origins: dict[str, str]                       # "partner" | "stranger" -> origin
    servers: dict[str, _PartnerPages] = field(default_factory=dict)

    def link(self, order_no: str, **extra: Any) -> str:
        facts = {"seller_id": "S-889", "seller_orders_12m": 1200, "seller_returns_12m": 96, "category": "apparel",
                 "order_no": order_no, "order_value_fen": 15900, "delivered_on": date.today().isoformat()}
        made = hosted.create_link(self.engine, self.caller, product_code="RS01", customer_ref="u-1",
                                  partner_order_no=order_no, facts=facts, **extra)
        return self.app_url + str(made["url"])

    def embed(self, who: str, src: str) -> str:
        """A page on ``who``'s origin that frames ``src``; returns its URL."""
        path = f"/app/{uuid.uuid4().hex}"
        self.servers[who].pages[path] = (
            '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>某电商平台 · 退货运费险</title>'
            '<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">'
            '<body style="margin:0">'
            f'<iframe id="insurer" title="保险公司投保页" src="{src}"'
            ' style="border:0;display:block;width:100vw;height:100vh">'
            '</iframe></body></html>')
        self.servers[who].pages["/orders/done"] = ('<!doctype html><link rel="icon" href="data:,"><title>订单</title>'
                                                   '<p id="partner-order">订单详情</p>')
        return self.origins[who] + path


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _partner_server(host: str) -> tuple[_PartnerPages, str]:
    server = _PartnerPages(("127.0.0.1", 0), _Handler)
    server.pages = {}
    threading.Thread(target=server.serve_forever, name="partner-pages", daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


@pytest.fixture(scope="module")
def shop(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    import uvicorn

    from shouhu.web.app import create_app

    root = tmp_path_factory.mktemp("hosted")
    app = create_app(Settings(data_dir=root / "data", serving_url=f"sqlite:///{root / 'serving.sqlite'}",
                              encryption_key=KEY))
    engine = app.state.shouhu.engine
    sales.publish_disclosures(engine, "compliance")
    # the partner's app on "localhost" (another site than the insurer's 127.0.0.1: a third-party frame)
    partner, partner_origin = _partner_server("localhost")
    stranger, stranger_origin = _partner_server("127.0.0.1")
    registry.create_partner(engine, "shop-a", "某电商平台", "scene", product_codes=["RS01"], scenes=["ecommerce"],
                            frame_origins=[partner_origin])
    caller = registry.authenticate(engine, registry.issue_key(engine, "shop-a", "sandbox")["key"])
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the application did not start under uvicorn")
        time.sleep(0.05)
    try:
        yield Shop(f"http://127.0.0.1:{sock.getsockname()[1]}", engine, caller,
                   {"partner": partner_origin, "stranger": stranger_origin},
                   {"partner": partner, "stranger": stranger})
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        for s in (partner, stranger):
            s.shutdown()
            s.server_close()
        engine.dispose()


@pytest.fixture
def phone_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A phone-sized page in a fresh context, and the console messages and page errors it logs."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    logged: list[str] = []
    pg.on("console", lambda m: logged.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: logged.append(f"pageerror: {e}"))
    pg.on("response", lambda r: logged.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    try:
        yield pg, logged
    finally:
        context.close()


def _policies(engine: Engine, order_no: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            text("SELECT policy_no, via, status FROM partner_policy WHERE partner_order_no = :o"), {"o": order_no})]


def test_customer_applies_inside_the_partners_frame(shop: Shop, phone_page: tuple[Any, list[str]]) -> None:
    pg, logged = phone_page
    back = shop.origins["partner"] + "/orders/done"
    pg.goto(shop.embed("partner", shop.link("TB-FRAME-1", return_url=back)))
    frame = pg.frame_locator("#insurer")
    frame.locator("#hosted-premium").wait_for()
    assert frame.locator("#hosted-premium").inner_text().startswith("¥")
    assert frame.locator("html").get_attribute("lang") == "zh-CN"
    shot(pg, "hosted-in-partner-frame", full_page=False)  # the frame scrolls inside the partner's page
    for code in ("rs01_notice", "rs01_terms"):
        assert frame.locator(f"#page-{code} h2").is_visible()
        frame.get_by_label("我已阅读并理解以上内容").nth(0 if code == "rs01_notice" else 1).check()
    frame.get_by_label("姓名").fill("张三")
    frame.get_by_label("身份证号码").fill(ID_NUMBER)
    frame.get_by_label("手机号").fill(MOBILE)
    width = frame.locator("#hosted-submit").bounding_box()
    assert width is not None and width["width"] > 300  # a full-width button on a phone
    frame.locator("#hosted-submit").click()
    frame.locator("#hosted-done").wait_for()
    policy_no = frame.locator("#hosted-policy-no").inner_text()
    assert _policies(shop.engine, "TB-FRAME-1") == [(policy_no, "hosted", "in_force")]
    done = frame.locator("#hosted-done").inner_text()
    assert "投保成功" in done and ID_NUMBER not in done and MOBILE not in done
    shot(pg, "hosted-issued-in-partner-frame", full_page=False)
    frame.locator("#hosted-back").click()  # the whole window goes back to the partner's app
    pg.wait_for_url(back)
    assert pg.locator("#partner-order").is_visible()
    assert not [m for m in logged if m.startswith(("error", "pageerror", "HTTP"))], logged


def test_an_unregistered_origin_cannot_frame_it(shop: Shop, phone_page: tuple[Any, list[str]]) -> None:
    pg, logged = phone_page
    url = shop.link("TB-FRAME-2")
    with pg.expect_event("console", lambda m: "frame-ancestors" in m.text):
        pg.goto(shop.embed("stranger", url))
    pg.wait_for_load_state("load")
    frame = pg.locator("#insurer").element_handle().content_frame()
    assert frame is not None and not frame.url.startswith(shop.app_url)  # Chromium's error page, not ours
    assert frame.locator("#hosted-form").count() == 0
    assert any("frame-ancestors" in m and shop.origins["partner"] in m for m in logged), logged
    # the same link opened in the partner's frame shows the form: it is the framer that was refused
    pg.goto(shop.embed("partner", url))
    pg.frame_locator("#insurer").locator("#hosted-form").wait_for()
    assert _policies(shop.engine, "TB-FRAME-2") == []
