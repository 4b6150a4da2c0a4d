"""Error pages in the UI's language, JSON errors for JSON clients, never a stack trace.

``ServiceError`` (and ``NotFound``, ``Forbidden``) is what a service raises to refuse a
request with a message meant for the user; views turn it into a 4xx page or JSON.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

RETRY_AFTER = "5"  # seconds: a PostgreSQL restart or a freed disk takes about that
# PostgreSQL SQLSTATEs that mean "not now" rather than "wrong request": connection (08),
# insufficient resources such as a full disk (53), operator intervention such as a
# shutdown (57), read-only transaction (25006).
UNAVAILABLE_SQLSTATES = ("08", "53", "57", "25006")


class ServiceError(Exception):
    """A request the service refuses, with a message meant for the user."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _messages() -> dict[int, str]:
    return {
        400: _("请求有误,请检查后重试。"),
        401: _("请先登录。"),
        403: _("您没有权限查看此页面。"),
        404: _("找不到该页面或记录。"),
        405: _("不支持该请求方法。"),
        409: _("与已保存的记录冲突。"),
        413: _("上传的内容过大。"),
        422: _("提交的数据无法处理。"),
        429: _("请求过于频繁,请稍后再试。"),
        500: _("服务器出错了,我们已记录此问题。请稍后再试。"),
        503: _("数据库暂时不可用,请稍后重试(已保存在平板上的数据不会丢失)。"),
    }


def error_response(code: int, message: str | None = None, **extra):
    try:
        message = message or _messages().get(code, _("请求无法完成。"))
        if wants_json():
            return {"error": message, "status": code, **extra}, code
        return render_template("error.html", code=code, message=message), code
    except Exception:  # noqa: BLE001 - e.g. the database went away while rendering
        return _plain(code, message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        return error_response(400, _("页面已过期或缺少安全令牌(CSRF),请刷新后重试。"))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        if err.code is None or err.code < 400:
            return err
        custom = err.description if getattr(err, "custom_message", False) else None
        response = error_response(err.code, custom)
        if err.code == 405 and err.valid_methods:
            body, code = response
            return body, code, {"Allow": ", ".join(err.valid_methods)}
        return response

    @app.errorhandler(OperationalError)
    def _database_unavailable(err: OperationalError):
        """The database is down, restarting, read-only or out of disk: 503 and when to
        retry (a tablet keeps its outbox and tries again), never a 500."""
        app.logger.warning("Database unavailable on %s %s: %s", request.method, request.path,
                           str(err.orig or err).splitlines()[0])  # fmt: skip
        return _unavailable()

    @app.errorhandler(DBAPIError)
    def _database_error(err: DBAPIError):
        sqlstate = getattr(err.orig, "sqlstate", None) or ""
        if err.connection_invalidated or sqlstate.startswith(UNAVAILABLE_SQLSTATES):
            return _unavailable()
        if isinstance(err, DataError):  # a value out of a column's range: the request's fault
            return error_response(400)
        return _unexpected(err)

    @app.errorhandler(OverflowError)
    def _overflow(err: OverflowError):
        return error_response(400)

    def _unavailable():
        # The page of the error must not need the database: rendering touches the
        # signed-in user (language, menu), whose row cannot be read now.
        try:
            body, code = error_response(503)
        except Exception:  # noqa: BLE001 - any failure here: the plain answer below
            body, code = _plain(503), 503
        # The request's connections may hold the state that failed (a SQLite file opened
        # while read-only stays read-only; a PostgreSQL session keeps
        # default_transaction_read_only): close them rather than return them to the pool,
        # so the worker recovers without a restart (other pooled connections go the same
        # way on their own first failure; /readyz drops the whole pool when it fails).
        from flask import g

        session = g.pop("db_session", None)
        if session is not None:
            try:
                session.invalidate()  # its connections are closed, not returned to the pool
            except Exception:  # noqa: BLE001 - already broken: nothing more to close
                pass
        return body, code, {"Retry-After": RETRY_AFTER}

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(InternalServerError.code)


def _plain(code: int, message: str | None = None):
    """An error answer without templates, translations or the user (for when rendering
    the normal one failed: the database may be unreachable)."""
    from html import escape

    message = message or PLAIN.get(code, "请求无法完成。")
    if request.path.startswith("/api/") or "json" in (request.accept_mimetypes.best or ""):
        return {"error": message, "status": code}
    return f"<!doctype html><meta charset=utf-8><title>{code}</title><p>{escape(message)}</p>"


PLAIN = {
    401: "请先登录。Please sign in.",
    503: "数据库暂时不可用,请稍后重试。Database unavailable, please retry shortly.",
}


def abort_with(code: int, message: str):
    """Abort with a message meant for the user (shown on the error page / in JSON)."""
    from werkzeug.exceptions import default_exceptions

    exc = default_exceptions[code](description=message)
    exc.custom_message = True
    raise exc
