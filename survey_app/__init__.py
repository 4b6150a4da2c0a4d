"""创文模拟问卷 — the web service.

``create_app(settings=None)`` builds the Flask app: settings (from the environment by
default), logging, database, login, CSRF, translations, instruments, error pages and one
blueprint per user job. Nothing happens at import time.
"""

from __future__ import annotations

import gc
import logging

from flask import Flask

from .config import Settings, settings_from_env


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or settings_from_env()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        WTF_CSRF_ENABLED=settings.csrf_enabled,
        WTF_CSRF_TIME_LIMIT=None,  # canvassers stay offline for hours; the session bounds it
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app.logger.setLevel(settings.log_level)
    # Alembic announces each of its plugins at INFO on every start: noise, not news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from . import assets, auth, cli, db, errors, i18n, installation, instrument_registry, security
    from .auth import throttle
    from .blueprints import register_blueprints
    from .ids import IdConverter

    # Every <int:…> in a route stops at the largest id a database column holds: 404 above.
    app.url_map.converters["int"] = IdConverter

    db.init_app(app, settings.database_url, synchronous=settings.sqlite_synchronous)
    assets.init_app(app)
    instrument_registry.init_app(app, settings.instruments_dir)
    security.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    installation.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    register_blueprints(app)
    throttle.init_app(app)
    # Everything loaded so far (instruments, numpy/pandas/scipy, SQLAlchemy) lives as long as
    # the process: keep it out of the garbage collector's full passes, which otherwise
    # stall a request every few by ~100 ms (the result pages' p95 budget is 200 ms). Not in
    # tests, which build hundreds of apps whose cycles must stay collectable.
    if not settings.testing:
        gc.freeze()
    return app
