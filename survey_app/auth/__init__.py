"""Sign-in (Flask-Login), CSRF (Flask-WTF) and role checks for views."""

from __future__ import annotations

import hmac
import logging
from functools import lru_cache, wraps

from flask import Flask, abort, current_app, g, request, session
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect, same_origin
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from wtforms import ValidationError

from ..models import User
from . import sessions

# Only these bodies have form fields (Werkzeug parses no other type into request.form).
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_csrf_log = logging.getLogger("flask_wtf.csrf")  # where Flask-WTF logs a refused token


class _CSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF check with the same rules, order and messages, minus per-request
    work a tablet's every JSON submission paid for nothing (~40 µs): the token's
    serializer is made once per secret key (Flask-WTF builds one, and test-serializes
    with it, on each request), and a body that is not a form is not run through the form
    parser to find that it has no fields. Pages' forms are checked exactly as before."""

    def protect(self, apply_exemptions=False):
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        config = current_app.config
        if request.method not in config["WTF_CSRF_METHODS"]:
            return
        try:
            _validate_csrf(self._get_csrf_token())
        except ValidationError as e:
            _csrf_log.info(e.args[0])
            self._error_response(e.args[0])
        if request.is_secure and config["WTF_CSRF_SSL_STRICT"]:
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True

    def _get_csrf_token(self):
        if request.mimetype in _FORM_TYPES:
            return super()._get_csrf_token()
        for header_name in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header_name)
            if token:
                return token
        return None


def _validate_csrf(data) -> None:
    """flask_wtf.csrf.validate_csrf with the configured key, field and time limit."""
    config = current_app.config
    secret_key = config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key)
    field_name = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if secret_key is None or field_name is None:
        raise RuntimeError("A secret key and a field name are required to use CSRF.")
    if not data:
        raise ValidationError("The CSRF token is missing.")
    if field_name not in session:
        raise ValidationError("The CSRF session token is missing.")
    try:
        token = _csrf_serializer(secret_key).loads(
            data, max_age=config.get("WTF_CSRF_TIME_LIMIT", 3600)
        )
    except SignatureExpired as e:
        raise ValidationError("The CSRF token has expired.") from e
    except BadData as e:
        raise ValidationError("The CSRF token is invalid.") from e
    if not hmac.compare_digest(session[field_name], token):
        raise ValidationError("The CSRF tokens do not match.")


@lru_cache(maxsize=8)
def _csrf_serializer(secret_key: str | bytes) -> URLSafeTimedSerializer:
    # Flask-WTF's own salt: tokens made by generate_csrf (forms, the meta tag) verify here.
    return URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token")


login_manager = LoginManager()
csrf = _CSRFProtect()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    sessions.init_app(app)

    app.before_request(_require_password_change)

    @login_manager.unauthorized_handler
    def _unauthorized():
        from flask import redirect, request, url_for

        from ..errors import error_response, wants_json

        if wants_json():
            return error_response(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


@login_manager.user_loader
def _load_user(token: str) -> User | None:
    return sessions.load_user(token)


# What a user who must change their password may still reach.
_OPEN_WHILE_CHANGING = {"auth.change_password", "auth.logout", "static", "main.set_language"}


def _require_password_change():
    """A user with a generated or reset password is sent to change it before anything."""
    from flask import redirect, request, url_for

    from ..errors import error_response, wants_json

    if request.endpoint in _OPEN_WHILE_CHANGING or request.endpoint is None:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    if wants_json():
        return error_response(403, "请先修改密码(首次登录或密码被重设后须修改)。")
    return redirect(url_for("auth.change_password"))


def roles_required(*roles: str):
    """Allow only signed-in users whose role is one of ``roles`` (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
