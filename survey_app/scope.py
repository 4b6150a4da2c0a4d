"""Community scope: which communities' rows a user may see.

Admins and analysts see the whole city. Everyone else sees the units in their
``UserScope`` rows: a secretary one community, a canvasser one or more communities, a
supervisor (督导) whole streets or single communities. Every service that returns
community data filters through here, so a query cannot return another community's rows
whatever the URL says.

``User.community_id`` (the first community, kept in step by ``setup.users``) still counts,
so users made before scopes existed keep what they could see.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true, union
from sqlmodel import Session

from .errors import NotFound
from .models import Community, Role, User, UserScope

CITY_WIDE = {Role.ADMIN, Role.ANALYST}

# Which roles may hold which kinds of scope (setup checks edits and imports against it).
ONE_COMMUNITY = {Role.SECRETARY}
COMMUNITIES = {Role.SECRETARY, Role.CANVASSER, Role.SUPERVISOR}
STREETS = {Role.SUPERVISOR}


def is_city_wide(user: User) -> bool:
    return user.role in CITY_WIDE


def _scope_ids(user_id: int):
    """SELECT of the community ids in a user's scope rows (communities and whole streets)."""
    direct = select(UserScope.community_id).where(
        UserScope.user_id == user_id, UserScope.community_id.is_not(None)
    )
    by_street = (
        select(Community.id)
        .join(UserScope, UserScope.street_id == Community.street_id)
        .where(UserScope.user_id == user_id)
    )
    return union(direct, by_street)


def community_filter(user: User, column) -> ColumnElement[bool]:
    """A WHERE clause limiting ``column`` (a community id column) to the user's scope."""
    if is_city_wide(user):
        return true()
    if user.id is None:
        return false()
    clauses = [column.in_(_scope_ids(user.id))]
    if user.community_id is not None:
        clauses.insert(0, column == user.community_id)
    return or_(*clauses)


def community_ids(user: User, *, session: Session | None = None) -> frozenset[int] | None:
    """The ids of the communities ``user`` may see, or None for the whole city."""
    if is_city_wide(user):
        return None
    if user.id is None:
        return frozenset()
    session = session or _request_session()
    ids = set(session.exec(_scope_ids(user.id)).scalars().all())
    if user.community_id is not None:
        ids.add(user.community_id)
    return frozenset(ids)


def can_see(user: User, community_id: int, *, session: Session | None = None) -> bool:
    ids = community_ids(user, session=session)
    return ids is None or community_id in ids


def require_community(user: User, community_id: int, *, session: Session | None = None) -> None:
    """Refuse (as not found, so nothing leaks) a community outside the user's scope."""
    if is_city_wide(user) or user.community_id == community_id:
        return
    if not can_see(user, community_id, session=session):
        raise NotFound("找不到该社区,或您无权查看。")


def _request_session() -> Session:
    from .db import get_session

    return get_session()
