"""Canvasser (入户调查员): today's assigned households."""

from flask import Blueprint, render_template
from flask_login import current_user

from ..auth import roles_required
from ..db import get_session
from ..models import Role
from ..services import fieldwork

bp = Blueprint("canvass", __name__, url_prefix="/canvass")


@bp.route("/")
@roles_required(Role.CANVASSER, Role.ADMIN)
def index():
    session = get_session()
    wave = fieldwork.current_wave(session=session)
    groups = (
        fieldwork.assignments_for(session=session, user=current_user, wave=wave) if wave else {}
    )
    return render_template("canvass/index.html", wave=wave, groups=groups)
