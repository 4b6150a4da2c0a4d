"""Fieldwork queries: waves, assignments and progress, always within the user's scope."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import (
    Assignment,
    Building,
    Community,
    Household,
    Response,
    Street,
    User,
    Visit,
    Wave,
    WaveStatus,
)
from . import NotFound, scope


def current_wave(*, session: Session) -> Wave | None:
    """The newest open wave, or None."""
    return session.exec(
        select(Wave).where(Wave.status == WaveStatus.OPEN).order_by(Wave.id.desc())
    ).first()


def list_waves(*, session: Session) -> list[Wave]:
    return list(session.exec(select(Wave).order_by(Wave.id.desc())).all())


@dataclass(frozen=True)
class Progress:
    """Fieldwork of one community in one wave. Response rate = completed / (assigned −
    vacant − ineligible): households that could have answered (AAPOR RR1-like)."""

    community_id: int
    community_code: str
    community_name: str
    street_name: str
    households: int
    assigned: int
    visited: int
    completed: int
    ineligible: int

    @property
    def response_rate(self) -> float | None:
        eligible = self.assigned - self.ineligible
        return self.completed / eligible if eligible > 0 else None


def progress(*, session: Session, user: User, wave: Wave) -> list[Progress]:
    """Per-community fieldwork progress for ``wave``, limited to what ``user`` may see."""
    visible = scope.community_filter(user, Community.id)
    households = dict(
        session.exec(
            select(Household.community_id, func.count()).group_by(Household.community_id)
        ).all()
    )
    assigned = dict(
        session.exec(
            select(Assignment.community_id, func.count())
            .where(Assignment.wave_id == wave.id)
            .group_by(Assignment.community_id)
        ).all()
    )
    visited_rows = session.exec(
        select(Assignment.community_id, func.count(func.distinct(Visit.assignment_id)))
        .join(Visit, Visit.assignment_id == Assignment.id)
        .where(Assignment.wave_id == wave.id)
        .group_by(Assignment.community_id)
    ).all()
    ineligible_rows = session.exec(
        select(Assignment.community_id, func.count(func.distinct(Visit.assignment_id)))
        .join(Visit, Visit.assignment_id == Assignment.id)
        .where(Assignment.wave_id == wave.id, Visit.outcome.in_(["vacant", "ineligible"]))
        .group_by(Assignment.community_id)
    ).all()
    completed = dict(
        session.exec(
            select(Response.community_id, func.count())
            .where(Response.wave_id == wave.id)
            .group_by(Response.community_id)
        ).all()
    )
    visited, ineligible = dict(visited_rows), dict(ineligible_rows)
    rows = session.exec(
        select(Community, Street)
        .join(Street, Community.street_id == Street.id)
        .where(visible)
        .order_by(Community.code)
    ).all()
    return [
        Progress(
            community_id=c.id,
            community_code=c.code,
            community_name=c.name,
            street_name=s.name,
            households=households.get(c.id, 0),
            assigned=assigned.get(c.id, 0),
            visited=visited.get(c.id, 0),
            completed=completed.get(c.id, 0),
            ineligible=ineligible.get(c.id, 0),
        )
        for c, s in rows
    ]


def get_community(*, session: Session, user: User, community_id: int) -> Community:
    """The community, if it exists and ``user`` may see it (404 otherwise)."""
    scope.require_community(user, community_id)
    community = session.get(Community, community_id)
    if community is None:
        raise NotFound("找不到该社区。")
    return community


@dataclass(frozen=True)
class AssignedHousehold:
    assignment_id: int
    household_id: int
    household_code: str
    building_code: str
    attempts: int
    last_outcome: str | None
    completed: bool


def assignments_for(
    *, session: Session, user: User, wave: Wave
) -> dict[str, list[AssignedHousehold]]:
    """The canvasser's households in ``wave``, grouped by building, each with its state."""
    rows = session.exec(
        select(Assignment, Household, Building)
        .join(Household, Assignment.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .where(Assignment.wave_id == wave.id, Assignment.canvasser_id == user.id)
        .order_by(Building.code, Household.code)
    ).all()
    ids = [a.id for a, _, _ in rows]
    visits: dict[int, list[Visit]] = {}
    if ids:
        for v in session.exec(
            select(Visit).where(Visit.assignment_id.in_(ids)).order_by(Visit.attempt)
        ).all():
            visits.setdefault(v.assignment_id, []).append(v)
    grouped: dict[str, list[AssignedHousehold]] = {}
    for a, hh, b in rows:
        vs = visits.get(a.id, [])
        grouped.setdefault(b.code, []).append(
            AssignedHousehold(
                assignment_id=a.id,
                household_id=hh.id,
                household_code=hh.code,
                building_code=b.code,
                attempts=len(vs),
                last_outcome=vs[-1].outcome if vs else None,
                completed=any(v.outcome == "completed" for v in vs),
            )
        )
    return grouped
