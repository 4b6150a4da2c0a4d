"""Page weight of the canvasser's questionnaire page: the page and everything it loads,
each gzipped, summed. Budget: 60 KB (ODK Web Forms ≈ 1.1 MB, Enketo ≈ 2 MB).

    .venv/bin/python benchmarks/page_weight.py [--level 6]

Runs the app with the Flask test client on a throw-away SQLite database (in a temporary
directory, removed at the end) seeded with the demo city, signs in as the demo canvasser
and fetches ``/canvass/``, every stylesheet and script it links, and what the scripts load
at start: the service worker, the assignments and the wave's questionnaire. Prints one
line per resource and the total; writes nothing else.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_KB = 60
COMPARISON_KB = {"ODK Web Forms": 1100, "Enketo": 2000}


class _Assets(HTMLParser):
    """Stylesheets, scripts and the canvass config blob of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.config = ""
        self._in_config = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("rel") == "stylesheet":
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


def measure(level: int) -> list[tuple[str, int, int]]:
    from sqlmodel import Session

    from survey_app import create_app, migrate
    from survey_app.config import Settings
    from survey_app.demo import seed
    from survey_app.instrument_registry import get_instrument

    with tempfile.TemporaryDirectory(prefix="page-weight-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        app = create_app(
            Settings(
                database_url=url,
                secret_key="page-weight",
                instance_path=Path(tmp) / "instance",
                testing=True,
                csrf_enabled=False,
                log_level="WARNING",
            )
        )
        with app.app_context(), Session(app.extensions["engine"]) as session:
            seed.seed_demo(session=session, instrument=get_instrument("household"))
        client = app.test_client()
        client.post("/login", data={"username": "canvasser", "password": seed.DEMO_PASSWORD})
        rows: list[tuple[str, int, int]] = []

        def fetch(path: str) -> bytes:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"GET {path} answered {response.status_code}")
            body = response.get_data()
            rows.append((path, len(body), len(gzip.compress(body, compresslevel=level))))
            return body

        page = fetch("/canvass/").decode("utf-8")
        parser = _Assets()
        parser.feed(page)
        for asset in parser.urls:
            fetch(asset)
        config = json.loads(parser.config)
        fetch(config["urls"]["sw"])
        assignments = json.loads(fetch(config["urls"]["assignments"]))
        wave = assignments["wave"]
        fetch(
            config["urls"]["instrument"]
            .replace("KEY", wave["instrument_key"])
            .replace("VERSION", wave["instrument_version"])
        )
        app.extensions["engine"].dispose()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=6, help="gzip level (servers use 6)")
    args = parser.parse_args(argv)
    rows = measure(args.level)
    width = max(len(path) for path, _, _ in rows)
    print(f"{'resource':<{width}}  {'bytes':>8}  {'gzipped':>8}")
    for path, raw, packed in rows:
        print(f"{path:<{width}}  {raw:>8,}  {packed:>8,}")
    raw_total = sum(r for _, r, _ in rows)
    total = sum(p for _, _, p in rows)
    kb = total / 1024
    print(f"{'total':<{width}}  {raw_total:>8,}  {total:>8,}")
    verdict = "within" if kb <= BUDGET_KB else "OVER"
    print(
        f"\nquestionnaire page, gzip -{args.level}: {kb:.1f} KB — {verdict} the {BUDGET_KB} KB budget"
    )
    for name, other in COMPARISON_KB.items():
        print(f"  {name} ≈ {other / 1024:.1f} MB: {other / kb:.0f}× heavier")
    return 0 if kb <= BUDGET_KB else 1


if __name__ == "__main__":
    sys.exit(main())
