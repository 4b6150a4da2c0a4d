"""Browser tests: the app served by a real HTTP server in a thread, on its own seeded
SQLite database, driven by Playwright in Debian's Chromium at a tablet viewport
(800×1280). Screenshots go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlmodel import Session
from werkzeug.serving import make_server

from survey_app import create_app
from survey_app.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
TABLET = {"width": 800, "height": 1280}

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.api_down = False
        app.before_request(self._gate)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _gate(self):
        """While ``api_down``, API writes fail as if the network were gone. Chromium's
        offline emulation does not cover every request of a page controlled by a service
        worker (a reload's first moments), so tests of offline work set both."""
        from flask import request

        if self.api_down and request.path.startswith("/api/") and request.method == "POST":
            return {"error": "network down (test)", "status": 503}, 503
        return None

    def session(self) -> Session:
        return Session(self.app.extensions["engine"], expire_on_commit=False)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.app.extensions["engine"].dispose()


@pytest.fixture(scope="module")
def live_server(databases, tmp_path_factory):
    """A running server with the demo city seeded (accounts: see services/seed.py)."""
    from survey_app.demo import seed
    from survey_app.instrument_registry import get_instrument

    url, drop = databases.new()
    settings = Settings(
        database_url=url,
        secret_key="browser-test-secret",
        instance_path=tmp_path_factory.mktemp("instance"),
        testing=True,
        csrf_enabled=True,
        log_level="WARNING",
    )
    app = create_app(settings)
    with app.app_context(), Session(app.extensions["engine"], expire_on_commit=False) as s:
        seed.seed_demo(session=s, instrument=get_instrument("household"))
    server = LiveServer(app)
    yield server
    server.stop()
    drop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-component-update",
            ],
        )
        yield browser
        browser.close()


CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def context(browser):
    """A tablet-sized context; the test fails if any page breaks the Content-Security-Policy
    (an inline script or handler that the policy blocked: that part of the page is dead)."""
    context = browser.new_context(viewport=TABLET, locale="zh-CN", has_touch=True)
    context.add_init_script(CSP_REPORTER)
    violations: list[str] = []

    def _console(message):
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", _console)
    context.on("page", _poll_without_eval)
    yield context
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def _poll_without_eval(page) -> None:
    """Playwright's ``wait_for_function`` compiles its predicate with ``eval`` inside the
    page, which the app's CSP forbids (as it should). Poll from Python instead:
    ``page.evaluate`` runs through the DevTools protocol, outside the page's CSP."""
    import time

    def wait_for_function(expression, *, arg=None, timeout=None, polling=None):
        limit = (timeout if timeout is not None else 10_000) / 1000
        deadline = time.monotonic() + limit
        if expression.lstrip().startswith(("function", "async")) or "=>" in expression:
            # As Playwright does: a function is called, and what it returns (a promise
            # too: it is not awaited) is the truth.
            expression = (
                f"a => {{ const v = ({expression})(a);"
                " return v && typeof v.then === 'function' ? true : v; }"
            )
        while True:
            value = page.evaluate(expression, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"wait_for_function: {expression!r} not true in {limit:g} s")
            time.sleep(0.05)

    page.wait_for_function = wait_for_function


@pytest.fixture
def page(context):
    page = context.new_page()
    _poll_without_eval(page)
    page.set_default_timeout(10_000)
    return page


def shot(page, name: str) -> Path:
    """Keep a full-page screenshot of this step of the test run."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, base_url: str, username: str, password: str = "demo12345") -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
