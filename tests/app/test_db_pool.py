"""PostgreSQL's pooled connections are pinged only after PING_IDLE_SECONDS idle
(survey_app.db): not on every request, yet a connection that died while idle is
replaced before a request uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from survey_app import db
from survey_app.models import Role

from .factories import login, make_geo, make_user

pytestmark = pytest.mark.db


@pytest.fixture
def pg_app(app):
    if app.extensions["engine"].dialect.name != "postgresql":
        pytest.skip("the idle ping is PostgreSQL's (SQLite opens a file)")
    return app


@pytest.fixture
def pings(pg_app, monkeypatch):
    dialect = pg_app.extensions["engine"].dialect
    counted = []
    ping = dialect.do_ping

    def counting(dbapi_connection):
        counted.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return counted


def _signed_in_client(app, session):
    client = app.test_client()
    user = make_user(session, Role.CANVASSER, make_geo(session)[0])
    assert login(client, user).status_code == 302
    return client


def test_a_connection_back_a_moment_ago_is_not_pinged(pg_app, session, pings, monkeypatch):
    client = _signed_in_client(pg_app, session)
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 60.0)
    for _ in range(5):
        assert client.get("/api/me").status_code == 200
    assert pings == []
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)  # every reuse is "idle" now
    for _ in range(3):
        assert client.get("/api/me").status_code == 200
    assert len(pings) == 3


def test_a_connection_that_died_while_idle_is_replaced(pg_app, session, pings, monkeypatch):
    client = _signed_in_client(pg_app, session)
    assert client.get("/api/me").status_code == 200
    engine = pg_app.extensions["engine"]
    admin = create_engine(
        engine.url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": engine.url.database},
            )
    finally:
        admin.dispose()
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)
    # The pooled connections are dead: the ping finds it, the pool reconnects, the request
    # runs as if nothing happened (no 503).
    for _ in range(3):
        assert client.get("/api/me").status_code == 200
    assert pings
