"""Fieldwork pages (analysts; secretaries and supervisors see progress in their scope):
waves from plan to close — create and edit a draft, draw its sample, assign, reassign,
release reserves, open, close, archive — and progress monitoring with its export.

Views parse the form, call one service and redirect with a message; services own the
work (``plan``, ``draw``, ``assign``, ``monitor``)."""

from __future__ import annotations

import secrets
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import select

from ..auth import roles_required
from ..db import get_session
from ..errors import ServiceError
from ..models import (
    Assignment,
    Building,
    Community,
    Household,
    Role,
    User,
    Wave,
    WaveCommunity,
    WaveStatus,
)
from . import assign, draw, monitor, plan, rehearse

bp = Blueprint("fieldwork", __name__, url_prefix="/fieldwork", template_folder="templates")
ANALYSTS = (Role.ANALYST, Role.ADMIN)
WATCHERS = (Role.ANALYST, Role.ADMIN, Role.SECRETARY, Role.SUPERVISOR)
STATUS_LABELS = {"draft": "草稿", "open": "进行中", "closed": "已结束", "archived": "已归档"}
DESIGN_LABELS = {
    "census": "全覆盖入户",
    "srs": "简单随机抽样",
    "systematic": "系统抽样",
    "two-stage": "两阶段抽样(楼栋、户)",
    "upload": "上传样本",
}


@bp.app_context_processor
def _labels():
    return {"wave_status_labels": STATUS_LABELS, "design_labels": DESIGN_LABELS}


def _back(wave_id: int | None = None):
    return redirect(
        url_for("fieldwork.wave", wave_id=wave_id) if wave_id else url_for("fieldwork.waves")
    )


def _do(work, done: str, wave_id: int | None = None):
    """Run a service; flash its refusal (and roll back) or the success message."""
    session = get_session()
    try:
        result = work(session)
    except ServiceError as err:
        session.rollback()
        flash(err.message, "error")
        return _back(wave_id)
    flash(done.format(result=result), "success")
    return _back(wave_id if wave_id else getattr(result, "id", None))


@bp.route("/waves")
@roles_required(*ANALYSTS)
def waves():
    session = get_session()
    show_archived = request.args.get("archived") == "1"
    stmt = select(Wave).order_by(Wave.id.desc())
    if not show_archived:
        stmt = stmt.where(Wave.status != WaveStatus.ARCHIVED)
    rows = session.exec(stmt).all()
    counts = dict(
        session.exec(
            select(Assignment.wave_id, func.count())
            .where(Assignment.released)
            .group_by(Assignment.wave_id)
        ).all()
    )
    return render_template(
        "fieldwork/waves.html", waves=rows, counts=counts, show_archived=show_archived
    )


def _plan_from_form(form) -> plan.WavePlan:
    picked = form.getlist("communities")
    codes = "all" if form.get("all") == "1" else ",".join(picked)
    try:
        target = float(form.get("target") or 99) / 100
        confidence = float(form.get("confidence") or 95) / 100
        attempts = int(form.get("max_attempts") or 3)
    except ValueError:
        raise ServiceError("目标值、置信水平和走访次数应为数字。") from None
    return plan.WavePlan(
        name=form.get("name", ""),
        questionnaire=form.get("questionnaire", ""),
        communities=codes,
        target=target,
        confidence=confidence,
        starts_on=plan.parse_date(form.get("starts_on"), "开始日期"),
        ends_on=plan.parse_date(form.get("ends_on"), "结束日期"),
        max_attempts=attempts,
    )


def _plan_form(wave: Wave | None):
    session = get_session()
    communities = session.exec(
        select(Community).where(Community.active).order_by(Community.code)
    ).all()
    chosen = set()
    if wave is not None:
        chosen = {
            wc.community_id
            for wc in session.exec(select(WaveCommunity).where(WaveCommunity.wave_id == wave.id))
        }
    return render_template(
        "fieldwork/wave_form.html",
        wave=wave,
        communities=communities,
        chosen=chosen,
        questionnaires=plan.published_questionnaires(session=session),
        form=request.form,
    )


