"""Analyst (创文办): the workspace — choose wave, indicators, weighting, interval method,
level and target; see the weights' spread and the results by community; export them and
the raw responses; upload population margins."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import FloatField, RadioField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import InputRequired, NumberRange, Optional

from analysis import METHODS

from .. import audit
from ..auth import roles_required
from ..db import get_session
from ..errors import ServiceError, abort_with
from ..fieldwork import progress as fieldwork_progress
from ..fieldwork import review as fieldwork_review
from ..fieldwork import waves as fieldwork
from ..ids import parse_id
from ..models import Role, Wave
from . import exports, labelled, margins, readable, weighting
from . import pages as results_service
from .indicators import indicator_catalog
from .views import instrument_for, rehearsal_requested, wave_from_args

bp = Blueprint("analysis", __name__, url_prefix="/analysis", template_folder="templates")
LEVELS = ("0.8", "0.9", "0.95", "0.99")


class EstimateForm(FlaskForm):
    """The workspace's settings, read from the query string (GET: shareable, no CSRF)."""

    class Meta:
        csrf = False

    wave = SelectField(_l("测评轮次"), coerce=int, validators=[InputRequired()])
    indicators = SelectMultipleField(_l("指标"), validators=[InputRequired()])
    weighting = RadioField(
        _l("加权"),
        choices=[
            SelectChoice("none", _l("不加权")),
            SelectChoice("poststratify", _l("事后分层")),
            SelectChoice("rake", _l("迭代比例加权(raking)")),
        ],
        default="none",
    )
    ps_variable = SelectField(_l("事后分层变量"), validators=[Optional()], validate_choice=False)
    method = SelectField(
        _l("置信区间方法"), choices=[SelectChoice(m) for m in METHODS], default="korn-graubard"
    )
    level = SelectField(
        _l("置信水平"), choices=[SelectChoice(v, f"{float(v):.0%}") for v in LEVELS], default="0.95"
    )
    target = FloatField(
        _l("目标(%)"), validators=[InputRequired(), NumberRange(min=50, max=99.99)], default=99
    )


class MarginsForm(FlaskForm):
    file = FileField(_l("人口边际文件(XLSX 或 CSV)"), validators=[FileRequired()])


def _estimate_form(session, wave: Wave | None, catalog, run: bool) -> EstimateForm:
    """The settings form: from the query string when it asks for a run, else the wave's
    defaults (the three headline rates, its level and target)."""
    form = EstimateForm(formdata=request.args if run else None)
    waves = results_service.waves_with_data(session=session)[::-1]
    form.wave.choices = [SelectChoice(w.id, w.name) for w in waves]
    form.indicators.choices = [SelectChoice(i.key, i.label(_lang())) for i in catalog]
    variables = weighting.margin_variables(session=session)
    form.ps_variable.choices = [SelectChoice("", _("自动"))] + [SelectChoice(v) for v in variables]
    if not run and wave is not None:
        form.wave.data = wave.id
        form.indicators.data = ["awareness", "support", "satisfaction"]
        form.level.data = f"{wave.confidence:g}"
        form.target.data = round(wave.target * 100, 2)
    return form


def _settings(session) -> tuple[EstimateForm, weighting.Settings | None, list]:
    """The form and, when the query string asks for a run and is valid, the settings."""
    wave = fieldwork.current_wave(session=session) or _first(fieldwork.list_waves(session=session))
    asked = parse_id(request.args.get("wave"))
    if asked is not None:
        wave = session.get(Wave, asked) or wave
    catalog = indicator_catalog(instrument_for(wave))
    run = "run" in request.args
    form = _estimate_form(session, wave, catalog, run)
    if not run:
        return form, None, catalog
    if not form.validate():
        problems = "; ".join(
            f"{form[name].label.text}: {' '.join(errs)}" for name, errs in form.errors.items()
        )
        abort_with(400, _("设置有误:%(problems)s", problems=problems))
    chosen = session.get(Wave, form.wave.data)
    settings = weighting.Settings(
        wave=chosen,
        indicators=tuple(form.indicators.data),
        weighting=form.weighting.data,
        ps_variable=form.ps_variable.data or None,
        method=form.method.data,
        level=float(form.level.data),
        target=form.target.data / 100,
    )
    return form, settings, catalog


