"""Engine and per-request session.

SQLite runs in WAL mode with a busy timeout so that many gunicorn workers can write, and
with ``synchronous=FULL`` by default (``SQLITE_SYNCHRONOUS``): every commit is on disk
before it is acknowledged, so a submission a tablet was told is stored survives a power
cut. (``NORMAL`` in WAL mode can lose the last commits on power loss — never on a crash
of the process — and is faster; see docs/operations.md for the measured cost.)
PostgreSQL is used as is (its default ``synchronous_commit=on`` is durable). Views get the request's session from :func:`get_session`;
services take it as a keyword argument and own the transaction.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, exc
from sqlmodel import Session

SYNCHRONOUS = ("FULL", "EXTRA", "NORMAL")
# A pooled PostgreSQL connection idle longer than this is pinged before use (a restarted
# server or a dropped connection is then found before the request runs).
PING_IDLE_SECONDS = 1.0


def make_engine(url: str, *, synchronous: str = "FULL") -> Engine:
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous={synchronous!r}: one of {SYNCHRONOUS}")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, but not on every checkout: SQLAlchemy's
    ``pool_pre_ping`` costs every request a round trip to PostgreSQL (under load a
    wake-up of a backend on a busy core), although a connection checked in a moment ago
    was alive a moment ago. Here only a connection idle for ``PING_IDLE_SECONDS`` is
    pinged; one that fails is replaced and the whole pool invalidated, as pre-ping does.
    Should the server restart within that second, the request that meets the dead
    connection fails as any in flight then does — a 503 the tablet retries (errors.py) —
    and SQLAlchemy invalidates the pool on that disconnect too."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        if dbapi_connection is not None:
            record.info["idle_since"] = (id(dbapi_connection), time.monotonic())

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is None or since[0] != id(dbapi_connection):
            return  # a new connection: just made
        if time.monotonic() - since[1] < PING_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                raise exc.InvalidatePoolError() from err
            raise


def init_app(app: Flask, url: str, *, synchronous: str = "FULL") -> None:
    app.extensions["engine"] = make_engine(url, synchronous=synchronous)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["engine"]


def get_session() -> Session:
    """The session of the current request (or app context), opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def writers_turn(engine: Engine) -> Iterator[None]:
    """On SQLite, take turns with the other writers on the OS file lock
    ``<database>-writers`` (the one the tablet sync waits on), so a long job's short
    transactions interleave with canvassers' instead of racing SQLite's polling busy
    handler. Elsewhere it does nothing."""
    url = engine.url
    database = url.database or ""
    if (
        url.get_backend_name() != "sqlite"
        or database in ("", ":memory:")
        or database.startswith("file:")
    ):
        yield
        return
    import fcntl

    fd = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