@bp.route("/waves/new", methods=["GET", "POST"])
@roles_required(*ANALYSTS)
def new_wave():
    if request.method == "GET":
        return _plan_form(None)
    session = get_session()
    try:
        wave = plan.create_wave(
            session=session, plan=_plan_from_form(request.form), user_id=current_user.id
        )
    except ServiceError as err:
        session.rollback()
        flash(err.message, "error")
        return _plan_form(None), 400
    flash(f"已创建草稿“{wave.name}”,下一步:抽样。", "success")
    return redirect(url_for("fieldwork.wave", wave_id=wave.id))


@bp.route("/waves/<int:wave_id>/edit", methods=["GET", "POST"])
@roles_required(*ANALYSTS)
def edit_wave(wave_id: int):
    session = get_session()
    wave = _wave_or_404(wave_id)
    if request.method == "GET":
        return _plan_form(wave)
    try:
        plan.update_wave(
            session=session, wave=wave, plan=_plan_from_form(request.form), user_id=current_user.id
        )
    except ServiceError as err:
        session.rollback()
        flash(err.message, "error")
        return _plan_form(wave), 400
    flash("已保存。", "success")
    return redirect(url_for("fieldwork.wave", wave_id=wave.id))


def _wave_or_404(wave_id: int) -> Wave:
    from ..errors import abort_with

    wave = get_session().get(Wave, wave_id)
    if wave is None:
        abort_with(404, "找不到该测评轮次。")
    return wave


@bp.route("/waves/<int:wave_id>")
@roles_required(*ANALYSTS)
def wave(wave_id: int):
    session = get_session()
    w = _wave_or_404(wave_id)
    rows = session.exec(
        select(Assignment, Community, Building.code, User.display_name)
        .join(Community, Assignment.community_id == Community.id)
        .join(Household, Assignment.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .join(User, Assignment.canvasser_id == User.id, isouter=True)
        .where(Assignment.wave_id == w.id, Assignment.released)
        .order_by(Community.code, Building.code)
    ).all()
    states = assign.household_states(session=session, assignment_ids=[a.id for a, *_ in rows])
    table: dict[tuple, dict] = {}
    for a, c, bcode, who in rows:
        key = (c.code, c.name, bcode, who or "未分配")
        entry = table.setdefault(key, {"households": 0, "completed": 0, "pending": 0})
        entry["households"] += 1
        state = states.get(a.id, "pending")
        entry["completed"] += state == "completed"
        entry["pending"] += state == "pending"
    covered = session.exec(
        select(WaveCommunity, Community)
        .join(Community, WaveCommunity.community_id == Community.id)
        .where(WaveCommunity.wave_id == w.id)
        .order_by(Community.code)
    ).all()
    canvassers = session.exec(
        select(User)
        .where(
            User.role == Role.CANVASSER,
            User.active,
            User.community_id.in_([c.id for _, c in covered]),
        )
        .order_by(User.username)
    ).all()
    reserves = session.exec(
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.wave_id == w.id, ~Assignment.released)
    ).one()
    return render_template(
        "fieldwork/wave.html",
        wave=w,
        table=table,
        covered=covered,
        canvassers=canvassers,
        states=assign.STATES,
        reserves=reserves,
        seed=secrets.randbelow(10**6),
        today=date.today(),
        test_data=rehearse.count_test_data(session=session, wave_id=w.id),
    )


def _int(name: str) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ServiceError(f"“{raw}”不是整数。") from None


def _float(name: str) -> float | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ServiceError(f"“{raw}”不是数字。") from None


@bp.route("/waves/<int:wave_id>/sample", methods=["POST"])
@roles_required(*ANALYSTS)
def sample(wave_id: int):
    w = _wave_or_404(wave_id)
    upload = request.files.get("file")

    def work(session):
        share = _float("share")
        choice = draw.DesignChoice(
            design=request.form.get("design", ""),
            seed=_int("seed") if _int("seed") is not None else 0,
            per_community=_int("per_community"),
            share=share / 100 if share is not None else None,
            buildings=_int("buildings"),
            per_building=_int("per_building"),
            pps=request.form.get("pps", "1") == "1",
            reserves=_int("reserves") or 0,
            reserve_size=_int("reserve_size"),
        )
        data = upload.read() if upload and upload.filename else None
        return draw.sample_wave(
            session=session, wave=w, choice=choice, upload=data, user_id=current_user.id
        )

    return _do(work, "已抽取 {result} 户(主样本)。", w.id)