def _first(items):
    return items[0] if items else None


def _run(session, settings):
    instrument = instrument_for(settings.wave)
    if instrument is None:
        abort_with(404, _("找不到该轮次使用的问卷。"))
    try:
        return weighting.run_estimates(session=session, settings=settings, instrument=instrument)
    except ServiceError as err:
        abort_with(err.status, err.message)


@bp.route("/")
@roles_required(Role.ANALYST, Role.ADMIN)
def index():
    session = get_session()
    form, settings, catalog = _settings(session)
    wave = settings.wave if settings else fieldwork.current_wave(session=session)
    with fieldwork_review.rehearsal_view(rehearsal_requested(wave)):
        estimates = _run(session, settings) if settings else None
    progress = (
        fieldwork_progress.progress(session=session, user=current_user, wave=wave) if wave else []
    )
    return render_template(
        "analysis/index.html",
        form=form,
        margins_form=MarginsForm(),
        estimates=estimates,
        labels={i.key: i.label(_lang()) for i in catalog},
        variables=weighting.margin_variables(session=session),
        wave=wave,
        rows=progress,
        query=request.query_string.decode(),
        excluded=fieldwork_review.excluded(session=session, wave_id=wave.id) if wave else None,
    )


def _lang() -> str:
    from ..i18n import select_locale

    return select_locale()


