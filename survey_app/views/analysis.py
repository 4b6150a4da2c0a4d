"""Analyst (创文办): waves and fieldwork across the city."""

from flask import Blueprint, render_template
from flask_login import current_user

from ..auth import roles_required
from ..db import get_session
from ..models import Role
from ..services import fieldwork

bp = Blueprint("analysis", __name__, url_prefix="/analysis")


@bp.route("/")
@roles_required(Role.ANALYST, Role.ADMIN)
def index():
    session = get_session()
    wave = fieldwork.current_wave(session=session)
    rows = fieldwork.progress(session=session, user=current_user, wave=wave) if wave else []
    return render_template(
        "analysis/index.html", wave=wave, waves=fieldwork.list_waves(session=session), rows=rows
    )
