"""Sign-in (Flask-Login), CSRF (Flask-WTF) and role checks for views."""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from ..models import User
from . import sessions

login_manager = LoginManager()
csrf = CSRFProtect()


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
