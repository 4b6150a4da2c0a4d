"""Result pages: a community's 知晓率/支持率/满意率 against the target, their trend over
waves, the per-area satisfaction items, and the overview ranking communities.

Every figure comes from :func:`analysis.estimate_from_totals` fed with the running
``IndicatorTotal`` sums (one row per wave × indicator × building), never from the
responses themselves, so the pages stay fast with millions of responses stored.

Design (the same for every page, see docs/results.md): strata = 街道 (street), PSU = 楼栋
(building), weight 1 per completed interview, domains = 社区 (community). n_h, the PSUs of
a stratum, counts every building of the street with a completed interview in the wave —
not only those of the community shown — as domain estimation requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

import analysis
from analysis.planning import best_lower_bound

from ..models import (
    Assignment,
    Community,
    District,
    Household,
    IndicatorTotal,
    Response,
    ReviewState,
    Street,
    User,
    Visit,
    VisitOutcome,
    Wave,
    WaveStatus,
)
from . import ServiceError, feedback_loop, fieldwork
from .indicators import HEADLINE, IndicatorInfo, areas, indicator_catalog

METHOD = "korn-graubard"
VERDICT_NO_DATA = "no_data"


@dataclass(frozen=True)
class Rate:
    """One indicator in one domain, ready to say in words.

    ``verdict`` is ``met`` / ``not_met`` / ``undetermined`` or ``no_data``; ``needed_n``
    the further completed interviews that would settle an undetermined verdict;
    ``never_reason`` says why the domain cannot settle it on its own, if so (see
    :func:`_never_reason`).
    """

    indicator: IndicatorInfo
    domain: str | None
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    deff: float | None
    df: int
    verdict: str
    needed_n: int | None
    never_reason: str | None
    level: float
    target: float
    flags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.indicator.key


def totals_frame(
    *,
    session: Session,
    wave_ids: Sequence[int],
    indicators: Sequence[str] | None = None,
    community_id: int | None = None,
) -> pd.DataFrame:
    """The running sums: wave_id, indicator, community_id, street_id, building_id, n,
    positive (rows with n > 0 only)."""
    t = IndicatorTotal.__table__.c
    stmt = sa_select(
        t.wave_id, t.indicator, t.community_id, t.street_id, t.building_id, t.n, t.positive
    ).where(t.wave_id.in_(list(wave_ids)), t.n > 0)
    if indicators is not None:
        stmt = stmt.where(t.indicator.in_(list(indicators)))
    if community_id is not None:
        stmt = stmt.where(t.community_id == community_id)
    rows = session.connection().execute(stmt).all()
    columns = ["wave_id", "indicator", "community_id", "street_id", "building_id", "n", "positive"]
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    # Column-wise construction: from_records on 10,000s of Row objects is 10x slower.
    data = dict(zip(columns, zip(*rows, strict=True), strict=True))
    frame = pd.DataFrame({c: np.asarray(v) for c, v in data.items()})
    frame["indicator"] = frame["indicator"].astype(object)
    return frame


def psu_counts(
    *, session: Session, wave_ids: Sequence[int], street_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], int]:
    """n_h: buildings with at least one completed interview, per (wave, street)."""
    t = IndicatorTotal.__table__.c
    stmt = (
        sa_select(t.wave_id, t.street_id, func.count(func.distinct(t.building_id)))
        .where(t.wave_id.in_(list(wave_ids)), t.n > 0)
        .group_by(t.wave_id, t.street_id)
    )
    if street_ids is not None:
        stmt = stmt.where(t.street_id.in_(list(street_ids)))
    return {(w, s): c for w, s, c in session.connection().execute(stmt).all()}


def estimate_domains(
    parts: Sequence[tuple[pd.DataFrame, object]],
    counts: dict[tuple[int, int], int],
    *,
    level: float,
    target: float,
) -> dict[tuple[str, object], analysis.EstimateRow]:
    """Run :func:`analysis.estimate_from_totals` on sums labelled by domain.

    ``parts`` pairs a totals frame with its domain labels (a Series aligned with the frame,
    or None for the whole sample). Strata are (wave, street), so several waves can be
    estimated in one call: another wave's strata add nothing to a domain's variance.
    Returns the rows keyed by (indicator, domain label).
    """
    frames = []
    for frame, domain in parts:
        if frame.empty:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "indicator": frame["indicator"].to_numpy(),
                    "domain": domain if domain is None else np.asarray(domain, dtype=object),
                    "stratum": _stratum(frame["wave_id"], frame["street_id"]),
                    "psu": frame["building_id"].to_numpy(),
                    "n": frame["n"].to_numpy(),
                    "sum_w": frame["n"].to_numpy(dtype=float),
                    "sum_wy": frame["positive"].to_numpy(dtype=float),
                }
            )
        )
    if not frames:
        return {}
    table = pd.concat(frames, ignore_index=True)
    n_h = pd.Series({f"{w}:{s}": c for (w, s), c in counts.items()}, dtype="int64")
    try:
        result = analysis.estimate_from_totals(
            table, psu_counts=n_h, method=METHOD, level=level, target=target
        )
    except (analysis.AnalysisInputError, ValueError) as err:
        raise ServiceError(f"无法计算估计值:{err}") from err
    return {(r.indicator, r.domain): r for r in result.rows}


def _stratum(wave_ids: pd.Series, street_ids: pd.Series) -> np.ndarray:
    return (wave_ids.astype(str) + ":" + street_ids.astype(str)).to_numpy(dtype=object)


def to_rate(
    row: analysis.EstimateRow | None,
    info: IndicatorInfo,
    *,
    domain: str | None,
    level: float,
    target: float,
    households: int | None = None,
) -> Rate:
    """An :class:`analysis.EstimateRow` (or None: no interviews) as a :class:`Rate`."""
    if row is None or row.n == 0:
        reason = _never_reason(None, None, households, level, target)
        return Rate(
            info,
            domain,
            0,
            None,
            None,
            None,
            None,
            None,
            0,
            VERDICT_NO_DATA,
            None,
            reason,
            level,
            target,
        )
    reason = None
    if row.verdict == "undetermined":
        reason = _never_reason(row.n, row.needed_n, households, level, target)
    return Rate(
        indicator=info,
        domain=domain,
        n=row.n,
        estimate=_finite(row.estimate),
        ci_low=_finite(row.ci_low),
        ci_high=_finite(row.ci_high),
        se=_finite(row.se),
        deff=_finite(row.deff),
        df=row.df,
        verdict=row.verdict,
        needed_n=row.needed_n,
        never_reason=reason,
        level=level,
        target=target,
        flags=tuple(row.flags),
    )


def _never_reason(n, needed_n, households, level, target) -> str | None:
    """Why an undetermined verdict cannot be settled by this community alone, if so:
    ``too_small`` (even every household answering yes could not show the target),
    ``beyond_households`` (more interviews needed than households) or ``never_settles``
    (the estimate sits on the target)."""
    if households is not None and best_lower_bound(max(households, 1), level=level) < target:
        return "too_small"
    if n is None:
        return None
    if needed_n is None:
        return "never_settles"
    if households is not None and n + needed_n > households:
        return "beyond_households"
    return None


def _finite(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(value)


def waves_with_data(*, session: Session, upto: Wave | None = None) -> list[Wave]:
    """Open and closed waves in time order (up to and including ``upto``)."""
    stmt = select(Wave).where(Wave.status != WaveStatus.DRAFT)
    waves = sorted(session.exec(stmt).all(), key=wave_order)
    if upto is not None:
        waves = [w for w in waves if wave_order(w) <= wave_order(upto)]
    return waves


def wave_order(wave: Wave) -> tuple:
    """Waves sort by start date, then creation (a wave without dates sorts by its id)."""
    return (wave.starts_on or date.max, wave.id)


# --- the overview ---------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewRow:
    rank: int | None
    community_id: int
    community_name: str
    street_name: str
    rate: Rate


@dataclass(frozen=True)
class Overview:
    wave: Wave
    indicator: IndicatorInfo
    rows: list[OverviewRow]
    streets: list[tuple[str, Rate]]
    city: Rate
    scope_label: str


def overview(
    *,
    session: Session,
    wave: Wave,
    indicator: str,
    instrument=None,
    street_id: int | None = None,
    district_id: int | None = None,
) -> Overview:
    """Every community of the city (or of one street / district) ranked on ``indicator``,
    with street totals and the city total. For analysts and admins (city-wide scope)."""
    catalog = {i.key: i for i in indicator_catalog(instrument)}
    info = catalog.get(indicator)
    if info is None:
        raise ServiceError(f"未知的指标:{indicator}", status=400)
    places = _places(session, street_id=street_id, district_id=district_id)
    totals = totals_frame(session=session, wave_ids=[wave.id], indicators=[indicator])
    counts = psu_counts(session=session, wave_ids=[wave.id])
    parts = [
        (totals, "c" + totals["community_id"].astype(str)),
        (totals, "s" + totals["street_id"].astype(str)),
        (totals, None),
    ]
    level, target = wave.confidence, wave.target
    rows = estimate_domains(parts, counts, level=level, target=target) if len(totals) else {}

    def rate(label):
        return to_rate(rows.get((indicator, label)), info, domain=label, level=level, target=target)

    community_rows = [
        (c, s, rate(f"c{c.id}")) for c, s in places if street_id is None or s.id == street_id
    ]
    community_rows.sort(key=lambda x: (x[2].estimate is None, -(x[2].estimate or 0), x[0].code))
    ranked = [
        OverviewRow(i + 1 if r.estimate is not None else None, c.id, c.name, s.name, r)
        for i, (c, s, r) in enumerate(community_rows)
    ]
    streets = {s.id: s for _, s in places}
    street_rates = [(s.name, rate(f"s{s.id}")) for s in sorted(streets.values(), key=_code)]
    city = to_rate(rows.get((indicator, None)), info, domain=None, level=level, target=target)
    scope_label = _scope_label(session, street_id, district_id)
    return Overview(wave, info, ranked, street_rates, city, scope_label)


def _code(obj) -> str:
    return obj.code


def _places(session: Session, *, street_id: int | None, district_id: int | None):
    stmt = select(Community, Street).join(Street, Community.street_id == Street.id)
    if street_id is not None:
        stmt = stmt.where(Street.id == street_id)
    if district_id is not None:
        stmt = stmt.where(Street.district_id == district_id)
    places = list(session.exec(stmt.order_by(Community.code)).all())
    if not places and (street_id is not None or district_id is not None):
        raise ServiceError("找不到该街道或区。", status=404)
    return places


def _scope_label(session: Session, street_id: int | None, district_id: int | None) -> str:
    if street_id is not None:
        return session.get(Street, street_id).name
    if district_id is not None:
        return session.get(District, district_id).name
    return ""


def filter_choices(*, session: Session) -> dict[str, list]:
    """Districts, streets and waves for the overview's filters."""
    return {
        "districts": list(session.exec(select(District).order_by(District.code)).all()),
        "streets": list(session.exec(select(Street).order_by(Street.code)).all()),
        "waves": waves_with_data(session=session)[::-1],
    }


