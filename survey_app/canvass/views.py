"""Canvasser (入户调查员): the tablet app — assigned households, visit outcomes, the
questionnaire and the outbox — and its service worker, which keeps it working offline.

The page is an app shell: its data comes from the JSON API (views/api.py) so the service
worker can cache it, and every string the scripts show is passed from the template so it
follows the language switch.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, url_for

from ..auth import roles_required
from ..db import get_session
from ..models import Role
from . import households

bp = Blueprint("canvass", __name__, url_prefix="/canvass", template_folder="templates")
CANVASS_ROLES = (Role.CANVASSER, Role.ADMIN)
ASSETS = (
    "css/app.css",
    "canvass/canvass.css",
    "canvass/expr.js",
    "canvass/store.js",
    "canvass/app.js",
)


@lru_cache(maxsize=64)
def _digest(path: Path, mtime: float) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def asset(filename: str) -> str:
    """The URL of a static file with its content hash, so caches never serve a stale one."""
    path = Path(current_app.static_folder) / filename
    return url_for("static", filename=filename, v=_digest(path, path.stat().st_mtime))


@bp.app_context_processor
def _asset_helper():
    return {"asset": asset}


@bp.route("/")
@roles_required(*CANVASS_ROLES)
def index():
    return render_template("canvass/index.html")


@bp.route("/sw.js")
@roles_required(*CANVASS_ROLES)
def service_worker():
    """The service worker, with the exact URLs to keep for offline use filled in."""
    # base.html links app.css without a version: keep that URL too.
    precache = [url_for("canvass.index"), url_for("static", filename="css/app.css")]
    precache += [asset(name) for name in ASSETS]
    precache.append(url_for("api.assignments"))
    wave = households.current_wave(session=get_session())
    if wave is not None:
        precache.append(
            url_for("api.instrument", key=wave.instrument_key, version=wave.instrument_version)
        )
    # A new version (any asset changed) makes browsers install the new worker and cache.
    version = hashlib.sha256(json.dumps(precache).encode()).hexdigest()[:12]
    source = (Path(current_app.static_folder) / "canvass" / "sw.js").read_text(encoding="utf-8")
    body = source.replace("__VERSION__", version).replace("__PRECACHE__", json.dumps(precache))
    return Response(
        body,
        mimetype="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": url_for("canvass.index")},
    )
