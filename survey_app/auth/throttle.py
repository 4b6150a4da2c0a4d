"""Sign-in throttling and lockout (issue 13.5).

Failed sign-ins are limited per address and per account with Flask-Limiter (the Redis
store when ``REDIS_URL`` is set, so that all workers and servers count together; memory
per worker otherwise). Only failures count: a city's offices share addresses behind NAT,
and 30 canvassers signing in at eight in the morning must not lock each other out.

An account is locked for ``LOCKOUT_MINUTES`` after ``LOCKOUT_FAILURES`` failures in a row
(the lock survives restarts: it is on the user's row); while it is locked no password is
checked, so guessing costs the server nothing.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from ..models import User
from ..models._types import utcnow


def init_app(app: Flask) -> None:
    """Limit failed sign-ins on ``auth.login`` (call after the blueprints are registered)."""
    settings = app.config["SETTINGS"]
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        in_memory_fallback_enabled=bool(settings.redis_url),
        key_prefix=settings.redis_key_prefix,
        headers_enabled=True,
        strategy="moving-window",
    )
    app.extensions["login_limiter"] = limiter
    _hooks_on_blueprint(app, limiter, "auth")
    # Only the sign-in form is limited. Without this filter Flask-Limiter resolves the
    # limits of every request's endpoint (blueprints, exemptions, defaults) before its view
    # runs: ~50 µs of every tablet submission, for nothing.
    limiter.request_filter(_not_login)
    failed = _failed
    view = app.view_functions["auth.login"]
    view = limiter.limit(
        settings.login_limit_account, key_func=_account, methods=["POST"], deduct_when=failed,
        scope="login-account",
    )(view)  # fmt: skip
    view = limiter.limit(
        settings.login_limit_address, methods=["POST"], deduct_when=failed, scope="login-address"
    )(view)
    app.view_functions["auth.login"] = view


def _hooks_on_blueprint(app: Flask, limiter: Limiter, blueprint: str) -> None:
    """Run the limiter's request hooks for ``blueprint``'s requests only (the sign-in form
    is ``auth.login``), not around every request of the app: the check, its headers and
    its context reset cost each tablet submission ~30 µs although nothing else is limited
    (the request filter only makes the check return early). Same hooks, same order among the
    app's: the check after the app's own before-request hooks, the headers first after."""
    check, release = limiter._check_request_limit, limiter._Limiter__release_context

    def is_inject(hook) -> bool:
        return isinstance(hook, partial) and hook.args == (limiter,)

    for kind, funcs in (("before", app.before_request_funcs), ("after", app.after_request_funcs),
                        ("teardown", app.teardown_request_funcs)):  # fmt: skip
        hooks = funcs.get(None, [])
        mine = [h for h in hooks if h == check or h == release or is_inject(h)]
        if len(mine) != 1:
            raise RuntimeError(f"Flask-Limiter's {kind}-request hook not found: {hooks!r}")
        hooks.remove(mine[0])
        funcs.setdefault(blueprint, []).append(mine[0])


def _not_login() -> bool:
    return request.endpoint != "auth.login"


def _failed(response) -> bool:
    return response.status_code in (401, 423)


def _account() -> str:
    return "account:" + (request.form.get("username") or "").strip().lower()[:64]


def locked(user: User) -> bool:
    until = user.locked_until
    if until is None:
        return False
    if until.tzinfo is None:  # SQLite returns naive UTC
        from datetime import UTC

        until = until.replace(tzinfo=UTC)
    return until > utcnow()


def record_failure(user: User, *, failures: int, minutes: int) -> bool:
    """Count a wrong password; lock the account at ``failures`` in a row. True if locked now."""
    user.failed_logins = (user.failed_logins or 0) + 1
    if failures and user.failed_logins >= failures:
        user.failed_logins = 0
        user.locked_until = utcnow() + timedelta(minutes=minutes)
        return True
    return False


def record_success(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
