"""Settings from the environment, with defaults that make `make run` work alone.

``DATABASE_URL``  SQLAlchemy URL; default ``sqlite:///instance/survey.db`` (WAL mode).
``SECRET_KEY``    session signing key; when absent, one is generated once and kept in
                  ``instance/secret_key`` so sessions survive restarts.
``LOG_LEVEL``     logging level name (default INFO).
``INSTRUMENTS_DIR`` extra directory of questionnaire files (default: the packaged forms).
``MAX_IMPORT_BYTES`` largest household frame upload (default 200 MB; other requests 16 MB).
``TIMEZONE``      the local time zone of exports meant for reading (default Asia/Shanghai).
``SECRET_KEY_FILE`` where the generated key is kept (default ``instance/secret_key``): keep
                  it apart from the database backups.

Security settings (docs/operations.md, "Security settings"):
``SESSION_COOKIE_SECURE`` ``1``/``0``: cookies only over HTTPS (default on unless
                  ``FLASK_DEBUG`` is set); also turns on HSTS.
``TRUSTED_PROXIES`` how many reverse proxies stand in front (Werkzeug's ProxyFix reads that
                  many X-Forwarded-* hops); 0 (default): none, the peer address is the client.
``REMEMBER_DAYS`` how long a canvasser's tablet stays signed in (default 30; 0: never
                  remembered). Other roles are never remembered.
``IDLE_TIMEOUT_MINUTES`` analysts, supervisors and admins are signed out after this long
                  without a request (default 30; 0: never).
``REDIS_URL``     the sign-in rate limits' store (shared by all workers); memory otherwise.
``REDIS_KEY_PREFIX`` what the limits' keys start with in Redis (default ``survey``): apps
                  sharing one Redis database need different prefixes.
``LOGIN_LIMIT_ADDRESS`` / ``LOGIN_LIMIT_ACCOUNT`` failed sign-ins allowed per address /
                  per account (defaults "30 per minute;300 per day" / "10 per minute").
``LOCKOUT_FAILURES`` / ``LOCKOUT_MINUTES`` an account is locked for LOCKOUT_MINUTES
                  (default 15) after LOCKOUT_FAILURES failures in a row (default 10).
``RETENTION_DAYS`` positions and free text of interviews older than this are deleted by
                  ``flask purge-personal-data`` (default 365).
``SQLITE_SYNCHRONOUS`` ``FULL`` (default: an acknowledged submission survives power loss)
                  or ``NORMAL`` (faster; the last commits may be lost on power loss).
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
    cookie_secure: bool = False
    trusted_proxies: int = 0
    remember_days: int = 30
    idle_minutes: int = 30
    redis_url: str | None = None
    redis_key_prefix: str = "survey"
    login_limit_address: str = "30 per minute;300 per day"
    login_limit_account: str = "10 per minute"
    lockout_failures: int = 10
    lockout_minutes: int = 15
    retention_days: int = 365
    sqlite_synchronous: str = "FULL"
    extra: dict = field(default_factory=dict)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)


def _secret_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
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
    key_file = Path(env.get("SECRET_KEY_FILE") or instance_path / "secret_key")
    debug = env.get("FLASK_DEBUG", "").lower() in ("1", "true", "yes")
    synchronous = env.get("SQLITE_SYNCHRONOUS", "FULL").upper()
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise SystemExit(f"SQLITE_SYNCHRONOUS={synchronous!r}: FULL, EXTRA or NORMAL")
    return Settings(
        database_url=url,
        secret_key=env.get("SECRET_KEY") or _secret_key(key_file),
        instance_path=instance_path,
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        instruments_dir=Path(instruments_dir) if instruments_dir else None,
        timezone=timezone,
        max_import_bytes=_bytes(env.get("MAX_IMPORT_BYTES"), 200 * 1024 * 1024),
        cookie_secure=_flag(env, "SESSION_COOKIE_SECURE", default=not debug),
        trusted_proxies=_count(env, "TRUSTED_PROXIES", 0),
        remember_days=_count(env, "REMEMBER_DAYS", 30),
        idle_minutes=_count(env, "IDLE_TIMEOUT_MINUTES", 30),
        redis_url=env.get("REDIS_URL") or None,
        redis_key_prefix=env.get("REDIS_KEY_PREFIX") or Settings.redis_key_prefix,
        login_limit_address=env.get("LOGIN_LIMIT_ADDRESS", Settings.login_limit_address),
        login_limit_account=env.get("LOGIN_LIMIT_ACCOUNT", Settings.login_limit_account),
        lockout_failures=_count(env, "LOCKOUT_FAILURES", 10),
        lockout_minutes=_count(env, "LOCKOUT_MINUTES", 15),
        retention_days=_count(env, "RETENTION_DAYS", 365),
        sqlite_synchronous=synchronous,
    )


def _flag(env, name: str, *, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name}={value!r}: use 1 or 0")


def _count(env, name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit():
        raise SystemExit(f"{name}={value!r}: a whole number ≥ 0 is needed")
    return int(value)


def _bytes(raw: str | None, default: int) -> int:
    return int(raw) if raw and raw.strip().isdigit() else default
