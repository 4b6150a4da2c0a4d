"""督导审核 pages: the review queue, an interview's page and its actions, the canvasser
quality page, back-checks, and a wave's quality settings (docs/quality.md).

Views parse, call one service, render or redirect; services refuse with ServiceError.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth import roles_required
from ..db import get_session
from ..errors import ServiceError, error_response
from ..i18n import select_locale as current_language
from ..models import Role, Wave
from . import backcheck, quality, review, review_queue, waves
from .quality_rules import FLAG_LABELS, Thresholds, describe

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")
REVIEWERS = review.REVIEWER_ROLES


@bp.errorhandler(ServiceError)
def _refused(err: ServiceError):
    """A service's refusal as a 4xx page (or JSON) naming the reason, never a 500."""
    return error_response(err.status, err.message)


def _tz() -> str:
    return current_app.config["SETTINGS"].timezone


@bp.app_template_filter("localtime")
def localtime(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(_tz())).strftime(fmt)


@bp.context_processor
def _labels():
    return {
        "FLAG_LABELS": FLAG_LABELS,
        "STATE_LABELS": {str(k): v for k, v in review.STATE_LABELS.items()},
        "ACTION_LABELS": {str(k): v for k, v in review.ACTION_LABELS.items()},
        "describe_flag": describe,
        "OUTCOME_LABELS": {
            "completed": "完成",
            "not_home": "不在家",
            "refused": "拒访",
            "vacant": "空置",
            "ineligible": "不符合条件",
        },
    }


def _wave(session, wave_id: int | None = None) -> Wave:
    if wave_id is not None:
        wave = session.get(Wave, wave_id)
        if wave is None:
            abort(404)
        return wave
    wave = waves.current_wave(session=session) or next(
        iter(waves.list_waves(session=session)), None
    )
    if wave is None:
        abort(404)
    return wave


def _wave_arg() -> int | None:
    value = request.values.get("wave", "")
    if not value:
        return None
    if not value.isdigit():
        abort(400)
    return int(value)


@bp.route("/")
@roles_required(*REVIEWERS)
def queue():
    session = get_session()
    wave = _wave(session, _wave_arg())
    filters = review_queue.QueueFilters.parse(request.args, wave.id)
    page = review_queue.queue(session=session, user=current_user, filters=filters, tz=_tz())
    excluded = review.excluded(session=session, wave_id=wave.id)
    return render_template("review/queue.html", page=page, wave=wave,
                           waves=waves.list_waves(session=session), excluded=excluded)  # fmt: skip


@bp.route("/interviews/<int:response_id>")
@roles_required(*REVIEWERS)
def interview(response_id: int):
    data = review_queue.interview(session=get_session(), user=current_user,
                                  response_id=response_id, lang=current_language())  # fmt: skip
    return render_template("review/interview.html", **data)


@bp.route("/interviews/<int:response_id>", methods=["POST"])
@roles_required(*REVIEWERS)
def act(response_id: int):
    action = request.form.get("action", "")
    item_comments = {
        key[2:]: value
        for key, value in request.form.items()
        if key.startswith("c_") and value.strip()
    }
    try:
        decision = review.act(session=get_session(), user=current_user, response_id=response_id,
                              action=action, comment=request.form.get("comment"),
                              item_comments=item_comments)  # fmt: skip
    except ServiceError as err:
        if err.status in (403, 404):
            raise
        flash(err.message, "error")
        return redirect(url_for(".interview", response_id=response_id)), 303
    label = review.STATE_LABELS[review.ReviewState(decision.event.to_state)]
    flash(f"已{review.ACTION_LABELS[review.Action(action)]}:问卷现为“{label}”。", "success")
    nxt = request.form.get("next", "")
    if nxt.startswith("/review/") and not nxt.startswith("//"):
        return redirect(nxt), 303
    return redirect(url_for(".interview", response_id=response_id)), 303


