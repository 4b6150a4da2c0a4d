"""Result pages: the community secretary's page (the three rates, progress, trend, areas
that pull satisfaction down, residents' requests) and the overview ranking communities.

The figures come from :mod:`.rates` (running sums through ``analysis``); this module
gathers what each page shows, within the user's scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import func
from sqlmodel import Session, select

from ..errors import ServiceError
from ..feedback import loop as feedback_loop
from ..fieldwork import design as wave_design
from ..fieldwork import progress as fieldwork
from ..fieldwork import review as fieldwork_review
from ..fieldwork import waves as fieldwork_waves
from ..models import (
    Assignment,
    Community,
    District,
    Household,
    Response,
    Street,
    User,
    Visit,
    VisitOutcome,
    Wave,
)
from . import insight
from .indicators import IndicatorInfo, areas, indicator_catalog
from .rates import (
    Rate,
    community_rates,
    headline,
    to_rate,
    wave_rows_stamped,
    waves_with_data,
)

__all__ = ["Rate", "community_report", "overview", "waves_with_data"]


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
    rows, facts, stamp = wave_rows_stamped(session=session, wave=wave, indicators=[indicator])
    # Every community's, counted once and then again only where households were added
    # (a 500,000-row count was a fifth of the page); the page picks its own.
    households, counted = wave_design.by_community_versioned(
        session, wave, "households", lambda ids: _household_counts(session, ids)
    )

    def build() -> Overview:
        return _overview(session, wave, info, street_id, district_id, rows, facts, households)

    if stamp is None or counted is None:
        return build()
    # Kept while the figures and households it shows are the same (not keyed on the audit
    # log: a sign-in changes nothing shown); a change of the places is audited, which
    # counts everything again (design.by_community) and so gives new versions. For this
    # wave's questionnaire; the current request's wave object goes in.
    version = getattr(instrument, "version", None)
    built = wave_design.kept(
        session,
        wave,
        ("overview", indicator, street_id, district_id, str(version)),
        (stamp, counted),
        build,
    )
    return replace(built, wave=wave)


def _overview(session, wave, info, street_id, district_id, rows, facts, households) -> Overview:
    indicator = info.key
    places = _places(session, street_id=street_id, district_id=district_id)
    level, target = wave.confidence, wave.target

    def rate(label, households=None):
        return to_rate(
            rows.get((indicator, label)),
            info,
            domain=label,
            level=level,
            target=target,
            households=households,
            facts=facts.get(label),
        )

    community_rows = [
        (c, s, rate(f"c{c.id}", households.get(c.id, 0)))
        for c, s in places
        if street_id is None or s.id == street_id
    ]
    community_rows.sort(key=lambda x: (x[2].estimate is None, -(x[2].estimate or 0), x[0].code))
    ranked = [
        OverviewRow(i + 1 if r.estimate is not None else None, c.id, c.name, s.name, r)
        for i, (c, s, r) in enumerate(community_rows)
    ]
    streets = {s.id: s for _, s in places}
    street_rates = [(s.name, rate(f"s{s.id}")) for s in sorted(streets.values(), key=_code)]
    city = rate(None)
    scope_label = _scope_label(session, street_id, district_id)
    return Overview(wave, info, ranked, street_rates, city, scope_label)


def _household_counts(session: Session, community_ids: list[int] | None = None) -> dict[int, int]:
    """Households in the frame per community (of ``community_ids``, or all): a community
    that could never settle the verdict on its own (too few doors) is said so, not sent
    after impossible interviews."""
    stmt = select(Household.community_id, func.count()).group_by(Household.community_id)
    if community_ids is not None:
        stmt = stmt.where(Household.community_id.in_(community_ids))
    return dict(session.exec(stmt).all())


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
    drivers: insight.Drivers | None = None  # 最影响满意率的三个方面
    changes: dict[str, insight.ChangeWords] = field(default_factory=dict)  # since last wave
    trends: list[insight.TrendWords] = field(default_factory=list)  # over closed waves


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
    waves = fieldwork_waves.covering(
        session=session,
        waves=waves_with_data(session=session, upto=wave),
        community_id=community.id,
    )
    if wave.id not in {w.id for w in waves}:
        waves.append(wave)
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
    previous = trend[-2] if len(trend) > 1 and trend[-1][0].id == wave.id else None
    changes = {
        r.key: c
        for r in head
        if previous
        and (c := insight.change_since(previous[1].get(r.key), r, previous_wave=previous[0].name))
    }
    drivers = insight.drivers_for(
        session=session, community=community, street=street, wave=wave,
        instrument=instrument, catalog=catalog,
    )  # fmt: skip
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
        drivers=drivers,
        changes=changes,
        trends=insight.trends_for(session=session, community=community,
                                  waves=[w for w, _ in trend], catalog=headline(catalog)),
    )  # fmt: skip


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
            fieldwork_review.counted_condition(wave.id),
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
