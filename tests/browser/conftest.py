"""Browser fixtures: the real application served by uvicorn on a free loopback port, driven by
Debian's Chromium through Playwright's sync API.

The tests need ``/usr/bin/chromium`` (``apt-get install chromium``; another binary with
SHOUHU_CHROMIUM) and the ``playwright`` Python package (a dev dependency). Never run
``playwright install``: the machine has no internet, and Debian's Chromium is what we test with.
Without Chromium the tests skip with the reason, except in CI (SHOUHU_REQUIRE_SERVICES=1), where
they fail instead.

Screenshots of every main page go to ``test-output/screenshots/`` (gitignored); a failing test
leaves ``FAILED-<test>.png`` there too.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from shouhu.access.policy import RowRule
from shouhu.settings import Settings
from shouhu.storage import customers as store
from shouhu.storage.tables import reflected
from tests.conftest import REQUIRE
from tests.web.conftest import KEY, PASSWORD, Published, _accounts

CHROMIUM = Path(os.environ.get("SHOUHU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
TIMEOUT_MS = 20_000


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"the playwright Python package is missing ({e}): `make setup` installs the dev dependencies"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return (f"{CHROMIUM} not found: install Debian's Chromium (`apt-get install chromium`, which .ci/run "
                f"does) or point SHOUHU_CHROMIUM at a Chromium binary; never `playwright install`")
    return None


def require_browser() -> None:
    reason = _browser_missing()
    if reason:
        if REQUIRE:
            pytest.fail(f"browser tests are required in CI: {reason}")
        pytest.skip(reason)


# ---------------------------------------------------------------- the running application

@dataclass
class Site:
    """The application under test, served on ``url``, with accounts and customers to use."""

    url: str
    settings: Settings
    engine: Engine
    app: Any
    users: dict[str, str]                      # role -> user id (password: PASSWORD)
    own: dict[str, str]                        # role -> a customer inside its scope
    foreign: dict[str, str]                    # role -> a customer outside its scope
    subject: str                               # the agent's customer with a household and policies
    sent: list[tuple[str, str]] = field(default_factory=list)  # (phone, code) of every one-time code

    def record(self, customer_id: str) -> dict[str, Any]:
        """The customer's stored record (golden record and 360 facts; personal fields encrypted)."""
        row = store.get_record(self.engine, RowRule(), customer_id)
        assert row is not None, customer_id
        return row

    def clear(self, customer_id: str, name: str) -> str:
        """The clear value of a personal field (test set-up only; the app never shows it unmasked)."""
        row = store.get_record(self.engine, RowRule(), customer_id)
        assert row is not None, customer_id
        value = self.app.state.shouhu.cipher.decrypt(row[f"{name}_enc"])
        assert value, f"{customer_id} has no {name}"
        return str(value)

    def code_for(self, phone: str, since: int = 0) -> str:
        """The latest one-time code sent to ``phone`` (after the first ``since`` sends)."""
        for _ in range(100):
            codes = [c for p, c in self.sent[since:] if re.sub(r"\D", "", p)[-11:] == phone[-11:]]
            if codes:
                return codes[-1]
            time.sleep(0.05)
        raise AssertionError(f"no one-time code was sent to {phone}; sent: {len(self.sent)}")


def _subject(engine: Engine, cipher: Any, agent_customers: list[str]) -> str:
    """The agent's customer best suited to advice: policies in force, a phone, a household of 2+ with
    room in its premium budget (10% of household income less premiums already paid), so that a plan
    holds products."""
    c360 = reflected(engine, "customer_360")
    cust = reflected(engine, "customer")
    with engine.connect() as conn:
        rows = conn.execute(
            select(c360.c.customer_id, c360.c.household_id, c360.c.household_size)
            .join(cust, cust.c.customer_id == c360.c.customer_id)
            .where(c360.c.customer_id.in_(agent_customers), c360.c.policies_in_force > 0,
                   cust.c.phone_enc.isnot(None), cust.c.name_enc.isnot(None))).all()
        households = {r.household_id for r in rows}
        members = conn.execute(select(c360.c.household_id, c360.c.annualised_premium, cust.c.annual_income_enc)
                               .join(cust, cust.c.customer_id == c360.c.customer_id)
                               .where(c360.c.household_id.in_(households))).all()
    room: dict[str, float] = {}
    for m in members:
        income = float(cipher.decrypt(m.annual_income_enc) or 0) if m.annual_income_enc else 0.0
        room[m.household_id] = room.get(m.household_id, 0.0) + 0.1 * income - float(m.annualised_premium or 0)
    assert rows, "the agent has no customer with policies in force and a phone"
    best = max(rows, key=lambda r: (room.get(r.household_id, 0.0) > 3_000, min(r.household_size or 1, 4),
                                    room.get(r.household_id, 0.0), r.customer_id))
    return str(best.customer_id)


