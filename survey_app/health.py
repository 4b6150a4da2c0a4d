"""Liveness and readiness (issue 13.10).

``/healthz`` says the process answers (for a supervisor that restarts dead workers);
``/readyz`` says it can do its work: the database answers, takes writes (not read-only,
not a standby) and, for SQLite, its disk has room. A load balancer sends traffic only to
ready servers. Both are open to anyone and say nothing beyond ok / what is wrong.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine, text

DISK_FREE_MIN = 64 * 1024 * 1024  # bytes: below this a SQLite server is not ready


def readiness(engine: Engine) -> tuple[bool, dict[str, str]]:
    """(ready, one word per check: "ok" or what is wrong). A failed check is tried once
    more on fresh connections: pooled ones may keep a state that has since passed (a
    SQLite file opened while read-only stays read-only), and are dropped."""
    ready, checks = _check(engine)
    if not ready:
        engine.dispose()
        ready, checks = _check(engine)
    return ready, checks


def _check(engine: Engine) -> tuple[bool, dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["writable"] = _writable(conn)
    except Exception as err:  # any failure to reach the database means not ready
        checks["database"] = type(err).__name__
    if engine.dialect.name == "sqlite":
        checks["disk"] = _disk(engine)
    return all(v == "ok" for v in checks.values()), checks


def _writable(conn) -> str:
    if conn.dialect.name == "sqlite":
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # takes (and at once gives back) the lock
            conn.exec_driver_sql("ROLLBACK")
        except Exception as err:
            return type(err).__name__
        if conn.exec_driver_sql("PRAGMA query_only").scalar():
            return "read-only"
        return "ok"
    read_only = conn.execute(text("SHOW transaction_read_only")).scalar()
    standby = conn.execute(text("SELECT pg_is_in_recovery()")).scalar()
    return "read-only" if read_only == "on" or standby else "ok"


def _disk(engine: Engine) -> str:
    database = engine.url.database or ""
    if not database or database == ":memory:":
        return "ok"
    try:
        free = shutil.disk_usage(Path(database).resolve().parent).free
    except OSError as err:
        return type(err).__name__
    return "ok" if free >= DISK_FREE_MIN else "full"
