"""Settings from the environment, with defaults that make `make run` work alone.

``DATABASE_URL``  SQLAlchemy URL; default ``sqlite:///instance/survey.db`` (WAL mode).
``SECRET_KEY``    session signing key; when absent, one is generated once and kept in
                  ``instance/secret_key`` so sessions survive restarts.
``LOG_LEVEL``     logging level name (default INFO).
``INSTRUMENTS_DIR`` extra directory of questionnaire files (default: the packaged forms).
``MAX_IMPORT_BYTES`` largest household frame upload (default 200 MB; other requests 16 MB).
``TIMEZONE``      the local time zone of exports meant for reading (default Asia/Shanghai).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    instance_path: Path
    log_level: str = "INFO"
    instruments_dir: Path | None = None
    testing: bool = False
    csrf_enabled: bool = True
    max_content_length: int = 16 * 1024 * 1024
    # The household frame upload only (streamed to disk, read in a background job).
    max_import_bytes: int = 200 * 1024 * 1024
    default_locale: str = "zh"
    timezone: str = "Asia/Shanghai"
    extra: dict = field(default_factory=dict)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)


def _secret_key(instance_path: Path) -> str:
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def settings_from_env(environ: dict | None = None) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``)."""
    env = os.environ if environ is None else environ
    instance_path = Path(env.get("INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()
    instance_path.mkdir(parents=True, exist_ok=True)
    url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'survey.db'}"
    if url.startswith("postgres://"):  # Heroku-style URLs
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    instruments_dir = env.get("INSTRUMENTS_DIR")
    timezone = env.get("TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise SystemExit(
            f"TIMEZONE={timezone!r} is not a known time zone (e.g. Asia/Shanghai)"
        ) from None
    return Settings(
        database_url=url,
        secret_key=env.get("SECRET_KEY") or _secret_key(instance_path),
        instance_path=instance_path,
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        instruments_dir=Path(instruments_dir) if instruments_dir else None,
        timezone=timezone,
        max_import_bytes=_bytes(env.get("MAX_IMPORT_BYTES"), 200 * 1024 * 1024),
    )


def _bytes(raw: str | None, default: int) -> int:
    return int(raw) if raw and raw.strip().isdigit() else default
