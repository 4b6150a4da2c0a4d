"""Canvasser (入户调查员): the tablet app — assigned households, visit outcomes, the
questionnaire and the outbox — and its service worker, which keeps it working offline.

The page is an app shell: its data comes from the JSON API (api.py) so the service
worker can cache it; every string the scripts show comes from ``strings.js``, rendered in
the reader's language and linked under its content hash (kept a year, like the scripts).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import force_locale

from .. import assets
from ..assets import asset
from ..auth import roles_required
from ..db import get_session
from ..i18n import LANGUAGES, select_locale
from ..models import Role
from . import households

bp = Blueprint("canvass", __name__, url_prefix="/canvass", template_folder="templates")
CANVASS_ROLES = (Role.CANVASSER, Role.ADMIN)
ASSETS = (
    "css/app.css",
    "favicon.svg",
    "js/page.js",
    "canvass/canvass.css",
    "canvass/expr.js",
    "canvass/store.js",
    "canvass/review.js",
    "canvass/app.js",
)


@bp.route("/")
@roles_required(*CANVASS_ROLES)
def index():
    return render_template("canvass/index.html")


def _strings(lang: str) -> str:
    with force_locale(lang):
        return render_template("canvass/strings.js")


def strings_url(lang: str | None = None) -> str:
    """The URL of the tablet's strings in ``lang`` (the reader's), with their hash."""
    lang = lang or select_locale()
    digest = hashlib.sha256(_strings(lang).encode()).hexdigest()[:10]
    return url_for("canvass.strings", lang=lang, v=digest)


@bp.app_context_processor
def _strings_helper():
    return {"canvass_strings_url": strings_url}


@bp.route("/strings.js")
def strings():
    """The tablet's strings: not secret, the same for everyone in a language."""
    lang = request.args.get("lang", "zh")
    if lang not in LANGUAGES:
        abort(404)
    body = _strings(lang)
    response = Response(body, mimetype="text/javascript")
    digest = hashlib.sha256(body.encode()).hexdigest()[:10]
    current = request.args.get("v") == digest
    response.headers["Cache-Control"] = assets.IMMUTABLE if current else "no-cache"
    response.set_etag(digest)
    return response.make_conditional(request)


assets.SESSIONLESS.add("canvass.strings")


@bp.route("/sw.js")
@roles_required(*CANVASS_ROLES)
def service_worker():
    """The service worker, with the exact URLs to keep for offline use filled in."""
    precache = [url_for("canvass.index")] + [asset(name) for name in ASSETS]
    precache += [strings_url(lang) for lang in LANGUAGES]
    precache.append(url_for("api.assignments"))
    for key, version in households.open_instruments(session=get_session()):
        precache.append(url_for("api.instrument", key=key, version=version))
    # A new version (any asset changed) makes browsers install the new worker and cache.
    version = hashlib.sha256(json.dumps(precache).encode()).hexdigest()[:12]
    source = (Path(current_app.static_folder) / "canvass" / "sw.js").read_text(encoding="utf-8")
    body = source.replace("__VERSION__", version).replace("__PRECACHE__", json.dumps(precache))
    response = Response(
        body,
        mimetype="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": url_for("canvass.index")},
    )
    # Browsers check the worker on every visit: unchanged, that costs a 304.
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:16])
    return response.make_conditional(request)