def headline(catalog: Iterable[IndicatorInfo]) -> list[IndicatorInfo]:
    found = {i.key: i for i in catalog}
    return [found[k] for k in HEADLINE if k in found]


def community_rates(
    *,
    session: Session,
    community: Community,
    waves: Sequence[Wave],
    catalog: Sequence[IndicatorInfo],
    households: int | None = None,
) -> dict[int, dict[str, Rate]]:
    """Every indicator of ``catalog`` for ``community`` in each of ``waves``:
    ``{wave_id: {indicator: Rate}}``. The caller checks the user may see the community."""
    if not waves:
        return {}
    wave_ids = [w.id for w in waves]
    totals = totals_frame(
        session=session,
        wave_ids=wave_ids,
        indicators=[i.key for i in catalog],
        community_id=community.id,
    )
    counts = psu_counts(session=session, wave_ids=wave_ids, street_ids=[community.street_id])
    out: dict[int, dict[str, Rate]] = {}
    groups: dict[tuple[float, float], list[Wave]] = {}
    for w in waves:
        groups.setdefault((w.confidence, w.target), []).append(w)
    for (level, target), group in groups.items():
        ids = [w.id for w in group]
        part = totals[totals["wave_id"].isin(ids)]
        rows = estimate_domains(
            [(part, "w" + part["wave_id"].astype(str))], counts, level=level, target=target
        )
        for w in group:
            out[w.id] = {
                info.key: to_rate(
                    rows.get((info.key, f"w{w.id}")),
                    info,
                    domain=f"w{w.id}",
                    level=level,
                    target=target,
                    households=households,
                )
                for info in catalog
            }
    return out


