"""Admin: users, communities, household frame import."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..db import get_session
from ..models import Role
from . import frame, users
from .forms import HouseholdImportForm

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    return render_template(
        "admin/index.html",
        users=users.list_users(session=get_session()),
        form=HouseholdImportForm(),
    )


@bp.route("/households/import", methods=["POST"])
@roles_required(Role.ADMIN)
def import_households():
    form = HouseholdImportForm()
    if not form.validate_on_submit():
        flash(_("请选择要导入的 CSV 文件。"), "error")
        return render_template(
            "admin/index.html", users=users.list_users(session=get_session()), form=form
        ), 400
    try:
        report = frame.import_households(
            session=get_session(), data=form.file.data.read(), actor_id=current_user.id
        )
    except frame.FrameImportError as err:
        get_session().rollback()
        return render_template(
            "admin/index.html",
            users=users.list_users(session=get_session()),
            form=form,
            import_errors=err.errors,
        ), 400
    flash(_("已导入 %(n)d 户。", n=report.households), "success")
    return redirect(url_for("admin.index"))
