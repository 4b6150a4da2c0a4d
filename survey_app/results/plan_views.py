"""The analyst's planning page: simulate a wave before fieldwork (issue 15).

``GET /results/plan/`` the form; ``POST`` starts the simulation and redirects to
``/results/plan/<job>``, which shows a progress bar (polling ``/results/plan/<job>.json``)
and then the result table.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectChoice, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional

from ..auth import roles_required
from ..db import get_session
from ..errors import ServiceError, abort_with
from ..models import Role
from . import planning
from .indicators import indicator_catalog
from .pages import filter_choices
from .views import instrument_for, wave_from_args

bp = Blueprint("planning", __name__, url_prefix="/results/plan", template_folder="templates")


class PlanForm(FlaskForm):
    """The wave to try. Rates are typed as percentages."""

    design = SelectField(
        _l("抽样设计"),
        choices=[SelectChoice("srs", _l("简单随机抽样(每社区 n 户)")),
                 SelectChoice("two-stage", _l("两阶段抽样(楼栋 × 每栋户数)")),
                 SelectChoice("census", _l("全覆盖入户"))],
    )  # fmt: skip
    n = IntegerField(
        _l("每社区抽取户数"), default=100, validators=[Optional(), NumberRange(1, 100_000)]
    )
    buildings = IntegerField(
        _l("每社区抽取楼栋数"), default=4, validators=[Optional(), NumberRange(1, 10_000)]
    )
    per_building = IntegerField(
        _l("每栋抽取户数"), default=20, validators=[Optional(), NumberRange(1, 10_000)]
    )
    expected_source = SelectField(
        _l("预期比例"),
        choices=[SelectChoice("last", _l("上一轮各社区的估计值(无数据的社区用下面的值)")),
                 SelectChoice("typed", _l("所有社区都用下面的值"))],
    )  # fmt: skip
    expected = DecimalField(_l("预期比例(%)"), default=99.5, places=1,
                            validators=[InputRequired(), NumberRange(0, 100)])  # fmt: skip
    indicator = SelectField(_l("指标"))
    response_rate = DecimalField(_l("预期应答率(%)"), default=85, places=1,
                                 validators=[InputRequired(), NumberRange(1, 100)])  # fmt: skip
    icc = DecimalField(_l("楼栋内相关系数"), default=0.05, places=2,
                       validators=[InputRequired(), NumberRange(0, 0.99)])  # fmt: skip
    goal = DecimalField(_l("希望得出结论的把握(%)"), default=80, places=0,
                        validators=[InputRequired(), NumberRange(1, 99)])  # fmt: skip
    replicates = IntegerField(_l("模拟次数"), default=1000,
                              validators=[InputRequired(), NumberRange(200, 10_000)])  # fmt: skip
    street = SelectField(_l("街道"), coerce=str)


def _form(session, wave):
    form = PlanForm()
    catalog = indicator_catalog(instrument_for(wave))
    lang = "en" if get_locale() and str(get_locale()).startswith("en") else "zh"
    form.indicator.choices = [SelectChoice(i.key, i.label(lang)) for i in catalog]
    if not form.indicator.data:
        form.indicator.data = "satisfaction"
    streets = filter_choices(session=session)["streets"]
    form.street.choices = [SelectChoice("", _("全部街道"))] + [
        SelectChoice(str(s.id), s.name) for s in streets
    ]
    return form


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.ANALYST, Role.ADMIN)
def index():
    session = get_session()
    wave = wave_from_args(session)
    form = _form(session, wave)
    if form.is_submitted():
        if not form.validate():
            return render_template("results/plan.html", form=form, wave=wave), 400
        try:
            job_id = planning.start_plan(
                session=session, user=current_user, request=_request(form), wave=wave,
                instrument=instrument_for(wave), instance_path=Path(current_app.instance_path),
            )  # fmt: skip
        except ServiceError as err:
            abort_with(err.status, err.message)
        return redirect(url_for("planning.job", job_id=job_id))
    return render_template("results/plan.html", form=form, wave=wave)


@bp.route("/<job_id>")
@roles_required(Role.ANALYST, Role.ADMIN)
def job(job_id: str):
    status = _status(job_id)
    return render_template("results/plan_job.html", job=status, job_id=job_id)


@bp.route("/<job_id>.json")
@roles_required(Role.ANALYST, Role.ADMIN)
def job_json(job_id: str):
    status = _status(job_id)
    return jsonify({k: status.get(k) for k in ("state", "progress", "error")})


def _status(job_id: str) -> dict:
    try:
        return planning.job_status(
            instance_path=Path(current_app.instance_path), job_id=job_id, user=current_user
        )
    except ServiceError as err:
        abort_with(err.status, err.message)


def _request(form: PlanForm) -> planning.PlanRequest:
    design = form.design.data
    if design == "srs" and not form.n.data:
        abort_with(400, _("简单随机抽样需要填写每社区抽取户数。"))
    if design == "two-stage" and not (form.buildings.data and form.per_building.data):
        abort_with(400, _("两阶段抽样需要填写楼栋数和每栋户数。"))
    return planning.PlanRequest(
        design=design,
        n=form.n.data if design == "srs" else None,
        buildings=form.buildings.data if design == "two-stage" else None,
        per_building=form.per_building.data if design == "two-stage" else None,
        expected_source=form.expected_source.data,
        expected=float(form.expected.data) / 100,
        indicator=form.indicator.data,
        response_rate=float(form.response_rate.data) / 100,
        icc=float(form.icc.data),
        goal=float(form.goal.data) / 100,
        replicates=int(form.replicates.data),
        street_id=int(form.street.data) if form.street.data else None,
    )
