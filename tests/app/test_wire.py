"""Weight on the wire (issue 12): gzip for text, content-hashed static files kept for a
year, no ``Vary: Cookie`` on static files, a 304 for an unchanged questionnaire and
service worker, and a favicon."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from .canvass_factories import make_fieldwork
from .factories import login

pytestmark = pytest.mark.db
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture
def canvasser(session, app, client):
    _, (me, _) = make_fieldwork(session, app)
    login(client, me)
    return me


def test_hashed_static_files_are_immutable_and_compressed(client, canvasser):
    html = client.get("/canvass/").get_data(as_text=True)
    url = re.search(r'src="(/static/canvass/app\.js\?v=[0-9a-f]{10})"', html).group(1)
    r = client.get(url, headers=GZIP)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["Content-Encoding"] == "gzip"
    assert "Cookie" not in r.headers.get("Vary", "") and "Set-Cookie" not in r.headers
    assert "Accept-Encoding" in r.headers["Vary"]
    assert b"CanvassStore" in gzip.decompress(r.get_data())
    assert int(r.headers["Content-Length"]) == len(r.get_data())
    # Another version's URL (a stale page) is revalidated, never kept for a year.
    with client.get("/static/canvass/app.js?v=0000000000") as stale:
        assert stale.headers["Cache-Control"] == "no-cache"
        assert "Content-Encoding" not in stale.headers  # the client did not ask for gzip
    assert 'href="/static/css/app.css?v=' in html  # the shared stylesheet too


def test_json_and_pages_are_gzipped_when_asked(client, canvasser):
    r = client.get("/api/canvass/assignments", headers=GZIP)
    assert r.headers["Content-Encoding"] == "gzip"
    assert "wave" in json.loads(gzip.decompress(r.get_data()))
    plain = client.get("/api/canvass/assignments")
    assert "Content-Encoding" not in plain.headers and plain.json["wave"]


def test_questionnaire_and_worker_answer_304_when_unchanged(client, canvasser):
    first = client.get("/api/canvass/instrument/household/1", headers=GZIP)
    etag = first.headers["ETag"]
    assert etag.startswith(('"', 'W/"'))
    again = client.get("/api/canvass/instrument/household/1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    worker = client.get("/canvass/sw.js")
    assert worker.headers["ETag"].startswith('"')
    repeat = client.get("/canvass/sw.js", headers={"If-None-Match": worker.headers["ETag"]})
    assert repeat.status_code == 304
    # The stored 200 keeps its security headers; the 304 does not repeat them (bytes on
    # every reload of a tablet).
    assert "Content-Security-Policy" in worker.headers
    assert "Content-Security-Policy" not in repeat.headers


def test_favicon(client):
    with client.get("/favicon.ico") as r:
        assert r.status_code == 200 and r.mimetype == "image/svg+xml"
        assert b"<svg" in r.get_data()
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<link rel="icon" type="image/svg\+xml" href="/static/favicon\.svg\?v=', page)
