"""Moving a 问需/问计 item along 发现 → 交办 → 整改 → 反馈 (from the community page)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..auth import roles_required
from ..db import get_session
from ..errors import ServiceError, abort_with
from ..models import Role
from . import loop as feedback_loop

bp = Blueprint("feedback", __name__, url_prefix="/results/feedback")


class AdvanceFeedbackForm(FlaskForm):
    """Move one 问需/问计 item to its next step."""

    to_status = HiddenField(validators=[DataRequired()])
    assignee = StringField(_l("责任人或部门"), validators=[Optional(), Length(max=100)])
    note = TextAreaField(_l("情况说明"), validators=[Optional(), Length(max=1000)])


def step_labels() -> dict[str, str]:
    """发现 / 交办 / 整改 / 反馈 in the UI's language."""
    return {"found": _("发现"), "assigned": _("交办"), "fixing": _("整改"), "answered": _("反馈")}


@bp.route("/<int:item_id>/advance", methods=["POST"])
@roles_required(Role.SECRETARY, Role.ADMIN)
def advance(item_id: int):
    form = AdvanceFeedbackForm()
    if not form.validate_on_submit():
        abort_with(400, _("请求有误,请检查后重试。"))
    session = get_session()
    try:
        item = feedback_loop.advance(
            session=session,
            user=current_user,
            item_id=item_id,
            to_status=form.to_status.data,
            note=form.note.data,
            assignee=form.assignee.data,
        )
    except ServiceError as err:
        abort_with(err.status, err.message)
    flash(_("已更新为“%(step)s”。", step=step_labels()[item.status]), "success")
    target = url_for("results.community", community_id=item.community_id, wave=item.wave_id)
    return redirect(f"{target}#feedback-{item.id}")
