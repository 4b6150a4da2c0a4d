"""The analyst's workspace: population margins, respondent data, weights and estimates.

Unlike the result pages, the workspace works from unit-level responses: each completed
interview of the wave becomes a row (community, street, building, profile, 0/1 indicator
values coded by the instrument) with the wave's design (fieldwork/design.py: weight
1/π × non-response adjustment, stratum, PSU, fpc, population), optionally
post-stratified or raked to the population margins stored in ``PopulationMargin``
(starting from the design weights), and estimated by :func:`analysis.estimate` on that
design, domains = community.

Margins CSV: columns ``community, variable, category, count`` — community code, a profile
variable (``age_group``, ``sex``, ``residence_years``, or a cross such as
``age_group*sex`` with categories like ``a30_44*female``), its category code, and the
number of residents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlmodel import Session, select

import analysis
import instruments
from analysis import weighting as analysis_weighting

from ..errors import ServiceError
from ..fieldwork import design as wave_design
from ..fieldwork import review as fieldwork_review
from ..models import (
    Building,
    Community,
    Household,
    PopulationMargin,
    Response,
    Street,
    Wave,
)

PROFILE = ("age_group", "sex", "residence_years")
WEIGHTINGS = ("none", "poststratify", "rake")


def margin_variables(*, session: Session) -> list[str]:
    """The variables that have margins (e.g. ``age_group``, ``sex``, ``age_group*sex``)."""
    rows = session.exec(select(PopulationMargin.variable).distinct()).all()
    return sorted(rows, key=lambda v: (v.count("*"), v))


def margins_table(*, session: Session) -> pd.DataFrame:
    """All margins: community (code), variable, category, count."""
    rows = session.exec(
        select(
            Community.code,
            PopulationMargin.variable,
            PopulationMargin.category,
            PopulationMargin.count,
        ).join(Community, PopulationMargin.community_id == Community.id)
    ).all()
    return pd.DataFrame(rows, columns=["community", "variable", "category", "count"])


# --- respondent data ------------------------------------------------------------------


def interviews_query(wave: Wave):
    """The completed interviews of ``wave`` that its figures count (rejected ones never;
    pending ones unless the wave counts approved only), in order, as
    (answers, age_group, sex, residence_years, community code, street code, building id,
    building code, assignment id, is_test): what the workspace and the raw export read."""
    return (
        select(
            Response.answers,
            Response.age_group,
            Response.sex,
            Response.residence_years,
            Community.code,
            Street.code,
            Building.id,
            Building.code,
            Response.assignment_id,
            Response.is_test,
        )
        .join(Community, Response.community_id == Community.id)
        .join(Street, Community.street_id == Street.id)
        .join(Household, Response.household_id == Household.id, isouter=True)
        .join(Building, Household.building_id == Building.id, isouter=True)
        .where(Response.wave_id == wave.id, fieldwork_review.counted_condition(wave.id))
        .order_by(Response.id)
    )


def respondent_frame(*, session: Session, wave: Wave, instrument) -> pd.DataFrame:
    """One row per completed interview of ``wave`` (rejected ones left out): community,
    street, building (codes), the profile and every indicator coded 0/1/NaN."""
    rows = session.exec(interviews_query(wave)).all()
    keys = [i.key for i in instrument.indicators]
    design = wave_design.design_columns(session=session, wave=wave)
    records = []
    for n, (
        answers,
        age,
        sex,
        years,
        community,
        street,
        building_id,
        building,
        aid,
        _,
    ) in enumerate(rows):
        values = instruments.indicator_values(instrument, answers or {})
        psu = f"{community}/{building}" if building_id else f"{community}/?"
        d = design.get(aid)
        record = {
            "community": community,
            "street": street,
            "building": psu,
            "age_group": age,
            "sex": sex,
            "residence_years": years,
            # The wave's design (fieldwork/design.py); before designs: street × building, 1.
            "weight": d["weight"] if d else 1.0,
            "stratum": d["stratum"] if d else street,
            "psu": (d["psu"] or f"r{n}") if d else psu,
            "ssu": f"r{n}",
            "fpc": d["fpc"] if d else np.nan,
            "fpc_ssu": d["fpc_ssu"] if d else np.nan,
            "population": d["population"] if d else np.nan,
        }
        record.update({k: (np.nan if values.get(k) is None else float(values[k])) for k in keys})
        records.append(record)
    columns = ["community", "street", "building", *PROFILE, "weight", *DESIGN, *keys]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for c in ("weight", "fpc", "fpc_ssu", "population"):
        frame[c] = frame[c].astype(float)
    return frame


DESIGN = ("stratum", "psu", "ssu", "fpc", "fpc_ssu", "population")


def design_arguments(frame: pd.DataFrame, *, calibrated: bool) -> dict:
    """The wave's design as :func:`analysis.estimate` arguments: two stages when the
    second stage has its sizes (and no calibration), fpc and population when known."""
    out: dict = {"strata": "stratum", "cluster": "psu"}
    has_fpc = bool(len(frame)) and frame["fpc"].notna().all()
    two_stage = has_fpc and frame["fpc_ssu"].notna().all()
    if two_stage and not calibrated:
        out.update(cluster=["psu", "ssu"], fpc=["fpc", "fpc_ssu"])
    elif has_fpc and not two_stage:
        out["fpc"] = "fpc"
    if bool(len(frame)) and frame["population"].notna().all():
        out["population"] = "population"
    return out


# --- weights and estimates --------------------------------------------------------------


@dataclass(frozen=True)
class WeightPreview:
    """How spread the weights are: Kish deff_w = n Σw²/(Σw)², min and max."""

    method: str
    n: int
    deff_w: float
    min: float
    max: float
    converged: bool
    iterations: int
    variables: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """What the analyst chose."""

    wave: Wave
    indicators: tuple[str, ...]
    weighting: str
    ps_variable: str | None
    method: str
    level: float
    target: float


@dataclass(frozen=True)
class Estimates:
    settings: Settings
    result: analysis.EstimateResult
    preview: WeightPreview
    computed_at: datetime
    communities: dict[str, str]  # code -> name


def weigh(frame: pd.DataFrame, *, weighting: str, ps_variable: str | None, margins: pd.DataFrame):
    """Weights for ``frame``: (weights Series, calibration or None, preview)."""
    if weighting not in WEIGHTINGS:
        raise ServiceError(f"未知的加权方式:{weighting}")
    if weighting == "none":
        w = frame["weight"]
        return w, None, _preview("none", w, True, 0, ())
    if margins.empty:
        raise ServiceError("还没有上传人口边际(社区台账的人数),无法加权。")
    missing = sorted(set(frame["community"]) - set(margins["community"]))
    if missing:
        raise ServiceError(f"这些社区没有人口边际,无法加权:{'、'.join(missing)}")
    try:
        if weighting == "poststratify":
            variable = ps_variable or _richest(margins)
            parts = variable.split("*")
            table = _split(margins[margins["variable"] == variable], parts)
            if table.empty:
                raise ServiceError(f"没有变量 {variable} 的人口边际。")
            out = analysis_weighting.poststratify(
                frame, weight="weight", cells=["community", *parts], population=table
            )
            used = (variable,)
        else:
            singles = [v for v in sorted(set(margins["variable"])) if "*" not in v]
            if not singles:
                raise ServiceError("加权需要单个变量的人口边际(如 age_group、sex)。")
            tables = [_split(margins[margins["variable"] == v], [v]) for v in singles]
            out = analysis_weighting.rake(
                frame,
                weight="weight",
                margins=[["community", v] for v in singles],
                population=tables,
            )
            used = tuple(singles)
    except analysis.AnalysisInputError as err:
        raise ServiceError(f"加权失败:{err}") from err
    report = out.report
    return (
        out.weights,
        out.calibration,
        _preview(weighting, out.weights, report.converged, report.iterations, used),
    )


def _richest(margins: pd.DataFrame) -> str:
    return max(sorted(set(margins["variable"])), key=lambda v: v.count("*"))


def _split(table: pd.DataFrame, parts: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"community": table["community"].to_numpy()})
    cats = table["category"].str.split("*", expand=True)
    for i, p in enumerate(parts):
        out[p] = cats[i].to_numpy() if len(table) else []
    out["count"] = table["count"].to_numpy(dtype=float)
    return out


def _preview(method, w, converged, iterations, variables) -> WeightPreview:
    w = np.asarray(w, dtype=float)
    if len(w) == 0:
        return WeightPreview(
            method, 0, float("nan"), float("nan"), float("nan"), converged, iterations, variables
        )
    return WeightPreview(
        method=method,
        n=len(w),
        deff_w=analysis_weighting.kish_deff(w),
        min=float(w.min()),
        max=float(w.max()),
        converged=bool(converged),
        iterations=int(iterations),
        variables=tuple(variables),
    )


def run_estimates(*, session: Session, settings: Settings, instrument) -> Estimates:
    """Weight the wave's respondents as chosen and estimate every chosen indicator by
    community on the wave's own design (fieldwork/design.py) with :func:`analysis.estimate`."""
    frame = respondent_frame(session=session, wave=settings.wave, instrument=instrument)
    if frame.empty:
        raise ServiceError("该轮次还没有完成问卷。", status=404)
    known = {i.key for i in instrument.indicators}
    unknown = [i for i in settings.indicators if i not in known]
    if unknown:
        raise ServiceError(f"未知的指标:{'、'.join(unknown)}")
    weights, calibration, preview = weigh(
        frame,
        weighting=settings.weighting,
        ps_variable=settings.ps_variable,
        margins=margins_table(session=session) if settings.weighting != "none" else pd.DataFrame(),
    )
    frame = frame.assign(weight=weights.to_numpy())
    try:
        result = analysis.estimate(
            frame,
            indicators=list(settings.indicators),
            weight="weight",
            **design_arguments(frame, calibrated=calibration is not None),
            by="community",
            method=settings.method,
            level=settings.level,
            target=settings.target,
            calibration=calibration,
        )
    except (analysis.AnalysisInputError, ValueError) as err:
        raise ServiceError(f"无法计算:{err}") from err
    names = dict(session.exec(select(Community.code, Community.name)).all())
    return Estimates(settings, result, preview, datetime.now(UTC), names)
