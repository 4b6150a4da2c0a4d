"""Security headers (issue 13.8): a CSP with no inline script, no framing, nosniff,
a referrer policy, HSTS when secure; no-store on exports and personal pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from survey_app import create_app
from survey_app.models import Role

from .factories import login, make_geo, make_user

pytestmark = pytest.mark.db
APP = Path(__file__).resolve().parents[2] / "survey_app"


def test_every_answer_carries_the_security_headers(client):
    for path in ("/login", "/healthz", "/no-such-page", "/static/css/app.css"):
        r = client.get(path)
        r.close()
        csp = r.headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp
            and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        )
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in r.headers


def test_hsts_when_cookies_are_secure(settings):
    app = create_app(settings.with_(cookie_secure=True))
    r = app.test_client().get("/login")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    app.extensions["engine"].dispose()


def test_personal_pages_and_api_are_not_stored(client, session):
    (community, _) = make_geo(session)
    login(client, make_user(session, Role.SECRETARY, community))
    for path in (f"/results/community/{community.id}", "/api/me"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", path
    # Static files keep their own long caching.
    with client.get("/static/css/app.css") as r:
        assert "no-store" not in r.headers.get("Cache-Control", "")


def test_exports_are_not_stored(client, session):
    from .results_data import build_city

    city = build_city(session, client.application.extensions["instruments"]["household"])
    login(client, make_user(session, Role.ANALYST))
    for path in (
        f"/analysis/responses.csv?wave={city.wave.id}",
        f"/analysis/responses.xlsx?wave={city.wave.id}",
    ):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", path


INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|\son[a-z]+\s*=|javascript:",
    re.I,
)


def test_no_template_has_inline_script():
    """The CSP forbids inline scripts and handlers: none may be written (JSON data blocks
    are not scripts)."""
    found = []
    for path in APP.rglob("*.html"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if INLINE.search(line):
                found.append(f"{path.relative_to(APP)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_exports_are_audited(client, session):
    from sqlmodel import select

    from survey_app.models import AuditLog

    from .results_data import build_city

    city = build_city(session, client.application.extensions["instruments"]["household"])
    analyst = make_user(session, Role.ANALYST)
    login(client, analyst)
    assert client.get(f"/analysis/responses.csv?wave={city.wave.id}").status_code == 200
    session.expire_all()
    log = session.exec(select(AuditLog).where(AuditLog.action == "export")).one()
    assert log.user_id == analyst.id and log.entity_id == f"responses-wave{city.wave.id}.csv"
    assert log.detail["args"] == {"wave": [str(city.wave.id)]} and log.at is not None


def test_a_views_own_security_headers_are_kept(settings):
    """A header the view set itself (any letter case) is neither replaced nor repeated."""
    app = create_app(settings)

    @app.route("/own-headers")
    def own_headers():
        return "x", 200, {"x-frame-options": "SAMEORIGIN", "Cache-Control": "max-age=5"}

    r = app.test_client().get("/own-headers")
    assert r.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert r.headers.getlist("Cache-Control") == ["max-age=5"]
    assert r.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert len(r.headers.getlist("Content-Security-Policy")) == 1
    app.extensions["engine"].dispose()
