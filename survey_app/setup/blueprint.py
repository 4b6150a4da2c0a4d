"""The admin blueprint (``/admin``); its pages live in the ``*_views`` modules."""

from flask import Blueprint, current_app, request
from flask_login import current_user

from ..auth import roles_required
from ..errors import abort_with
from ..models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
admin_only = roles_required(Role.ADMIN)


@bp.context_processor
def _names():
    from flask_babel import gettext as _

    return {
        "job_status_names": {
            "queued": _("排队中"),
            "reading": _("读取与检查中"),
            "failed": _("有错误,未导入"),
            "preview": _("试导入完成,等待确认"),
            "checked": _("试导入完成(未写入)"),
            "applying": _("写入中"),
            "done": _("已导入"),
        }
    }


def actor_id() -> int:
    return current_user.id


def page_arg() -> int:
    raw = request.args.get("page", "1").strip()
    if not raw.isdigit() or len(raw) > 6:
        abort_with(400, "页码应为正整数。")
    return max(1, int(raw))


def int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        abort_with(400, f"参数 {name} 应为数字。")
    return int(raw)


def instance_path():
    return current_app.instance_path
