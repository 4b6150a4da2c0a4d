"""Admin: the household frame — import (a background job with its progress, or a preview
to confirm), and correcting or deactivating single households."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import select

from ..auth import csrf
from ..db import engine, get_session
from ..errors import ServiceError, abort_with
from ..models import Community, ImportJob, ImportStatus
from . import frame, households
from .blueprint import actor_id, admin_only, bp, instance_path, page_arg
from .forms import ActionForm, HouseholdEditForm, HouseholdImportForm

# Files up to this size are read in the request (a few seconds at most); larger ones in a
# background job whose progress the page shows.
INLINE_BYTES = 256 * 1024


def _uploads() -> Path:
    path = Path(instance_path()) / "uploads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _recent_jobs():
    return (
        get_session()
        .exec(
            select(ImportJob)
            .where(ImportJob.kind == "households")
            .order_by(ImportJob.id.desc())
            .limit(10)
        )
        .all()
    )


def _page(form=None, status: int = 200, **extra):
    session = get_session()
    communities = session.exec(select(Community).order_by(Community.code)).all()
    return render_template(
        "admin/households.html",
        form=form or HouseholdImportForm(),
        jobs=_recent_jobs(),
        communities=communities,
        **extra,
    ), status


@bp.route("/households")
@admin_only
def households_page():
    return _page()


@bp.route("/households/import", methods=["POST"])
@csrf.exempt  # the form checks its CSRF token itself, after the larger size limit is set
@admin_only
def import_households():
    # Large frames: up to MAX_IMPORT_BYTES for this request only, streamed to disk by Werkzeug.
    request.max_content_length = current_app.config["SETTINGS"].max_import_bytes
    form = HouseholdImportForm()
    if not form.validate_on_submit():
        flash(_("请选择要导入的文件(XLSX 或 CSV)。"), "error")
        return _page(form, 400)
    upload = form.file.data
    handle = tempfile.NamedTemporaryFile(delete=False, dir=_uploads(), suffix=".upload")  # noqa: SIM115
    with handle:
        upload.save(handle)
    path = Path(handle.name)
    session = get_session()
    try:
        job = frame.create_job(
            session=session,
            filename=upload.filename or "frame",
            path=path,
            actor_id=actor_id(),
            dry_run=form.dry_run.data,
        )
    except ServiceError as err:
        path.unlink(missing_ok=True)
        session.rollback()
        flash(err.message, "error")
        return _page(form, 409)
    if path.stat().st_size <= INLINE_BYTES:
        job = frame.run(engine(), job.id)
        if job.status == ImportStatus.FAILED:
            return _page(form, 400, import_errors=frame.errors_of(job), failed_job=job)
        if job.status == ImportStatus.DONE:
            flash(frame.FrameImportReport.of(job).summary(), "success")
    else:
        frame.run_in_background(current_app.extensions["engine"], job.id)
    return redirect(url_for("admin.household_job", job_id=job.id))


def _job_or_404(job_id: int) -> ImportJob:
    job = frame.get_job(session=get_session(), job_id=job_id)
    if job is None:
        abort_with(404, _("找不到该导入任务。"))
    return job


def job_state(job: ImportJob) -> dict:
    return {
        "id": job.id,
        "status": job.status,
        "rows_read": job.rows_read,
        "rows_applied": job.rows_applied,
        "summary": job.summary,
        "errors": job.errors,
        "done": job.status not in frame.BUSY,
    }


@bp.route("/households/jobs/<int:job_id>")
@admin_only
def household_job(job_id: int):
    job = _job_or_404(job_id)
    if request.accept_mimetypes.best == "application/json" or request.args.get("format") == "json":
        return jsonify(job_state(job))
    report = frame.FrameImportReport.of(job) if job.summary else None
    return render_template(
        "admin/household_job.html",
        job=job,
        report=report,
        errors=frame.errors_of(job),
        action_form=ActionForm(),
    )


@bp.route("/households/jobs/<int:job_id>/apply", methods=["POST"])
@admin_only
def household_job_apply(job_id: int):
    job = _job_or_404(job_id)
    if not ActionForm().validate_on_submit():
        abort_with(400, _("页面已过期,请刷新后重试。"))
    if job.status != ImportStatus.PREVIEW:
        abort_with(409, _("该导入任务不在等待确认的状态。"))
    if (job.rows_read or 0) * 60 <= INLINE_BYTES:
        frame.apply(engine(), job.id)
        flash(frame.FrameImportReport.of(_job_or_404(job_id)).summary(), "success")
    else:
        frame.confirm(current_app.extensions["engine"], job.id)
    return redirect(url_for("admin.household_job", job_id=job.id))


@bp.route("/households/community/<int:community_id>")
@admin_only
def community_households(community_id: int):
    try:
        result = households.households_of(
            session=get_session(),
            community_id=community_id,
            query=request.args.get("q", "")[:64],
            page=page_arg(),
        )
    except ServiceError as err:
        abort_with(err.status, err.message)
    return render_template(
        "admin/community_households.html", result=result, query=request.args.get("q", "")
    )


@bp.route("/households/<int:household_id>", methods=["GET", "POST"])
@admin_only
def household_edit(household_id: int):
    session = get_session()
    try:
        household, building = households.get_household(session=session, household_id=household_id)
    except ServiceError as err:
        abort_with(err.status, err.message)
    if request.method == "GET":
        form = HouseholdEditForm(
            building=building.code, grid=household.grid or "", active=household.active
        )
        return render_template("admin/household_edit.html", household=household, form=form)
    form = HouseholdEditForm()
    if not form.validate_on_submit():
        return render_template("admin/household_edit.html", household=household, form=form), 400
    try:
        households.correct_household(
            session=session,
            household_id=household_id,
            building=form.building.data,
            grid=form.grid.data,
            active=form.active.data,
            actor_id=actor_id(),
        )
    except ServiceError as err:
        session.rollback()
        flash(err.message, "error")
        return render_template("admin/household_edit.html", household=household, form=form), 400
    flash(_("已保存户 %(code)s。", code=household.code), "success")
    return redirect(url_for("admin.community_households", community_id=household.community_id))
