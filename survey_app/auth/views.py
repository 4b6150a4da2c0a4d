"""Sign in and out."""

import json
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import installation
from ..db import get_session
from ..errors import ServiceError
from . import services
from .forms import ChangePasswordForm, LoginForm

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
        user = services.authenticate(
            session=get_session(), username=form.username.data, password=form.password.data
        )
        if user is not None:
            login_user(user, remember=True)
            target = request.args.get("next", "")
            # Only same-site relative paths: never an open redirect.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("main.home")
            return redirect(target)
        flash(_("用户名或密码不正确。"), "error")
        return render_template("auth/login.html", form=form, demo=_demo_accounts()), 401
    return render_template("auth/login.html", form=form, demo=_demo_accounts())


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
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
        flash(_("密码已修改。"), "success")
        return redirect(url_for("main.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/change_password.html", form=form, forced=forced), status
