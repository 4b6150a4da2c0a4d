"""Health and failures (issue 13.10): /readyz touches the database; database
unavailability is 503 with Retry-After, never 500; a worker recovers without a restart."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from survey_app import create_app, migrate
from survey_app.models import Role

from .factories import PASSWORD, login, make_user

pytestmark = pytest.mark.db


def test_readyz_touches_the_database(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json["database"] == "ok" and r.json["writable"] == "ok"
    assert client.get("/healthz").json == {"status": "ok"}


def test_unavailable_database_is_503_and_recovers_without_restart(settings, tmp_path):
    missing = tmp_path / "not-yet" / "survey.db"
    app = create_app(settings.with_(database_url=f"sqlite:///{missing}"))
    client = app.test_client()
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert client.get("/healthz").status_code == 200  # alive, not ready
    r = client.post("/login", data={"username": "x", "password": "y"})
    assert r.status_code == 503 and r.headers["Retry-After"]
    r = client.get("/api/me", headers={"Accept": "application/json"})
    assert r.status_code in (401, 503)
    # The database comes back: the same app (worker) serves again.
    missing.parent.mkdir()
    migrate.upgrade(f"sqlite:///{missing}")
    assert client.get("/readyz").status_code == 200
    r = client.post("/login", data={"username": "x", "password": "y"})
    assert r.status_code == 401
    app.extensions["engine"].dispose()


def _read_only(app, on: bool) -> None:
    """Make the database refuse writes (SQLite: new connections query_only; PostgreSQL:
    default_transaction_read_only for the database) — as when a disk is remounted ro."""
    engine = app.extensions["engine"]
    if engine.dialect.name == "sqlite":
        app.config["_read_only"] = on
        return
    admin = create_engine(
        engine.url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        value = "on" if on else "off"
        conn.execute(
            text(
                f'ALTER DATABASE "{engine.url.database}" SET default_transaction_read_only = {value}'
            )
        )
    admin.dispose()


def test_a_worker_started_while_read_only_recovers(settings, session):
    user = make_user(session, Role.ANALYST)
    session.close()
    app = create_app(settings)
    engine = app.extensions["engine"]
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _query_only(dbapi_conn, _record):
            if app.config.get("_read_only"):
                dbapi_conn.execute("PRAGMA query_only=ON")

    engine.dispose()
    _read_only(app, True)
    try:
        client = app.test_client()
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json["writable"] != "ok"
        # Signing in writes (the audit row): refused with 503, not 500.
        r = login(client, user)
        assert r.status_code == 503 and r.headers["Retry-After"]
    finally:
        _read_only(app, False)
    r = app.test_client().get("/readyz")
    assert r.status_code == 200, r.json
    assert login(app.test_client(), user, PASSWORD).status_code == 302
    app.extensions["engine"].dispose()


def test_value_out_of_a_columns_range_is_400_not_500(app, client, session):
    """The net under every id check: the database's own overflow error is the request's
    fault (400), whichever view forgot to bound an id."""
    from flask import Blueprint

    from survey_app.db import get_session
    from survey_app.models import Wave

    bp = Blueprint("probe", __name__)

    @bp.route("/probe/<raw>")
    def probe(raw):
        return {"wave": str(get_session().get(Wave, int(raw)))}

    app.register_blueprint(bp)
    login(client, make_user(session, Role.ANALYST))
    assert client.get("/probe/99999999999999999999").status_code == 400
    assert client.get("/probe/9999999999").status_code in (200, 400)


def test_connections_killed_under_load_give_503_never_500(app, session):
    """What a PostgreSQL restart does to running requests (benchmarks/fault_bench.py
    found 500s there): every backend of the database is terminated again and again while
    four tablets submit; each answer is 201 or 503, and the 503s are retried into 201s."""
    import threading
    import time
    import uuid

    from .canvass_factories import assignments_of, make_fieldwork

    engine = app.extensions["engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("terminating backends is PostgreSQL's")
    wave, canvassers = make_fieldwork(session, app, max_attempts=100_000)
    aid = assignments_of(session, canvassers[0])[0].id
    session.close()
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        assert login(client, canvassers[0]).status_code == 302
    statuses: list[int] = []
    stop = threading.Event()

    def tablet(client):
        while not stop.is_set():
            visit = {"uuid": str(uuid.uuid4()), "assignment_id": aid, "outcome": "not_home",
                     "visited_at": "2026-11-29T08:00:00Z"}  # fmt: skip
            statuses.append(client.post("/api/visits", json=visit).status_code)

    threads = [threading.Thread(target=tablet, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    admin = create_engine(
        engine.url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        for _ in range(15):
            time.sleep(0.1)
            with admin.connect() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE datname = :db AND pid <> pg_backend_pid()"),
                    {"db": engine.url.database},
                )  # fmt: skip
    finally:
        stop.set()
        for t in threads:
            t.join()
        admin.dispose()
    assert set(statuses) <= {201, 503}, sorted(set(statuses))
    assert 201 in statuses