@bp.route("/export.<fmt>")
@roles_required(Role.ANALYST, Role.ADMIN)
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort_with(404, _("不支持的导出格式。"))
    session = get_session()
    form, settings, catalog = _settings(session)
    if settings is None:
        abort_with(400, _("请先选择轮次和指标。"))
    rehearsal = rehearsal_requested(settings.wave)
    with fieldwork_review.rehearsal_view(rehearsal):
        estimates = _run(session, settings)
    labels = {i.key: i.zh for i in catalog}
    stamp = estimates.computed_at.strftime("%Y-%m-%d")
    name = f"{REHEARSAL * rehearsal}estimates-wave{settings.wave.id}-{stamp}.{fmt}"
    if fmt == "csv":
        return _download(exports.estimates_csv(estimates, labels), name, "text/csv; charset=utf-8")
    return _download(exports.estimates_xlsx(estimates, labels), name, XLSX)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body, filename: str, content_type: str) -> Response:
    """An attachment; every export is audited (who, what, when: issue 13.14) before it
    is sent, and is never kept in a cache (security.py: no-store)."""
    session = get_session()
    audit.record(
        session=session,
        action="export",
        entity="export",
        entity_id=filename[:64],
        user_id=current_user.id,
        detail={"path": request.path, "args": request.args.to_dict(flat=False)},
    )
    session.commit()
    # content_type, not mimetype: Flask appends "; charset=utf-8" to a text mimetype.
    return Response(
        body,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/report.xlsx")
@roles_required(Role.ANALYST, Role.ADMIN)
def report():
    """The estimates for people to read: Chinese headers, percentages, verdicts in words."""
    session = get_session()
    form, settings, catalog = _settings(session)
    if settings is None:
        abort_with(400, _("请先选择轮次和指标。"))
    rehearsal = rehearsal_requested(settings.wave)
    with fieldwork_review.rehearsal_view(rehearsal):
        estimates = _run(session, settings)
    labels = {i.key: i.zh for i in catalog}
    timezone = current_app.config["SETTINGS"].timezone
    body = readable.estimates_for_reading(estimates, labels, timezone=timezone)
    stamp = estimates.computed_at.strftime("%Y-%m-%d")
    name = f"{REHEARSAL * rehearsal}report-wave{settings.wave.id}-{stamp}.xlsx"
    return _download(body, name, XLSX)


@bp.route("/responses.<fmt>")
@roles_required(Role.ANALYST, Role.ADMIN)
def responses(fmt: str):
    """The wave's raw responses without personal identifiers (CSV, XLSX, or with value
    labels for SPSS .sav and Stata .dta)."""
    if fmt not in ("csv", "xlsx", "sav", "dta"):
        abort_with(404, _("不支持的导出格式。"))
    session = get_session()
    wave, instrument = _export_wave(session)
    rehearsal = rehearsal_requested(wave)
    name = f"{REHEARSAL * rehearsal}responses-wave{wave.id}.{fmt}"
    if fmt in ("sav", "dta"):
        with fieldwork_review.rehearsal_view(rehearsal):
            data = labelled.labelled_frame(session=session, wave=wave, instrument=instrument)
        body = labelled.sav_bytes(data) if fmt == "sav" else labelled.dta_bytes(data)
        return _download(body, name, STATS_TYPES[fmt])
    if fmt == "csv":
        chunks = _rehearsing(
            rehearsal, exports.raw_csv(session=session, wave=wave, instrument=instrument)
        )
        return _download(stream_with_context(chunks), name, "text/csv; charset=utf-8")
    try:
        with fieldwork_review.rehearsal_view(rehearsal):
            body = exports.raw_xlsx(session=session, wave=wave, instrument=instrument)
    except ServiceError as err:
        abort_with(err.status, err.message)
    return _download(body, name, XLSX)


#: Files of the rehearsal view (演练视图, test data included) are named rehearsal-….
REHEARSAL = "rehearsal-"


def _rehearsing(rehearsal: bool, chunks):
    """Stream ``chunks`` inside the rehearsal view (the rows are read while streaming)."""
    with fieldwork_review.rehearsal_view(rehearsal):
        yield from chunks


STATS_TYPES = {"sav": "application/x-spss-sav", "dta": "application/x-stata-dta"}


def _export_wave(session):
    """The wave of ``?wave=`` and its questionnaire (400/404 with a message otherwise)."""
    wave_id = parse_id(request.args.get("wave"))
    if wave_id is None:
        abort_with(400, _("请选择测评轮次。"))
    wave = session.get(Wave, wave_id)
    if wave is None:
        abort_with(404, _("找不到该测评轮次。"))
    instrument = instrument_for(wave)
    if instrument is None:
        abort_with(404, _("找不到该轮次使用的问卷。"))
    return wave, instrument


@bp.route("/codebook.<fmt>")
@roles_required(Role.ANALYST, Role.ADMIN)
def codebook(fmt: str):
    """Every variable of the raw export: name, label, type, codes, skip condition."""
    if fmt not in ("csv", "xlsx"):
        abort_with(404, _("不支持的导出格式。"))
    session = get_session()
    wave, instrument = _export_wave(session)
    data = labelled.labelled_frame(session=session, wave=wave, instrument=instrument)
    if fmt == "csv":
        return _download(
            labelled.codebook_csv(data), f"codebook-wave{wave.id}.csv", "text/csv; charset=utf-8"
        )
    return _download(labelled.codebook_xlsx(data), f"codebook-wave{wave.id}.xlsx", XLSX)


@bp.route("/margins", methods=["POST"])
@roles_required(Role.ANALYST, Role.ADMIN)
def upload_margins():
    form = MarginsForm()
    if not form.validate_on_submit():
        abort_with(400, _("请选择要上传的人口边际文件。"))
    session = get_session()
    instrument = _margins_instrument(session)
    try:
        count = margins.store_margins(
            session=session, user=current_user, data=form.file.data.read(), instrument=instrument
        )
    except margins.MarginsError as err:
        return render_template("analysis/margins_error.html", errors=err.errors), 400
    flash(_("已保存 %(n)s 条人口边际。", n=count), "success")
    return redirect(url_for("analysis.index"))


def _margins_instrument(session):
    """The questionnaire whose profile choices the margins are checked against: that of
    ``?wave=`` or the current wave (404 if none is published)."""
    instrument = instrument_for(wave_from_args(session))
    if instrument is None:
        abort_with(404, _("找不到该轮次使用的问卷。"))
    return instrument


@bp.route("/margins-template.xlsx")
@roles_required(Role.ANALYST, Role.ADMIN)
def margins_template():
    """A blank margins workbook with the allowed communities and categories."""
    session = get_session()
    body = margins.margins_template(session=session, instrument=_margins_instrument(session))
    return _download(body, "人口边际模板.xlsx", XLSX)
