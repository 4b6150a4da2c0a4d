"""Community secretary (社区书记): their community's page."""

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from ..auth import roles_required
from ..db import get_session
from ..errors import abort_with
from ..models import Role
from ..services import NotFound, fieldwork

bp = Blueprint("results", __name__, url_prefix="/results")


@bp.route("/")
@roles_required(Role.SECRETARY)
def my_community():
    if current_user.community_id is None:
        abort(403)
    return redirect(url_for("results.community", community_id=current_user.community_id))


@bp.route("/community/<int:community_id>")
@roles_required(Role.SECRETARY, Role.ANALYST, Role.ADMIN)
def community(community_id: int):
    session = get_session()
    try:
        community = fieldwork.get_community(
            session=session, user=current_user, community_id=community_id
        )
    except NotFound as err:
        abort_with(404, err.message)
    wave = fieldwork.current_wave(session=session)
    progress = None
    if wave is not None:
        rows = [
            p
            for p in fieldwork.progress(session=session, user=current_user, wave=wave)
            if p.community_id == community.id
        ]
        progress = rows[0] if rows else None
    return render_template(
        "results/community.html", community=community, wave=wave, progress=progress
    )