@bp.route("/waves/<int:wave_id>/<action>", methods=["POST"])
@roles_required(*ANALYSTS)
def act(wave_id: int, action: str):
    w = _wave_or_404(wave_id)
    uid = current_user.id
    actions = {
        "assign": (
            lambda s: assign.assign_wave(session=s, wave=w, user_id=uid)["assigned"],
            "已分配 {result} 户。",
        ),
        "release": (
            lambda s: draw.release_next(session=s, wave=w, user_id=uid),
            "已启用下一组备用样本:新增 {result} 户。",
        ),
        "open": (
            lambda s: plan.open_wave(session=s, wave=w, user_id=uid),
            "轮次已开启,调查员的平板将显示分配的住户。",
        ),
        "close": (
            lambda s: plan.close_wave(session=s, wave=w, user_id=uid),
            "轮次已结束:不再接收数据,结果已冻结。",
        ),
        "archive": (lambda s: plan.archive_wave(session=s, wave=w, user_id=uid), "轮次已归档。"),
        "recompute": (
            lambda s: plan.refreeze(
                session=s, wave=w, user_id=uid, reason=request.form.get("reason", "")
            ),
            "已按当前数据重新计算并冻结(已记入审计日志)。",
        ),
        "reassign": (
            lambda s: assign.reassign(
                session=s,
                wave=w,
                selection=_selection(s),
                user_id=uid,
                to_username=request.form.get("to", ""),
            ),
            "已改派 {result} 户。",
        ),  # fmt: skip
        "unassign": (
            lambda s: assign.unassign(session=s, wave=w, selection=_selection(s), user_id=uid),
            "已收回 {result} 户。",
        ),
        "rehearse": (
            lambda s: (
                rehearse.generate(
                    session=s, wave=w, count=_int("count") or 0, seed=_int("seed"), user_id=uid
                ).count
            ),
            "已生成 {result} 份测试问卷(演练数据,不计入结果)。",
        ),
        "remove-test": (
            lambda s: rehearse.remove(session=s, wave=w, user_id=uid),
            "已删除 {result} 份测试问卷。",
        ),
    }
    if action not in actions:
        from ..errors import abort_with

        abort_with(404, "未知的操作。")
    if action == "recompute" and not request.form.get("reason", "").strip():
        flash("请写明重新计算的原因(记入审计日志)。", "error")
        return _back(w.id)
    work, done = actions[action]
    return _do(work, done, w.id)


def _selection(session) -> assign.Selection:
    buildings = tuple(
        b.strip()
        for b in request.form.get("buildings", "").replace(",", ",").split(",")
        if b.strip()
    )
    community = request.form.get("community", "").strip()
    community_id = None
    if community:
        found = session.exec(select(Community.id).where(Community.code == community)).first()
        if found is None:
            raise ServiceError(f"找不到社区“{community}”。")
        community_id = found
    holder = request.form.get("from", "").strip()
    holder_id = None
    if holder == "-":
        holder_id = 0
    elif holder:
        found = session.exec(select(User.id).where(User.username == holder)).first()
        if found is None:
            raise ServiceError(f"找不到用户“{holder}”。")
        holder_id = found
    state = request.form.get("state", "").strip() or None
    return assign.Selection(
        buildings=buildings, canvasser_id=holder_id, state=state, community_id=community_id
    )


@bp.route("/waves/<int:wave_id>/progress")
@roles_required(*WATCHERS)
def progress(wave_id: int):
    w = _wave_or_404(wave_id)
    m = monitor.monitor(session=get_session(), user=current_user, wave=w)
    chart = {
        "days": [d.isoformat() for d, _, _ in m.days],
        "visits": [v for _, v, _ in m.days],
        "completed": [c for _, _, c in m.days],
    }
    return render_template(
        "fieldwork/progress.html", wave=w, m=m, chart=chart, definitions=monitor.DEFINITIONS
    )


@bp.route("/waves/<int:wave_id>/progress.<fmt>")
@roles_required(*WATCHERS)
def progress_export(wave_id: int, fmt: str):
    w = _wave_or_404(wave_id)
    if fmt not in ("csv", "xlsx"):
        from ..errors import abort_with

        abort_with(404, "不支持的导出格式。")
    m = monitor.monitor(session=get_session(), user=current_user, wave=w)
    name = f"progress-wave{w.id}.{fmt}"
    if fmt == "csv":
        body, mimetype = "\ufeff" + monitor.progress_csv(m), "text/csv; charset=utf-8"
    else:
        body = monitor.progress_xlsx(m)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"}
    )