def _agent_customers(engine: Engine, staff_id: str) -> list[str]:
    from shouhu.storage.tables import customer_scope

    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(customer_scope.c.customer_id)
                                           .where(customer_scope.c.agent_id == staff_id))]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The browser binary (skips, or fails in CI, before anything slow is built when it is missing)."""
    require_browser()
    return CHROMIUM


@pytest.fixture(scope="session")
def site(chromium: Path, published: Published,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The real application over a copy of the refreshed 800-customer book, on 127.0.0.1:<free port>."""
    import uvicorn

    from shouhu.web.app import create_app

    root = tmp_path_factory.mktemp("browser")
    copy = root / "serving.sqlite"
    shutil.copy(published.sqlite_path, copy)
    settings = Settings(data_dir=root / "data", warehouse_url=published.warehouse_url,
                        serving_url=f"sqlite:///{copy}", encryption_key=KEY)
    sent: list[tuple[str, str]] = []
    app = create_app(settings, otp_sender=lambda phone, code: sent.append((phone, code)))
    engine = app.state.shouhu.engine
    users, scope, own, foreign = _accounts(engine)
    subject = _subject(engine, app.state.shouhu.cipher, _agent_customers(engine, scope["agent"]["staff_id"]))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the application did not start under uvicorn")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", settings, engine, app, users, own, foreign, subject, sent)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        engine.dispose()


# ---------------------------------------------------------------- the browser

@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    for stale in SCREENSHOTS.glob("FAILED-*.png"):  # from an earlier run
        stale.unlink()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


def _new_context(browser: Any, site: Site, **options: Any) -> Any:
    context = browser.new_context(base_url=site.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  accept_downloads=True, **({"viewport": {"width": 1280, "height": 900}} | options))
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def new_page(browser: Any, site: Site, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``new_page(**context_options)`` -> a Page in a fresh browser context (own cookies)."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def factory(**options: Any) -> Any:
        context = _new_context(browser, site, **options)
        contexts.append(context)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(f"{pg.url}: {e}"))
        pg.on("console", lambda m: errors.append(f"{pg.url}: console: {m.text}")
              if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        pg.on("response", lambda r: errors.append(f"{r.url}: HTTP {r.status}")
              if r.status >= 400 and r.request.resource_type in ("script", "stylesheet", "image", "font")
              and not r.url.endswith("/favicon.ico") else None)
        JS_ERRORS[id(pg)] = errors
        pages.append(pg)
        return pg

    yield factory
    if request.node.stash.get(_FAILED, False):
        for i, pg in enumerate(pages):
            with contextlib.suppress(Exception):  # a page that is gone: nothing to save
                shot(pg, f"FAILED-{request.node.name}-{i}")
    errors = [e for pg in pages for e in JS_ERRORS.get(id(pg), [])]
    for context in contexts:
        context.close()
    for pg in pages:
        JS_ERRORS.pop(id(pg), None)
    if errors and not request.node.stash.get(_FAILED, False):
        pytest.fail(f"the pages logged script errors or failed to load assets: {errors}")


@pytest.fixture
def page(new_page: Any) -> Any:
    """A Page in a fresh browser context (zh-CN, 1280x900)."""
    return new_page()


# ---------------------------------------------------------------- helpers

JS_ERRORS: dict[int, list[str]] = {}


def js_errors(pg: Any) -> list[str]:
    """Script errors and console errors the page has logged so far."""
    return list(JS_ERRORS.get(id(pg), []))


def shot(pg: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of the page as test-output/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    pg.screenshot(path=str(path), full_page=full_page)
    return path


def login(pg: Any, site: Site, role: str, *, next_path: str | None = None) -> None:
    """Sign in to the console through the login form as the test account of ``role``."""
    pg.goto("/console/login" + (f"?next={next_path}" if next_path else ""))
    pg.fill("input[name=user_id]", site.users[role])
    pg.fill("input[name=password]", PASSWORD)
    with pg.expect_navigation():
        pg.click("#login-submit")
    assert "/console/login" not in pg.url, f"sign-in as {role} failed: {pg.url}"


def search(pg: Any, text: str) -> None:
    """Type ``text`` into the console's search box, submit, and wait for that search's answer."""
    from urllib.parse import parse_qs, urlparse

    def answers(response: Any) -> bool:
        url = urlparse(response.url)
        return url.path == "/console/customers" and parse_qs(url.query).get("q") == [text]

    pg.fill("#search-box", text)
    with pg.expect_response(answers):
        pg.click("#search-submit")
    pg.wait_for_load_state("networkidle")


def ink(png: bytes, *, background: tuple[int, int, int] = (255, 255, 255), tolerance: int = 24) -> float:
    """Share of pixels that differ from the background colour (0 = blank)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = image.get_flattened_data() if hasattr(image, "get_flattened_data") else image.getdata()
    far = sum(1 for p in pixels if max(abs(p[i] - background[i]) for i in range(3)) > tolerance)
    return far / max(1, image.width * image.height)


def chart_drawn(pg: Any, selector: str) -> float:
    """Ink of an ECharts chart (its canvas must exist and hold drawing)."""
    try:
        pg.wait_for_selector(f"{selector} canvas", state="attached", timeout=10_000)
    except Exception as e:
        raise AssertionError(f"no chart drawn in {selector}; script errors: {js_errors(pg)}") from e
    pg.wait_for_timeout(200)  # let the first animation frame land
    return ink(pg.locator(selector).screenshot())
