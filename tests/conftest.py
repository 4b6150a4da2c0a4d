"""Shared fixtures: an app on its own database per test (SQLite, or PostgreSQL when
``SURVEY_TEST_DB=postgresql``), a client, a CLI runner and data factories.

Each test gets a fresh database copied from a template migrated once per run: a file
copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL (dropped after the test).
"""

from __future__ import annotations

import gc
import itertools
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("SURVEY_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "SURVEY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_counter = itertools.count()


def pytest_report_header(config):
    return f"database backend: {BACKEND}"


def _pg_admin_engine():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def postgres_available() -> bool:
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


class Databases:
    """Makes one fresh, migrated database per test."""

    def __init__(self, backend: str, workdir: Path):
        from survey_app import migrate

        self.backend = backend
        self.workdir = workdir
        tag = f"survey_test_{os.getpid()}"
        if backend == "sqlite":
            self.template = workdir / "template.db"
            migrate.upgrade(f"sqlite:///{self.template}")
        else:
            self.engine = _pg_admin_engine()
            self.template = f"{tag}_tpl"
            self.prefix = tag
            self._drop(self.template)
            with self.engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.template}"'))
            url = _pg_url(self.template)
            migrate.upgrade(url)
            create_engine(url).dispose()

    def _drop(self, name: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def new(self) -> tuple[str, callable]:
        n = next(_counter)
        if self.backend == "sqlite":
            path = self.workdir / f"test_{n}.db"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
        name = f"{self.prefix}_{n}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return _pg_url(name), lambda: self._drop(name)

    def close(self) -> None:
        if self.backend != "sqlite":
            self._drop(self.template)
            self.engine.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    if BACKEND == "postgresql":
        if not postgres_available():
            if os.environ.get("CI") == "true":
                pytest.exit(
                    f"PostgreSQL is not reachable at {PG_ADMIN_URL} (required when CI=true)",
                    returncode=1,
                )
            pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: PostgreSQL tests skipped")
    dbs = Databases(BACKEND, tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.close()


@pytest.fixture
def database_url(databases):
    url, drop = databases.new()
    yield url
    drop()


@pytest.fixture
def settings(database_url, tmp_path):
    from survey_app.config import Settings

    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        instance_path=tmp_path / "instance",
        testing=True,
        csrf_enabled=False,
        log_level="WARNING",
    )


@pytest.fixture
def app(settings):
    from survey_app import create_app

    # No garbage collection while the app is built: CPython 3.11.7's AST constructor
    # (werkzeug compiles each route with it) can fail with "recursion depth mismatch" when
    # a finalizer (a pooled connection of a dropped database) runs inside it
    # (python/cpython#106905, fixed in 3.11.8). Pausing the collector costs nothing; a full
    # gc.collect() before each app cost 0.2–0.5 s a test.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        app = create_app(settings)
    finally:
        if was_enabled:
            gc.enable()
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    with Session(app.extensions["engine"], expire_on_commit=False) as s:
        yield s
