"""Page weight of the canvasser's questionnaire page, as the server actually sends it:
bytes on the wire (status line, headers and body, compressed as served) on a first load
and on a reload. Budgets: ≤ 60 KB on first load, ≤ 5 KB on a reload (ODK Web Forms
≈ 1.1 MB, Enketo ≈ 2 MB).

    .venv/bin/python benchmarks/page_weight.py

Seeds the demo city into a throw-away SQLite database (a temporary directory, removed at
the end), starts gunicorn on it as ``make serve`` does (one worker here), signs in as the
demo canvasser and loads ``/canvass/`` the way a browser does — ``Accept-Encoding: gzip,
deflate, br``, then every stylesheet, script and icon the page links and what its scripts
load at start: the service worker, the assignments and the wave's questionnaire. Each
response's bytes are counted as received (nothing is compressed here).

The reload follows the browser's HTTP cache rules on what the first load kept: a response
still fresh (``max-age``/``immutable``) is not asked for again; one with a validator
(``ETag``/``Last-Modified``) is asked for conditionally (``If-None-Match`` → 304); anything
else is fetched again. (The service worker serves the same files from its own cache; the
page and the assignments it asks the network for, as here.)
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import re
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

FIRST_LOAD_BUDGET_KB = 60
RELOAD_BUDGET_KB = 5
COMPARISON_KB = {"ODK Web Forms": 1100, "Enketo": 2000}
ACCEPT_ENCODING = "gzip, deflate, br"


class _Page(HTMLParser):
    """Stylesheets, icons, scripts and the canvass config blob of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.config = ""
        self._in_config = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("rel") in ("stylesheet", "icon"):
            self.urls.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.urls.append(a["src"])
        elif tag == "script" and a.get("id") == "canvass-config":
            self._in_config = True

    def handle_endtag(self, tag):
        self._in_config = False

    def handle_data(self, data):
        if self._in_config:
            self.config += data


class Browser:
    """A cookie jar, an HTTP cache and a byte counter over one keep-alive connection."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.cache: dict[str, dict[str, str]] = {}  # url → headers of the kept response

    def request(self, method, url, body=None, headers=None):
        headers = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, url, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        head = f"HTTP/1.1 {response.status} {response.reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in response.headers.items()
        )
        wire = len(head.encode("latin-1", "replace")) + 2 + len(data)
        if response.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return response, data, wire

    def sign_in(self, username: str, password: str) -> None:
        _, page, _ = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {"username": username, "password": password}
        if token:
            form["csrf_token"] = token.group(1).decode()
        response, _, _ = self.request(
            "POST",
            "/login",
            urlencode(form),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if response.status != 302:
            raise SystemExit(f"sign-in answered {response.status}")

    def get(self, url: str, *, reload: bool = False) -> tuple[int, bytes, int]:
        """GET as a browser would: from the cache (0 bytes), conditionally, or in full."""
        kept = self.cache.get(url)
        headers = {}
        if reload and kept is not None:
            control = kept.get("cache-control", "").lower()
            fresh = re.search(r"max-age=(\d+)", control)
            if "immutable" in control or (
                fresh and int(fresh.group(1)) > 0 and "no-cache" not in control
            ):
                return 304, b"", 0
            if kept.get("etag"):
                headers["If-None-Match"] = kept["etag"]
            elif kept.get("last-modified"):
                headers["If-Modified-Since"] = kept["last-modified"]
        response, data, wire = self.request("GET", url, headers=headers)
        if response.status not in (200, 304):
            raise SystemExit(f"GET {url} answered {response.status}")
        control = (response.headers.get("Cache-Control") or "").lower()
        if response.status == 200 and "no-store" not in control:
            self.cache[url] = {k.lower(): v for k, v in response.headers.items()}
        return response.status, data, wire


def load(browser: Browser, *, reload: bool) -> list[tuple[str, int, int]]:
    """The page and everything it loads: (url, status, bytes on the wire) each."""
    rows = []

    def fetch(url: str) -> bytes:
        status, data, wire = browser.get(url, reload=reload)
        rows.append((url, status, wire))
        return data

    page = _Page()
    page.feed(fetch("/canvass/").decode("utf-8"))
    for url in page.urls:
        fetch(url)
    config = json.loads(page.config)
    fetch(config["urls"]["sw"])
    wave = json.loads(fetch(config["urls"]["assignments"]))["wave"]
    fetch(
        config["urls"]["instrument"]
        .replace("KEY", wave["instrument_key"])
        .replace("VERSION", wave["instrument_version"])
    )
    return rows


def seed(tmp: Path) -> Path:
    from sqlmodel import Session

    from survey_app import create_app, migrate
    from survey_app.config import Settings
    from survey_app.demo import seed as demo
    from survey_app.instrument_registry import get_instrument

    db = tmp / "bench.db"
    url = f"sqlite:///{db}"
    migrate.upgrade(url)
    app = create_app(
        Settings(
            database_url=url,
            secret_key="page-weight",
            instance_path=tmp / "instance",
            testing=True,
            log_level="WARNING",
        )
    )
    with app.app_context(), Session(app.extensions["engine"]) as session:
        demo.seed_demo(session=session, instrument=get_instrument("household"))
    app.extensions["engine"].dispose()
    return db


def measure() -> tuple[list, list]:
    from sync_bench import Gunicorn

    from survey_app.demo.seed import DEMO_PASSWORD

    with tempfile.TemporaryDirectory(prefix="page-weight-") as name:
        tmp = Path(name)
        server = Gunicorn(tmp, seed(tmp), workers=1, worker_class="sync", threads=1)
        try:
            browser = Browser(server.port)
            browser.sign_in("canvasser", DEMO_PASSWORD)
            first = load(browser, reload=False)
            again = load(browser, reload=True)
        finally:
            server.stop()
    return first, again


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    first, again = measure()
    width = max(len(url) for url, _, _ in first)
    print(f"{'resource':<{width}}  {'first load':>10}  {'reload':>16}")
    for (url, _, wire), (_, status, wire2) in zip(first, again, strict=True):
        how = "cached" if wire2 == 0 else str(status)
        print(f"{url:<{width}}  {wire:>10,}  {wire2:>8,} ({how:>6})")
    total, total2 = sum(w for _, _, w in first), sum(w for _, _, w in again)
    print(f"{'total (bytes on the wire)':<{width}}  {total:>10,}  {total2:>8,}")
    kb, kb2 = total / 1024, total2 / 1024
    ok = kb <= FIRST_LOAD_BUDGET_KB and kb2 <= RELOAD_BUDGET_KB
    print(
        f"\nfirst load {kb:.1f} KB (budget {FIRST_LOAD_BUDGET_KB} KB), "
        f"reload {kb2:.1f} KB in {sum(1 for _, _, w in again if w)} requests "
        f"(budget {RELOAD_BUDGET_KB} KB): {'within' if ok else 'OVER'} budget"
    )
    for name, other in COMPARISON_KB.items():
        print(f"  {name} ≈ {other / 1024:.1f} MB: {other / kb:.0f}× heavier")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
