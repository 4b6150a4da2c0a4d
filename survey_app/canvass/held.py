"""Submissions held back by the sync (fieldwork analysts): a visit or interview a tablet
sent for a household that had been reassigned or taken back, or dated outside the
wave's days. The tablet keeps it in its outbox, marked refused with the reason; here an
analyst accepts it into the wave (stored as its canvasser sent it, every other check
still applied) or dismisses it. Both are audited. Lives in ``canvass`` because accepting
stores through :mod:`.sync`."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import Session, select

from .. import audit
from ..auth import roles_required
from ..db import get_session
from ..errors import NotFound, ServiceError
from ..models import Assignment, Community, HeldSubmission, Household, Role, User, Wave
from ..models._types import utcnow
from . import sync

bp = Blueprint("held", __name__, url_prefix="/fieldwork/held", template_folder="templates")
ANALYSTS = (Role.ANALYST, Role.ADMIN)
REASONS = {
    "reassigned": "已改派他人",
    "unassigned": "已收回",
    "outside_dates": "不在调查日期内",
}


def pending(*, session: Session, wave_id: int | None = None) -> list[dict]:
    """Held submissions not yet accepted or dismissed, oldest first."""
    stmt = (
        select(HeldSubmission, Wave.name, User.display_name, Household.code, Community.name)
        .join(Wave, HeldSubmission.wave_id == Wave.id)
        .join(User, HeldSubmission.user_id == User.id)
        .join(Assignment, HeldSubmission.assignment_id == Assignment.id)
        .join(Household, Assignment.household_id == Household.id)
        .join(Community, Assignment.community_id == Community.id)
        .where(HeldSubmission.resolution.is_(None))
        .order_by(HeldSubmission.id)
    )
    if wave_id is not None:
        stmt = stmt.where(HeldSubmission.wave_id == wave_id)
    return [
        {"held": h, "wave": w, "canvasser": u, "household": hh, "community": c,
         "reason": REASONS.get(h.reason, h.reason)}
        for h, w, u, hh, c in session.exec(stmt).all()
    ]  # fmt: skip


def resolve(*, session: Session, held_id: int, accept: bool, analyst_id: int) -> sync.Result | None:
    """Accept (store through the sync, as the canvasser sent it) or dismiss."""
    held = session.get(HeldSubmission, held_id)
    if held is None or held.resolution is not None:
        raise NotFound("找不到该待处理记录(可能已处理)。")
    result = None
    if accept:
        canvasser = session.get(User, held.user_id)
        uuid, kind, payload = held.uuid, held.kind, dict(held.payload)
        session.commit()
        result = sync.accept_held(
            session=session, user=canvasser, uuid=uuid, payload=payload, kind=kind
        )
        if result.status not in (200, 201):
            raise ServiceError(f"无法接收:{result.body.get('error', result.status)}", status=409)
        held = session.get(HeldSubmission, held_id)
    held.resolution = "accepted" if accept else "dismissed"
    held.resolved_by, held.resolved_at = analyst_id, utcnow()
    session.add(held)
    audit.record(session=session, action=f"held.{held.resolution}", entity="held_submission",
                 entity_id=held.uuid, user_id=analyst_id, detail={"reason": held.reason, "kind": held.kind})  # fmt: skip
    session.commit()
    return result


@bp.route("/")
@roles_required(*ANALYSTS)
def index():
    wave_id = request.args.get("wave", type=int)
    return render_template("held/index.html", items=pending(session=get_session(), wave_id=wave_id))


@bp.route("/<int:held_id>", methods=["POST"])
@roles_required(*ANALYSTS)
def decide(held_id: int):
    accept = request.form.get("decision") == "accept"
    try:
        resolve(session=get_session(), held_id=held_id, accept=accept, analyst_id=current_user.id)
    except ServiceError as err:
        get_session().rollback()
        flash(err.message, "error")
        return redirect(url_for("held.index"))
    flash("已接收,记入本轮。" if accept else "已忽略该记录。", "success")
    return redirect(url_for("held.index"))
