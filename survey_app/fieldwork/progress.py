"""Fieldwork progress per community, always within the user's scope."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from .. import scope
from ..errors import NotFound
from ..models import Assignment, Community, Household, Response, Street, User, Visit, Wave
from . import review


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
            .where(Response.wave_id == wave.id, review.not_test_data())
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
