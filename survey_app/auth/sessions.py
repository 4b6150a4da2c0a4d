"""Sessions that end (issue 13.6).

A session cookie and a remember cookie both carry ``<user id>.<session epoch>``
(``User.get_id``); a cookie whose epoch is not the user's current one signs nobody in.
Sign-out, deactivation and password changes bump the epoch (:func:`end_sessions`), so
every copy of every cookie of that user stops working at once, on every device.

Only canvassers' tablets are remembered (``REMEMBER_DAYS``, default 30: a tablet that
goes offline for days must still sync when it comes back); everyone else signs in per
browser session. Analysts, supervisors and admins — who see the whole city — are signed
out after ``IDLE_TIMEOUT_MINUTES`` without a request.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask, current_app, session
from flask_login import current_user, login_user, logout_user

from ..db import get_session
from ..ids import parse_id
from ..models import Role, User

IDLE_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMIN})
SEEN_KEY = "seen"  # when the session last made a request (epoch seconds)
SEEN_EVERY = 60  # seconds: how often the cookie is rewritten to move that time on


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    app.config.update(
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(days=max(settings.remember_days, 1)),
    )
    app.before_request(_end_idle_session)


def load_user(token: str) -> User | None:
    """The active user named by a cookie's ``<id>.<epoch>``, if that epoch is current."""
    id_part, dot, epoch_part = token.partition(".")
    user_id = parse_id(id_part)
    if not dot or user_id is None or not epoch_part.isascii() or not epoch_part.isdigit():
        return None
    user = get_session().get(User, user_id)
    if user is None or not user.active or str(user.session_epoch or 0) != epoch_part:
        return None
    return user


def end_sessions(user: User) -> None:
    """End every session of ``user`` (the caller commits)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def remember_for(user: User) -> timedelta | None:
    """How long ``user`` stays signed in across browser restarts (None: not at all)."""
    days = current_app.config["SETTINGS"].remember_days
    if user.role == Role.CANVASSER and days > 0:
        return timedelta(days=days)
    return None


def sign_in(user: User) -> None:
    duration = remember_for(user)
    session.clear()  # a fresh session: nothing from before sign-in carries over
    login_user(user, remember=duration is not None, duration=duration)
    session[SEEN_KEY] = int(time.time())


def _end_idle_session():
    minutes = current_app.config["SETTINGS"].idle_minutes
    if not minutes or SEEN_KEY not in session and "_user_id" not in session:
        return None
    now = int(time.time())
    seen = session.get(SEEN_KEY)
    if current_user.is_authenticated and current_user.role in IDLE_ROLES:
        if isinstance(seen, int) and now - seen > minutes * 60:
            logout_user()
            session.clear()
            return None
    if not isinstance(seen, int) or now - seen >= SEEN_EVERY:
        session[SEEN_KEY] = now
    return None
