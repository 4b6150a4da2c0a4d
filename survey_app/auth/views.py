"""Sign in and out."""

import json
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from .. import installation
from ..db import get_session
from ..errors import ServiceError
from . import services, signin
from .forms import ChangePasswordForm, LoginForm
from .redirects import safe_next
from .sessions import sign_in

bp = Blueprint("auth", __name__, template_folder="templates")


def _demo_accounts() -> dict | None:
    """The demo accounts written by ``flask seed-demo``, shown on the sign-in page only
    when the database began as the demo (never a real city's)."""
    if not installation.is_demo():
        return None
    path = Path(current_app.instance_path) / "demo_accounts.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        attempt = signin.attempt(
            session=get_session(),
            username=form.username.data,
            password=form.password.data,
            address=request.remote_addr,
        )
        if attempt.user is not None:
            sign_in(attempt.user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
        if attempt.locked_minutes:
            message = _(
                "登录失败次数过多,账号已暂时锁定,请 %(n)s 分钟后再试。", n=attempt.locked_minutes
            )
            flash(message, "error")
            status = 423
        else:
            flash(_("用户名或密码不正确。"), "error")
            status = 401
        return render_template("auth/login.html", form=form, demo=_demo_accounts()), status
    return render_template("auth/login.html", form=form, demo=_demo_accounts())


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out — everywhere: the session epoch moves on, so every cookie of this user
    (other tablets, a copied remember cookie) stops working."""
    signin.sign_out(session=get_session(), user=current_user, address=request.remote_addr)
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; required after a generated or reset password."""
    form = ChangePasswordForm()
    forced = current_user.must_change_password
    if form.validate_on_submit():
        session = get_session()
        try:
            services.change_password(
                session=session,
                user=current_user,
                current=form.current.data,
                new=form.new.data,
                confirm=form.confirm.data,
            )
        except ServiceError as err:
            session.rollback()
            flash(err.message, "error")
            return render_template("auth/change_password.html", form=form, forced=forced), 400
        # The change ended every session of this user (the epoch moved on): this one
        # goes on under the new epoch; other devices must sign in with the new password.
        sign_in(current_user._get_current_object())
        flash(_("密码已修改。"), "success")
        return redirect(url_for("main.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/change_password.html", form=form, forced=forced), status
