"""Admin: questionnaires — upload (YAML or XLSForm), the validator's problems, a preview
exactly as the tablet shows it (the canvass app itself, in preview mode), publish."""

from __future__ import annotations

from datetime import date

from flask import flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _

from ..db import get_session
from ..errors import ServiceError, abort_with
from ..instrument_registry import get_instrument
from . import questionnaires
from .blueprint import actor_id, admin_only, bp, instance_path
from .forms import ActionForm, QuestionnaireUploadForm


def _page(form=None, status: int = 200, **extra):
    return render_template(
        "admin/questionnaires.html",
        versions=questionnaires.list_versions(session=get_session()),
        form=form or QuestionnaireUploadForm(),
        **extra,
    ), status


@bp.route("/questionnaires")
@admin_only
def questionnaires_page():
    return _page()


@bp.route("/questionnaires/upload", methods=["POST"])
@admin_only
def questionnaire_upload():
    form = QuestionnaireUploadForm()
    if not form.validate_on_submit():
        flash(_("请选择问卷文件。"), "error")
        return _page(form, 400)
    upload = form.file.data
    try:
        draft = questionnaires.parse_upload(
            data=upload.read(),
            filename=upload.filename or "questionnaire",
            key=form.key.data or None,
            version=form.version.data or None,
        )
    except questionnaires.QuestionnaireError as err:
        return _page(form, 400, problems=err.problems)
    token = questionnaires.save_draft(draft, instance_path=instance_path())
    return redirect(url_for("admin.questionnaire_draft", token=token))


def _draft(token: str):
    try:
        return questionnaires.load_draft(token, instance_path=instance_path())
    except ServiceError as err:
        abort_with(err.status, err.message)


@bp.route("/questionnaires/drafts/<token>")
@admin_only
def questionnaire_draft(token: str):
    draft = _draft(token)
    existing = get_instrument(draft.key, draft.version)
    return render_template(
        "admin/questionnaire_draft.html",
        draft=draft,
        token=token,
        clash=existing is not None and existing.content_hash != draft.instrument.content_hash,
        same=existing is not None and existing.content_hash == draft.instrument.content_hash,
        action_form=ActionForm(),
    )


@bp.route("/questionnaires/drafts/<token>/publish", methods=["POST"])
@admin_only
def questionnaire_publish(token: str):
    draft = _draft(token)
    if not ActionForm().validate_on_submit():
        abort_with(400, _("页面已过期,请刷新后重试。"))
    session = get_session()
    try:
        row, created = questionnaires.publish(session=session, draft=draft, actor_id=actor_id())
    except ServiceError as err:
        session.rollback()
        flash(err.message, "error")
        return redirect(url_for("admin.questionnaire_draft", token=token))
    questionnaires.drop_draft(token, instance_path=instance_path())
    if created:
        flash(_("已发布 %(key)s 第 %(v)s 版。", key=row.key, v=row.version), "success")
    else:
        flash(_("该版本已发布过,内容相同,未重复发布。"), "info")
    return redirect(url_for("admin.questionnaires_page"))


def _preview_page(instrument, instrument_url: str, back: str):
    data = {
        "wave": {
            "id": 0,
            "name": _(
                "预览:%(title)s 第 %(v)s 版", title=instrument.title.zh, v=instrument.version
            ),
            "max_attempts": 3,
            "instrument_key": instrument.key,
            "instrument_version": str(instrument.version),
        },
        "today": date.today().isoformat(),
        "buildings": [
            {
                "code": _("示例楼栋"),
                "households": [
                    {
                        "assignment_id": 1,
                        "household_id": 1,
                        "household_code": _("示例户"),
                        "building_code": _("示例楼栋"),
                        "attempts": 0,
                        "last_outcome": None,
                        "completed": False,
                        "wave_id": 0,
                        "community": _("示例社区"),
                        "assigned_on": date.today().isoformat(),
                        "history": [],
                        "appointment_at": None,
                        "last_refusal": None,
                        "reopened": False,
                    }
                ],
            }
        ],
    }
    preview = {"instrument": instrument_url, "data": data, "back": back}
    return render_template("canvass/index.html", preview=preview)


@bp.route("/questionnaires/drafts/<token>/preview")
@admin_only
def questionnaire_draft_preview(token: str):
    draft = _draft(token)
    return _preview_page(
        draft.instrument,
        url_for("admin.questionnaire_draft_json", token=token),
        url_for("admin.questionnaire_draft", token=token),
    )


@bp.route("/questionnaires/drafts/<token>/instrument.json")
@admin_only
def questionnaire_draft_json(token: str):
    return jsonify(_draft(token).instrument.to_client_dict())


def _published(key: str, version: str):
    instrument = get_instrument(key, version)
    if instrument is None:
        abort_with(404, _("找不到问卷 %(key)s 第 %(v)s 版。", key=key, v=version))
    return instrument


@bp.route("/questionnaires/<key>/<version>/preview")
@admin_only
def questionnaire_preview(key: str, version: str):
    instrument = _published(key, version)
    return _preview_page(
        instrument,
        url_for("admin.questionnaire_json", key=key, version=version),
        url_for("admin.questionnaires_page"),
    )


@bp.route("/questionnaires/<key>/<version>/instrument.json")
@admin_only
def questionnaire_json(key: str, version: str):
    return jsonify(_published(key, version).to_client_dict())