# --- the community (secretary) page ------------------------------------------------------


@dataclass(frozen=True)
class CommunityReport:
    """Everything the secretary's page shows for one community and one wave."""

    community: Community
    street: Street
    wave: Wave | None
    households: int
    progress: fieldwork.Progress | None
    rates: list[Rate]
    areas: list[Rate]
    trend: list[tuple[Wave, dict[str, Rate]]]
    feedback: list[feedback_loop.FeedbackView]


def community_report(
    *, session: Session, user: User, community_id: int, wave: Wave | None, instrument=None
) -> CommunityReport:
    """The secretary page of ``community_id`` for ``wave`` (scope-checked: 404 outside
    the user's community). Reads only sums and this community's own rows."""
    community = fieldwork.get_community(session=session, user=user, community_id=community_id)
    street = session.get(Street, community.street_id)
    households = session.exec(
        select(func.count()).select_from(Household).where(Household.community_id == community.id)
    ).one()
    catalog = indicator_catalog(instrument)
    if wave is None:
        return CommunityReport(community, street, None, households, None, [], [], [], [])
    waves = waves_with_data(session=session, upto=wave)
    rates = community_rates(
        session=session,
        community=community,
        waves=waves,
        catalog=catalog,
        households=households,
    )
    current = rates.get(wave.id, {})
    head = [current[i.key] for i in headline(catalog) if i.key in current]
    area_rates = [current[i.key] for i in areas(catalog) if i.key in current]
    area_rates.sort(key=lambda r: (r.estimate is None, r.estimate or 0.0))
    trend = [(w, rates[w.id]) for w in waves if w.id in rates]
    return CommunityReport(
        community=community,
        street=street,
        wave=wave,
        households=households,
        progress=community_progress(session=session, community=community, wave=wave),
        rates=head,
        areas=area_rates,
        trend=trend,
        feedback=feedback_loop.list_items(
            session=session, user=user, community_id=community.id, wave_id=wave.id
        ),
    )


