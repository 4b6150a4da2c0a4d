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

import sqlite3
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, lru_cache
from typing import Any

from flask import Flask, current_app, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, select

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
    _keep_signing_serializer(app.session_interface)


def _keep_signing_serializer(interface) -> None:
    """Flask's cookie session builds its signing serializer — and test-serializes with it
    — on every request (~15 µs of each tablet submission). The one built for the app's
    current secret keys is kept and used again; new keys (rotated, or fallbacks changed)
    get a new one, as before."""
    build = interface.get_signing_serializer
    kept: dict[tuple, Any] = {}

    def get_signing_serializer(app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = kept.get(keys)
        if serializer is None:
            serializer = build(app)
            if serializer is None:  # no secret key: no session, as Flask has it
                return None
            if len(kept) >= 4:
                kept.clear()
            kept[keys] = serializer
        return serializer

    interface.get_signing_serializer = get_signing_serializer


def load_user(token: str) -> User | SignedIn | None:
    """The active user named by a cookie's ``<id>.<epoch>``, if that epoch is current —
    read afresh on every request, so a deactivation, a role change or a sign-out
    elsewhere counts from the next request on. The tablet's JSON API (blueprint ``api``)
    gets a :class:`SignedIn` read with one narrow SELECT: its views only read the user,
    and building the ORM object cost twice the query itself (~110 µs of each submission);
    pages, which may change the user (password, sign-out), get the ORM ``User``."""
    id_part, dot, epoch_part = token.partition(".")
    user_id = parse_id(id_part)
    if not dot or user_id is None or not epoch_part.isascii() or not epoch_part.isdigit():
        return None
    if request and request.blueprint in PLAIN_USER_BLUEPRINTS:
        user = _signed_in(user_id)
    else:
        user = get_session().get(User, user_id)
    if user is None or not user.active or str(user.session_epoch or 0) != epoch_part:
        return None
    return user


# Blueprints whose views only read the signed-in user's id, role, names and scope.
PLAIN_USER_BLUEPRINTS = frozenset({"api"})


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The signed-in user as the JSON API reads it: the columns of ``User`` it uses,
    and Flask-Login's protocol. Read-only: nothing here can be added to a session."""

    id: int
    username: str
    display_name: str
    role: str
    community_id: int | None
    locale: str | None
    active: bool
    must_change_password: bool
    session_epoch: int | None

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch or 0}"


def _signed_in(user_id: int) -> SignedIn | None:
    connection = get_session().connection()
    if connection.dialect.name == "sqlite":
        # sqlite3's own cursor: ~5 µs instead of ~25 through SQLAlchemy's execution layer
        # (the statement and the columns' result processors are SQLAlchemy's). On any
        # sqlite3 error the query is run again through SQLAlchemy, whose error the error
        # pages know (503 when the database is unavailable).
        sql, convert = _sqlite_signed_in(connection.dialect)
        try:
            row = connection.connection.driver_connection.execute(sql, (user_id,)).fetchone()
        except sqlite3.Error:
            pass
        else:
            return None if row is None else SignedIn(*convert(row))
    row = connection.execute(_signed_in_statement(), {"id": user_id}).first()
    return None if row is None else SignedIn(*row)


@lru_cache(maxsize=8)  # one dialect per engine
def _sqlite_signed_in(dialect) -> tuple[str, Any]:
    statement = _signed_in_statement()
    sql = str(statement.compile(dialect=dialect))
    processors = [(i, column.type.result_processor(dialect, None))
                  for i, column in enumerate(statement.selected_columns)]  # fmt: skip
    processors = [(i, p) for i, p in processors if p is not None]

    def convert(row: tuple) -> list:
        values = list(row)
        for i, process in processors:
            values[i] = process(values[i])
        return values

    return sql, convert


@cache
def _signed_in_statement():
    columns = User.__table__.c
    return select(*(columns[name] for name in SignedIn.__dataclass_fields__)).where(
        columns.id == bindparam("id")
    )


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
