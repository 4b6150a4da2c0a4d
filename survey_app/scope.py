"""Community scope: which communities' rows a user may see.

Admins and analysts see the whole city; secretaries and canvassers see only their own
community. Every service that returns community data filters through here, so a
secretary's query cannot return another community's rows whatever the URL says.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from .errors import NotFound
from .models import Role, User

CITY_WIDE = {Role.ADMIN, Role.ANALYST}


def is_city_wide(user: User) -> bool:
    return user.role in CITY_WIDE


def community_filter(user: User, column) -> ColumnElement[bool]:
    """A WHERE clause limiting ``column`` (a community id column) to the user's scope."""
    if is_city_wide(user):
        return true()
    if user.community_id is None:
        return false()
    return column == user.community_id


def require_community(user: User, community_id: int) -> None:
    """Refuse (as not found, so nothing leaks) a community outside the user's scope."""
    if not is_city_wide(user) and user.community_id != community_id:
        raise NotFound("找不到该社区,或您无权查看。")
