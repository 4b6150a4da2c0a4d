"""Admin: users — search and pages, import with one-time passwords, edit role and scope,
deactivate and reactivate, reset a password."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import select

from ..db import get_session
from ..errors import ServiceError, abort_with
from ..models import Community, Role
from ..tabular import FileImportError, split_codes
from . import user_import
from . import users as user_service
from .blueprint import actor_id, admin_only, bp, instance_path, int_arg, page_arg
from .forms import ActionForm, UploadForm, UserEditForm

ONE_TIME_TTL = 3600  # a passwords file can be fetched once, within an hour


def _filters() -> dict:
    active = request.args.get("active", "")
    return {
        "query": request.args.get("q", "")[:100],
        "role": request.args.get("role", "") if request.args.get("role") in set(Role) else "",
        "community_id": int_arg("community"),
        "active": {"1": True, "0": False}.get(active),
    }


def _list_page(status: int = 200, **extra):
    session = get_session()
    filters = _filters()
    result = user_service.search_users(session=session, page=page_arg(), **filters)
    communities = session.exec(select(Community).order_by(Community.code)).all()
    return render_template(
        "admin/users.html",
        result=result,
        filters=filters,
        communities=communities,
        form=UploadForm(),
        action_form=ActionForm(),
        **extra,
    ), status


@bp.route("/users")
@admin_only
def users_page():
    return _list_page()


def _passwords_dir() -> Path:
    path = Path(instance_path()) / "one_time_passwords"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _keep_passwords(data: bytes) -> str:
    """Keep a passwords file for one download by this admin; returns its token."""
    token = secrets.token_urlsafe(24)
    folder = _passwords_dir()
    fd = os.open(folder / f"{token}.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    meta = {"user": actor_id(), "at": time.time()}
    (folder / f"{token}.json").write_text(json.dumps(meta))
    return token


@bp.route("/users/import", methods=["POST"])
@admin_only
def users_import():
    form = UploadForm()
    if not form.validate_on_submit():
        flash(_("请选择要导入的文件。"), "error")
        return _list_page(400)
    try:
        report = user_import.import_users(
            session=get_session(), source=form.file.data.read(), actor_id=actor_id()
        )
    except FileImportError as err:
        get_session().rollback()
        return _list_page(400, import_errors=err.errors)
    token = _keep_passwords(user_import.passwords_csv(report)) if report.passwords else None
    return render_template("admin/users_imported.html", report=report, token=token)


@bp.route("/users/passwords/<token>.csv")
@admin_only
def users_passwords(token: str):
    """The one-time passwords of an import: downloadable once, by the admin who imported."""
    if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        abort(404)
    folder = _passwords_dir()
    data_path, meta_path = folder / f"{token}.csv", folder / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text())
        data = data_path.read_bytes()
    except (OSError, ValueError):
        abort_with(404, _("该密码文件已下载过或已过期;如有需要,请为用户重设密码。"))
    data_path.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)
    if meta.get("user") != actor_id() or time.time() - meta.get("at", 0) > ONE_TIME_TTL:
        abort_with(404, _("该密码文件已下载过或已过期;如有需要,请为用户重设密码。"))
    return Response(
        data,
        mimetype="text/csv",
        headers={
            "Content-Disposition": "attachment; filename=one-time-passwords.csv",
            "Cache-Control": "no-store",
        },
    )


def _edit_page(user, form=None, status: int = 200, **extra):
    session = get_session()
    if form is None:
        form = UserEditForm(
            display_name=user.display_name,
            role=user.role,
            scope="、".join(user_service.scope_codes(session=session, user=user)),
        )
    return render_template(
        "admin/user_edit.html", user=user, form=form, action_form=ActionForm(), **extra
    ), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_only
def user_edit(user_id: int):
    session = get_session()
    try:
        user = user_service.get_user(session=session, user_id=user_id)
    except ServiceError as err:
        abort_with(err.status, err.message)
    if request.method == "GET":
        return _edit_page(user)
    form = UserEditForm()
    if not form.validate_on_submit():
        return _edit_page(user, form, 400)
    try:
        user_service.update_user(
            session=session,
            user=user,
            display_name=form.display_name.data,
            role=form.role.data,
            codes=split_codes(form.scope.data or ""),
            actor_id=actor_id(),
        )
    except ServiceError as err:
        session.rollback()
        flash(err.message, "error")
        return _edit_page(user, form, 400)
    flash(_("已保存 %(name)s 的角色和范围。", name=user.username), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/<any(activate, deactivate):action>", methods=["POST"])
@admin_only
def user_active(user_id: int, action: str):
    session = get_session()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        user = user_service.get_user(session=session, user_id=user_id)
        user_service.set_active(
            session=session, user=user, active=action == "activate", actor_id=actor_id()
        )
    except ServiceError as err:
        session.rollback()
        flash(err.message, "error")
        return redirect(url_for("admin.user_edit", user_id=user_id))
    flash(
        _("已启用 %(name)s。", name=user.username)
        if user.active
        else _("已停用 %(name)s:不能再登录,已登录的会话立即失效。", name=user.username),
        "success",
    )
    back = request.form.get("back", "")
    if not back.startswith("/admin/users"):  # only back to the user pages: no open redirect
        back = url_for("admin.user_edit", user_id=user_id)
    return redirect(back)


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@admin_only
def user_reset_password(user_id: int):
    session = get_session()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        user = user_service.get_user(session=session, user_id=user_id)
        password = user_service.set_password(
            session=session, user=user, password=None, actor_id=actor_id()
        )
    except ServiceError as err:
        abort_with(err.status, err.message)
    page, status = _edit_page(user, one_time_password=password)
    return page, status, {"Cache-Control": "no-store"}
