"""Correcting the household frame one household at a time: its building, grid, and
whether it is still in the frame (deactivated households keep their history)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from .. import audit
from ..errors import NotFound, ServiceError
from ..models import Building, Community, Household

PAGE_SIZE = 50


@dataclass(frozen=True)
class HouseholdPage:
    community: Community
    rows: list[tuple[Household, Building]]
    total: int
    page: int
    pages: int


def households_of(
    *, session: Session, community_id: int, query: str = "", page: int = 1
) -> HouseholdPage:
    community = session.get(Community, community_id)
    if community is None:
        raise NotFound("找不到该社区。")
    stmt = (
        select(Household, Building)
        .join(Building, Building.id == Household.building_id)
        .where(Household.community_id == community_id)
    )
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(Household.code.ilike(like) | Building.code.ilike(like))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = session.exec(
        stmt.order_by(Building.code, Household.code).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return HouseholdPage(community, [(h, b) for h, b in rows], total, page, pages)


def get_household(*, session: Session, household_id: int) -> tuple[Household, Building]:
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound("找不到该户。")
    return household, session.get(Building, household.building_id)


def correct_household(
    *,
    session: Session,
    household_id: int,
    building: str,
    grid: str | None,
    active: bool,
    actor_id: int | None,
) -> Household:
    """Move a household to another building (made if new), set its grid, (de)activate it."""
    household, old_building = get_household(session=session, household_id=household_id)
    building = building.strip()
    grid = (grid or "").strip() or None
    if not building or len(building) > 64:
        raise ServiceError("楼栋不能为空,最多 64 个字符。")
    if grid and len(grid) > 64:
        raise ServiceError("网格最多 64 个字符。")
    target = session.exec(
        select(Building).where(
            Building.community_id == household.community_id, Building.code == building
        )
    ).first()
    if target is None:
        target = Building(community_id=household.community_id, code=building, grid=grid)
        session.add(target)
        session.flush()
    before = {"building": old_building.code, "grid": household.grid, "active": household.active}
    household.building_id = target.id
    household.grid = grid
    household.active = active
    session.add(household)
    audit.record(
        session=session,
        action="update",
        entity="household",
        entity_id=household.id,
        user_id=actor_id,
        detail={"before": before, "after": {"building": building, "grid": grid, "active": active}},
    )
    session.commit()
    return household