def community_progress(*, session: Session, community: Community, wave: Wave):
    """Fieldwork of one community in ``wave`` (indexed queries on this community only)."""
    street = session.get(Street, community.street_id)
    households = session.exec(
        select(func.count()).select_from(Household).where(Household.community_id == community.id)
    ).one()
    assigned = session.exec(
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.community_id == community.id, Assignment.wave_id == wave.id)
    ).one()
    visits = (
        select(
            func.count(func.distinct(Visit.assignment_id)),
        )
        .select_from(Assignment)
        .join(Visit, Visit.assignment_id == Assignment.id)
        .where(Assignment.community_id == community.id, Assignment.wave_id == wave.id)
    )
    visited = session.exec(visits).one()
    ineligible = session.exec(
        visits.where(Visit.outcome.in_([VisitOutcome.VACANT, VisitOutcome.INELIGIBLE]))
    ).one()
    completed = session.exec(
        select(func.count())
        .select_from(Response)
        .where(
            Response.community_id == community.id,
            Response.wave_id == wave.id,
            Response.review_state != ReviewState.REJECTED,
        )
    ).one()
    return fieldwork.Progress(
        community_id=community.id,
        community_code=community.code,
        community_name=community.name,
        street_name=street.name,
        households=households,
        assigned=assigned,
        visited=visited,
        completed=completed,
        ineligible=ineligible,
    )
