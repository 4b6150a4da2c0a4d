"""Admin pages: the setup checklist and the import templates. Geography, users, the
household frame and questionnaires have their own modules, on the same blueprint."""

from flask import Response, abort, render_template
from sqlalchemy import func
from sqlmodel import select

from ..db import get_session
from ..models import Community, District, Household, InstrumentVersion, Street, User
from . import geography_views, household_views, questionnaire_views, user_views, workbooks
from .blueprint import admin_only, bp

__all__ = ["bp", "geography_views", "household_views", "questionnaire_views", "user_views"]

TEMPLATE_NAMES = {"geography": "地理区划", "users": "用户", "households": "户台账"}


def _count(model, *where) -> int:
    return get_session().exec(select(func.count()).select_from(model).where(*where)).one()


@bp.route("/")
@admin_only
def index():
    """Where the city's setup stands, step by step (区划 → 用户 → 户台账 → 问卷)."""
    counts = {
        "districts": _count(District),
        "streets": _count(Street),
        "communities": _count(Community, Community.active),
        "users": _count(User, User.active),
        "households": _count(Household, Household.active),
        "questionnaires": _count(InstrumentVersion),
    }
    return render_template("admin/index.html", counts=counts)


@bp.route("/templates/<kind>.xlsx")
@admin_only
def template(kind: str):
    """A blank import template: Chinese headers, an example row, the allowed codes."""
    if kind not in TEMPLATE_NAMES:
        abort(404)
    data = workbooks.template(kind, session=get_session())
    filename = f"{TEMPLATE_NAMES[kind]}导入模板.xlsx"
    from urllib.parse import quote

    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f"attachment; filename={kind}-template.xlsx; "
            f"filename*=UTF-8''{quote(filename)}"
        },
    )
