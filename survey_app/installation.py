"""Facts about this installation kept in the database (``AppSetting``): whether it began
as the demo city. The header says so on every page of a demo database, and only then does
the sign-in page list the demo accounts."""

from __future__ import annotations

import time

from flask import Flask, current_app
from sqlalchemy import select
from sqlmodel import Session

from .models import AppSetting
from .models._types import utcnow

DEMO = "demo"
_RECHECK = 30.0  # seconds before a "not demo" answer is asked again (another worker may seed)


def mark_demo(session: Session) -> None:
    """Record that this database holds the demo city (the caller commits)."""
    if session.get(AppSetting, DEMO) is None:
        session.add(AppSetting(key=DEMO, value=utcnow().date().isoformat()))


def is_demo() -> bool:
    """Whether this database began as the demo (cached: a demo database stays one)."""
    cache = current_app.extensions.setdefault("installation", {})
    if cache.get(DEMO) is True:
        return True
    if time.monotonic() - cache.get("checked", -_RECHECK) < _RECHECK:
        return False
    with current_app.extensions["engine"].connect() as conn:
        found = conn.execute(select(AppSetting.key).where(AppSetting.key == DEMO)).first()
    cache[DEMO] = found is not None
    cache["checked"] = time.monotonic()
    return cache[DEMO]


def init_app(app: Flask) -> None:
    @app.context_processor
    def _installation():
        try:
            demo = is_demo()
        except Exception:  # noqa: BLE001 - a page must render even before db-upgrade
            demo = False
        return {"demo_database": demo}
