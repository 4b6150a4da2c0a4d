"""JSON API for the tablet app (sync) and other clients. Errors are JSON (errors.py)."""

from flask import Blueprint
from flask_login import current_user, login_required

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.route("/me")
@login_required
def me():
    return {
        "username": current_user.username,
        "display_name": current_user.display_name,
        "role": current_user.role,
        "community_id": current_user.community_id,
    }