@bp.route("/quality")
@roles_required(*REVIEWERS)
def canvassers():
    session = get_session()
    wave = _wave(session, _wave_arg())
    rows = quality.canvasser_quality(session=session, user=current_user, wave_id=wave.id, tz=_tz())
    return render_template("review/quality.html", rows=rows, wave=wave,
                           waves=waves.list_waves(session=session))  # fmt: skip


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ANALYST, Role.ADMIN)
def settings():
    session = get_session()
    wave = _wave(session, _wave_arg())
    if request.method == "POST":
        try:
            review.set_counts(session=session, user=current_user, wave_id=wave.id,
                              counts=request.form.get("counts", ""))  # fmt: skip
            overrides = {name: request.form.get(name) for name in Thresholds().to_dict()}
            quality.save_thresholds(session=session, user=current_user, wave_id=wave.id,
                                    overrides=overrides)  # fmt: skip
        except ServiceError as err:
            session.rollback()
            flash(err.message, "error")
        else:
            flash("已保存本轮的质量设置。", "success")
        return redirect(url_for(".settings", wave=wave.id)), 303
    stored = review.settings_for(session=session, wave_id=wave.id)
    return render_template(
        "review/settings.html",
        wave=wave,
        waves=waves.list_waves(session=session),
        stored=stored,
        thresholds=quality.thresholds_for(session=session, wave_id=wave.id).to_dict(),
        defaults=Thresholds().to_dict(),
    )


@bp.route("/backchecks")
@roles_required(*REVIEWERS, Role.CANVASSER)
def backchecks():
    session = get_session()
    wave = _wave(session, _wave_arg())
    if current_user.role == Role.CANVASSER:
        checks = backcheck.visible_checks(session=session, user=current_user, wave_id=wave.id)
        return render_template("review/backchecks_mine.html", checks=checks, wave=wave)
    data = backcheck.summary(session=session, user=current_user, wave_id=wave.id)
    return render_template("review/backchecks.html", wave=wave,
                           waves=waves.list_waves(session=session), **data)  # fmt: skip


@bp.route("/backchecks/draw", methods=["POST"])
@roles_required(*REVIEWERS)
def draw_backchecks():
    session = get_session()
    wave = _wave(session, _wave_arg())
    try:
        share = float(request.form.get("share") or 10) / 100
        seed_text = request.form.get("seed", "").strip()
        seed = int(seed_text) if seed_text else None
    except ValueError:
        flash("抽查比例和随机种子应为数字。", "error")
        return redirect(url_for(".backchecks", wave=wave.id)), 303
    try:
        new = backcheck.draw(session=session, user=current_user, wave_id=wave.id, share=share,
                             seed=seed)  # fmt: skip
    except ServiceError as err:
        flash(err.message, "error")
    else:
        flash(f"新抽取回访核查 {len(new)} 户。", "success")
    return redirect(url_for(".backchecks", wave=wave.id)), 303


@bp.route("/backchecks/<int:check_id>", methods=["GET", "POST"])
@roles_required(*REVIEWERS, Role.CANVASSER)
def backcheck_form(check_id: int):
    session = get_session()
    bc = backcheck.get_check(session=session, user=current_user, check_id=check_id)
    if request.method == "POST":
        visited = {"yes": True, "no": False}.get(request.form.get("visited", ""))
        answers = {name: request.form.get(f"a_{name}") for name in bc.items}
        try:
            backcheck.record(session=session, user=current_user, check_id=check_id,
                             visited=visited, answers=answers, note=request.form.get("note"))  # fmt: skip
        except ServiceError as err:
            if err.status in (403, 404):
                raise
            flash(err.message, "error")
            return redirect(url_for(".backcheck_form", check_id=check_id)), 303
        flash("回访核查已记录。", "success")
        return redirect(url_for(".backchecks", wave=bc.wave_id)), 303
    data = backcheck.form_data(session=session, check=bc, lang=current_language())
    return render_template("review/backcheck_form.html", check=bc, **data)
