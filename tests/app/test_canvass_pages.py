"""The canvasser's app shell and service worker: who may load them, what they contain."""

from __future__ import annotations

import json
import re

import pytest

from .canvass_factories import make_fieldwork
from .factories import login, make_user

pytestmark = pytest.mark.db


@pytest.fixture
def canvasser(session, app, client):
    _, (me, _) = make_fieldwork(session, app)
    login(client, me)
    return me


def config_of(html: str) -> dict:
    blob = re.search(
        r'<script type="application/json" id="canvass-config">(.*?)</script>', html, re.S
    )
    return json.loads(blob.group(1))


def strings_of(client, html: str) -> dict:
    """The strings file the page links (under its hash, kept a year by browsers)."""
    url = re.search(r'src="(/canvass/strings\.js\?lang=\w+&amp;v=[0-9a-f]{10})"', html).group(1)
    r = client.get(url.replace("&amp;", "&"))
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Cookie" not in r.headers.get("Vary", "") and "Set-Cookie" not in r.headers
    body = r.get_data(as_text=True)
    return json.loads(body[body.index("{") : body.rindex("}") + 1])


def test_shell_carries_urls_and_strings_in_the_users_language(client, canvasser):
    page = client.get("/canvass/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    config = config_of(html)
    assert config["user"] == canvasser.id
    assert config["urls"]["sync"] == "/api/sync" and config["urls"]["scope"] == "/canvass/"
    assert strings_of(client, html)["outcomes"]["not_home"] == "不在家"
    assert re.search(r'src="/static/canvass/app\.js\?v=[0-9a-f]{10}"', html)
    assert 'name="csrf-token"' in html
    client.set_cookie("lang", "en")
    strings = strings_of(client, client.get("/canvass/").get_data(as_text=True))
    assert strings["outcomes"]["not_home"] == "Not at home"
    assert strings["submit"] == "Submit"


def test_service_worker_keeps_only_the_canvass_app(client, canvasser):
    r = client.get("/canvass/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Cache-Control"] == "no-cache"
    body = r.get_data(as_text=True)
    precache = json.loads(re.search(r"var PRECACHE = (\[.*?\]);", body).group(1))
    assert precache[0] == "/canvass/"
    assert "/api/canvass/assignments" in precache
    assert "/api/canvass/instrument/household/1" in precache
    assert all(p.startswith(("/canvass/", "/static/", "/api/canvass/")) for p in precache), precache
    assert "__VERSION__" not in body and 'req.method !== "GET"' in body


@pytest.mark.parametrize("role", ["secretary", "analyst"])
def test_other_roles_get_no_canvass_app(session, app, client, role):
    from survey_app.models import Community

    _, (canvasser, _) = make_fieldwork(session, app)
    community = session.get(Community, canvasser.community_id)
    login(client, make_user(session, role, community if role == "secretary" else None))
    for path in ("/canvass/", "/canvass/sw.js", "/api/canvass/assignments"):
        assert client.get(path).status_code == 403, path


def test_signed_out_is_sent_to_login_or_401(client):
    assert client.get("/canvass/").status_code == 302
    assert client.get("/api/canvass/assignments").status_code == 401
