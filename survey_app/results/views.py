"""Results: the community secretary's page (社区书记) and the city overview (创文办).

Figures come from ``services.results`` (running sums through ``analysis``); the views
parse the query string, call one service and render.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..db import get_session
from ..errors import ServiceError, abort_with
from ..feedback.views import AdvanceFeedbackForm, step_labels
from ..fieldwork import design as wave_design
from ..fieldwork import review as fieldwork_review
from ..fieldwork import waves as fieldwork
from ..ids import parse_id
from ..instrument_registry import get_instrument
from ..models import Role, Wave, WaveStatus
from . import pages as results_service
from .indicators import indicator_catalog

bp = Blueprint("results", __name__, url_prefix="/results", template_folder="templates")


@bp.app_template_filter("pct")
def pct_filter(value: float | None) -> str:
    """A rate as a percentage with one decimal (0.974 -> "97.4%"), "—" when missing."""
    if value is None or value != value:
        return "—"
    return f"{value * 100:.1f}%"


def instrument_for(wave: Wave | None):
    """The wave's questionnaire (its labels and indicator kinds), or the newest version."""
    if wave is None:
        return get_instrument("household")
    return get_instrument(wave.instrument_key, wave.instrument_version) or get_instrument(
        wave.instrument_key
    )


def wave_from_args(session, community_id: int | None = None) -> Wave | None:
    """``?wave=<id>`` (404 if unknown, 400 if not a number), else the current wave (the
    newest open one covering ``community_id``: several waves may be open at once)."""
    raw = request.args.get("wave", "").strip()
    if not raw:
        return fieldwork.current_wave(session=session, community_id=community_id) or _newest_wave(
            session, community_id
        )
    wave_id = parse_id(raw)
    if wave_id is None:
        abort_with(400, _("轮次编号应为数字。"))
    wave = session.get(Wave, wave_id)
    if wave is None:
        abort_with(404, _("找不到该测评轮次。"))
    return wave


def _newest_wave(session, community_id: int | None = None) -> Wave | None:
    """With no open wave: the latest wave in time — by its first day (else the day it
    opened or was created), not by id, since a city may enter an older wave later —
    preferring waves that have been in the field and that cover ``community_id``."""
    waves = fieldwork.list_waves(session=session)
    if not waves:
        return None
    covering = (
        {w.id for w in fieldwork.covering(session=session, waves=waves, community_id=community_id)}
        if community_id is not None
        else {w.id for w in waves}
    )

    def when(w: Wave):
        moment = w.opened_at or w.created_at
        day = w.starts_on or (moment.date() if moment else date.min)
        return (w.id in covering, w.status != WaveStatus.DRAFT, day, w.id)

    return max(waves, key=when)


def rehearsal_requested(wave: Wave | None) -> bool:
    """``?rehearsal=1``: the 演练视图, figures *with* the wave's test data (analysts and
    admins only: 403 otherwise). Sets ``g.rehearsal`` for the page's banner."""
    if request.args.get("rehearsal", "").strip() not in ("1", "true"):
        return False
    if current_user.role not in (Role.ANALYST, Role.ADMIN):
        abort_with(403, _("只有创文办分析员和管理员可以查看演练数据。"))
    from ..fieldwork import rehearse

    count = rehearse.count_test_data(session=get_session(), wave_id=wave.id) if wave else 0
    args = {k: v for k, v in request.args.items() if k != "rehearsal"}
    g.rehearsal = SimpleNamespace(count=count, exit_url=url_for(request.endpoint,
                                  **(request.view_args or {}), **args))  # fmt: skip
    return True


@bp.route("/")
@roles_required(Role.SECRETARY, Role.ANALYST, Role.ADMIN)
def my_community():
    """Secretaries go to their community, analysts and admins to the overview."""
    if current_user.role != Role.SECRETARY:
        return redirect(url_for("results.overview"))
    if current_user.community_id is None:
        abort(403)
    return redirect(url_for("results.community", community_id=current_user.community_id))


@bp.route("/community/<int:community_id>")
@roles_required(Role.SECRETARY, Role.ANALYST, Role.ADMIN)
def community(community_id: int):
    session = get_session()
    wave = wave_from_args(session, community_id)
    with fieldwork_review.rehearsal_view(rehearsal_requested(wave)):
        try:
            report = results_service.community_report(
                session=session,
                user=current_user,
                community_id=community_id,
                wave=wave,
                instrument=instrument_for(wave),
            )
        except ServiceError as err:
            abort_with(err.status, err.message)
        excluded = _excluded(session, wave, [community_id])
    return render_template(
        "results/community.html",
        report=report,
        waves=results_service.waves_with_data(session=session),
        form=AdvanceFeedbackForm(),
        status_labels=step_labels(),
        can_advance=current_user.role in (Role.SECRETARY, Role.ADMIN),
        excluded=excluded,
    )


@bp.route("/overview")
@roles_required(Role.ANALYST, Role.ADMIN)
def overview():
    session = get_session()
    wave = wave_from_args(session)
    choices = results_service.filter_choices(session=session)
    catalog = indicator_catalog(instrument_for(wave))
    indicator = request.args.get("indicator", "satisfaction").strip() or "satisfaction"
    street_id = _int_arg("street")
    district_id = _int_arg("district")
    data = excluded = None
    rehearsal = rehearsal_requested(wave)
    if wave is not None:
        with fieldwork_review.rehearsal_view(rehearsal):
            try:
                data = results_service.overview(
                    session=session,
                    wave=wave,
                    indicator=indicator,
                    instrument=instrument_for(wave),
                    street_id=street_id,
                    district_id=district_id,
                )
            except ServiceError as err:
                abort_with(err.status, err.message)
            excluded = _excluded(session, wave, None)  # with the test data the figures count
    return render_template(
        "results/overview.html",
        data=data,
        chart_rows=interval_rows(data.rows if data else []),
        wave=wave,
        choices=choices,
        catalog=catalog,
        selected={"indicator": indicator, "street": street_id, "district": district_id},
        excluded=excluded,
    )


def _excluded(session, wave: Wave | None, community_ids: list[int] | None):
    """Interviews the page's figures leave out and why (rejected; pending where the wave
    counts approved interviews only)."""
    if wave is None:
        return None

    def count():
        return fieldwork_review.excluded(
            session=session, wave_id=wave.id, community_ids=community_ids
        )

    if community_ids is None:  # the whole wave: kept per community, recounted where changed
        per = wave_design.by_community(
            session,
            wave,
            "review states",
            lambda ids: fieldwork_review.states_by_community(
                session=session, wave_id=wave.id, community_ids=ids
            ),
        )
        rows = [row for states in per.values() for row in states]
        return fieldwork_review.excluded_from(rows, fieldwork_review.counts_rule(session, wave.id))
    return count()


def interval_rows(rows) -> list[dict]:
    """The overview chart's data: one interval per community with interviews."""
    return [
        {"label": o.community_name, "estimate": o.rate.estimate, "low": o.rate.ci_low,
         "high": o.rate.ci_high, "verdict": o.rate.verdict, "n": o.rate.n}
        for o in rows
        if o.rate.estimate is not None
    ]  # fmt: skip


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        abort_with(400, _("参数 %(name)s 应为数字。", name=name))
    return value
