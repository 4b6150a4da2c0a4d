"""Backups of the database and their restore (issue 13.13), as ``flask backup FILE`` and
``flask restore FILE --yes`` — tested by tests/app/test_backup_retention.py on SQLite and
PostgreSQL.

- SQLite: SQLite's online backup (a consistent copy while the app runs; copying the file
  alone could miss the commits still in ``-wal``). Restore copies the backup into the
  database page by page; stop the app servers first.
- PostgreSQL: ``pg_dump -Fc`` and ``pg_restore --clean --if-exists --no-owner``.

The secret key is not in the database and so never in a backup: keep it apart
(``SECRET_KEY`` from the environment or ``SECRET_KEY_FILE``), so that a stolen backup
cannot forge sessions. Restoring without it only ends sessions (everyone signs in again).
"""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from .models import AuditLog, Response, User, Visit

COUNTED = {"users": User, "responses": Response, "visits": Visit, "audit": AuditLog}


class BackupError(Exception):
    """A backup or restore that could not be done, with a one-line reason."""


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("内存数据库无法备份")
    return Path(parsed.database)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, dest: Path) -> None:
    """Write a consistent backup of the database at ``url`` to ``dest``."""
    path = _sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise BackupError(f"找不到数据库文件 {path}")
        with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(dest)) as out:
            src.backup(out)
        return
    _run(["pg_dump", "-Fc", "--no-owner", "-f", str(dest), _libpq(url)])


def restore(url: str, src: Path) -> None:
    """Replace the database at ``url`` with the backup in ``src`` (stop the app first)."""
    if not src.exists():
        raise BackupError(f"找不到备份文件 {src}")
    path = _sqlite_path(url)
    if path is not None:
        with closing(sqlite3.connect(src)) as saved, closing(sqlite3.connect(path)) as live:
            saved.backup(live)
        return
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", _libpq(url), str(src)])


def counts(url: str) -> dict[str, int]:
    """Rows of the tables that matter, to compare a restore with what was backed up."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(model)).scalar_one()
                for name, model in COUNTED.items()
            }
    finally:
        engine.dispose()


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"找不到 {command[0]}(PostgreSQL 客户端工具)") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{command[0]} 失败:{lines[-1] if lines else done.returncode}")
