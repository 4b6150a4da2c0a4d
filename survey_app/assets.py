"""How the app's files travel: weight on the wire for tablets on a weak signal.

- Static files are linked with their content hash (``asset('canvass/app.js')`` →
  ``/static/canvass/app.js?v=1a2b3c4d5e``). A URL whose hash matches the file is kept by
  browsers for a year without asking again (``immutable``); any other URL of a static file
  is revalidated (``no-cache``), so a stale page never pins an old script.
- Static files carry no ``Vary: Cookie``: they are the same for everyone (Flask-Login
  reads the session on every request, which otherwise adds it).
- Text responses (HTML, CSS, scripts, JSON, SVG, CSV) are gzipped when the client
  accepts it. Static files are compressed once per content and kept in memory.
- ``/favicon.ico`` answers with the app's icon (browsers ask for it on every page).
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, current_app, request, send_from_directory, url_for
from flask.sessions import SecureCookieSessionInterface

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
        "text/csv",
        "text/plain",
    }
)
MIN_SIZE = 512  # below this gzip's header costs more than it saves
GZIP_LEVEL = 6
IMMUTABLE = "public, max-age=31536000, immutable"
# Endpoints whose responses are the same for everyone: no session cookie, no Vary: Cookie.
SESSIONLESS = {"static"}


@lru_cache(maxsize=256)
def _digest(path: Path, mtime: float) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def static_digest(filename: str) -> str | None:
    """The content hash of a file under static/, or None when there is no such file."""
    root = Path(current_app.static_folder).resolve()
    path = (root / filename).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return _digest(path, path.stat().st_mtime)


def asset(filename: str) -> str:
    """The URL of a static file with its content hash, so caches never serve a stale one."""
    return url_for("static", filename=filename, v=static_digest(filename))


class _SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, left alone by static files (and other SESSIONLESS
    endpoints): no ``Set-Cookie`` (a refreshed permanent session) and no ``Vary: Cookie``
    on what is the same for all."""

    def save_session(self, app, session, response):
        if request.endpoint in SESSIONLESS and not session.modified:
            response.vary.discard("Cookie")
            return
        super().save_session(app, session, response)


def _static_cache(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    version = request.args.get("v")
    if version and version == static_digest((request.view_args or {}).get("filename", "")):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


@lru_cache(maxsize=64)
def _gzip_static(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def _compress(response: Response) -> Response:
    if (
        response.status_code != 200
        or (response.is_streamed and not response.direct_passthrough)
        or "Content-Encoding" in response.headers
        or response.mimetype not in COMPRESSIBLE
        or "gzip" not in request.accept_encodings
        or request.method == "HEAD"
    ):
        return response
    static = request.endpoint == "static"
    response.direct_passthrough = False  # send_file's file wrapper: read it here...
    wrapper = response.response
    data = response.get_data()
    if hasattr(wrapper, "close"):
        wrapper.close()  # ...and close the file now
    response.vary.add("Accept-Encoding")
    if len(data) < MIN_SIZE:
        return response
    packed = _gzip_static(data) if static else gzip.compress(data, GZIP_LEVEL, mtime=0)
    response.set_data(packed)
    response.headers["Content-Encoding"] = "gzip"
    response.headers.pop("Accept-Ranges", None)  # byte ranges of the plain file no longer fit
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)  # same meaning, other bytes
    return response


def _favicon():
    response = send_from_directory(current_app.static_folder, "favicon.svg", max_age=86400)
    response.mimetype = "image/svg+xml"
    return response


def init_app(app: Flask) -> None:
    app.session_interface = _SessionInterface()
    app.after_request(_compress)  # after_request runs last-registered first:
    app.after_request(_static_cache)  # cache headers are set, then the body compressed
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.context_processor(lambda: {"asset": asset})
