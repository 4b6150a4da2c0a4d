"""Admin: the geography tree (区县 → 街道 → 社区), its import, renaming, adding and
deactivating units."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..db import get_session
from ..errors import ServiceError
from ..tabular import FileImportError
from . import geography
from .blueprint import actor_id, admin_only, bp
from .forms import ActionForm, AddUnitForm, RenameForm, UploadForm


def _page(status: int = 200, **extra):
    page = render_template(
        "admin/geography.html",
        tree=geography.tree(session=get_session()),
        form=UploadForm(),
        add_form=extra.pop("add_form", None) or AddUnitForm(),
        rename_form=RenameForm(),
        action_form=ActionForm(),
        **extra,
    )
    return page, status


@bp.route("/geography")
@admin_only
def geography_page():
    return _page()


@bp.route("/geography/import", methods=["POST"])
@admin_only
def geography_import():
    form = UploadForm()
    if not form.validate_on_submit():
        flash(_("请选择要导入的文件。"), "error")
        return _page(400)
    try:
        report = geography.import_geography(
            session=get_session(), source=form.file.data.read(), actor_id=actor_id()
        )
    except FileImportError as err:
        get_session().rollback()
        return _page(400, import_errors=err.errors)
    flash(_("已导入 %(n)d 行。", n=report.rows) + " " + report.summary(), "success")
    return redirect(url_for("admin.geography_page"))


@bp.route("/geography/add", methods=["POST"])
@admin_only
def geography_add():
    form = AddUnitForm()
    if not form.validate_on_submit():
        flash(_("请填写编码和名称。"), "error")
        return _page(400, add_form=form)
    try:
        unit = geography.add_unit(
            session=get_session(),
            level=form.level.data,
            code=form.code.data,
            name=form.name.data,
            parent_code=form.parent_code.data,
            actor_id=actor_id(),
        )
    except ServiceError as err:
        get_session().rollback()
        flash(err.message, "error")
        return _page(400, add_form=form)
    flash(_("已添加 %(name)s(%(code)s)。", name=unit.name, code=unit.code), "success")
    return redirect(url_for("admin.geography_page"))


@bp.route("/geography/<level>/<int:unit_id>/rename", methods=["POST"])
@admin_only
def geography_rename(level: str, unit_id: int):
    form = RenameForm()
    if not form.validate_on_submit():
        flash(_("名称不能为空,最多 100 个字符。"), "error")
        return _page(400)
    try:
        geography.rename(
            session=get_session(),
            level=level,
            unit_id=unit_id,
            name=form.name.data,
            actor_id=actor_id(),
        )
    except ServiceError as err:
        get_session().rollback()
        flash(err.message, "error")
        return _page(err.status)
    flash(_("已改名为 %(name)s。", name=form.name.data.strip()), "success")
    return redirect(url_for("admin.geography_page") + f"#{level}-{unit_id}")


@bp.route("/geography/<level>/<int:unit_id>/<any(activate, deactivate):action>", methods=["POST"])
@admin_only
def geography_active(level: str, unit_id: int, action: str):
    if not ActionForm().validate_on_submit():
        return _page(400)
    try:
        unit = geography.set_active(
            session=get_session(),
            level=level,
            unit_id=unit_id,
            active=action == "activate",
            actor_id=actor_id(),
        )
    except ServiceError as err:
        get_session().rollback()
        flash(err.message, "error")
        return _page(err.status)
    message = (
        _("已启用 %(name)s。")
        if unit.active
        else _("已停用 %(name)s:历史数据保留,新轮次不再包含。")
    )
    flash(message % {"name": unit.name}, "success")
    return redirect(url_for("admin.geography_page") + f"#{level}-{unit_id}")
