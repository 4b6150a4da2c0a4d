"""Giving a wave's households to canvassers: automatically (whole buildings, balanced),
by hand (one or many households, chosen by building, canvasser or state), or back to
nobody. A reassigned household leaves the old tablet at its next sync; anything the old
tablet still sends for it is held for an analyst (:mod:`.held`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from sqlalchemy import or_
from sqlmodel import Session, select

from .. import audit, scope
from ..errors import ServiceError
from ..models import (
    Assignment,
    Building,
    Community,
    Household,
    Role,
    User,
    UserScope,
    Visit,
    Wave,
    WaveStatus,
)

STATES = ("pending", "not_home", "refused", "vacant", "ineligible", "completed")


@dataclass(frozen=True)
class Selection:
    """Which households to move: any combination (all None: every household)."""

    buildings: tuple[str, ...] = ()  # building codes (in any community of the wave)
    canvasser_id: int | None = None  # current holder (0: unassigned)
    state: str | None = None
    community_id: int | None = None
    assignment_ids: tuple[int, ...] = ()


def canvassers_of(*, session: Session, community_id: int) -> list[User]:
    """Active canvassers whose scope holds the community (their own community, a
    ``UserScope`` row for it, or one for its street)."""
    street = select(Community.street_id).where(Community.id == community_id).scalar_subquery()
    scoped = select(UserScope.user_id).where(
        or_(UserScope.community_id == community_id, UserScope.street_id == street)
    )
    return list(
        session.exec(
            select(User)
            .where(
                User.role == Role.CANVASSER,
                User.active,
                or_(User.community_id == community_id, User.id.in_(scoped)),
            )
            .order_by(User.username)
        ).all()
    )


def _editable(wave: Wave) -> None:
    if wave.status not in (WaveStatus.DRAFT, WaveStatus.OPEN):
        raise ServiceError("只有草稿或进行中的轮次可以分配住户。", status=409)


def assign_wave(*, session: Session, wave: Wave, user_id: int | None = None) -> dict[str, int]:
    """Give every released, unassigned household to a canvasser of its community:
    whole buildings, the largest first to whoever has the fewest households so far.
    Returns {"assigned": n, "communities_without_canvassers": k}."""
    _editable(wave)
    rows = session.exec(
        select(Assignment, Household.building_id)
        .join(Household, Assignment.household_id == Household.id)
        .where(Assignment.wave_id == wave.id, Assignment.released)
        .order_by(Assignment.id)
    ).all()
    if not rows:
        raise ServiceError("本轮还没有样本:请先抽样。", status=409)
    by_community: dict[int, list[tuple[Assignment, int]]] = defaultdict(list)
    for a, b in rows:
        by_community[a.community_id].append((a, b))
    assigned, orphan = 0, 0
    for cid, items in sorted(by_community.items()):
        people = canvassers_of(session=session, community_id=cid)
        free = [(a, b) for a, b in items if a.canvasser_id is None]
        if not free:
            continue
        if not people:
            orphan += 1
            continue
        load = {u.id: sum(1 for a, _ in items if a.canvasser_id == u.id) for u in people}
        buildings: dict[int, list[Assignment]] = defaultdict(list)
        for a, b in free:
            buildings[b].append(a)
        # Longest-processing-time first: biggest building to the least loaded canvasser.
        for _, group in sorted(buildings.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            who = min(load, key=lambda uid: (load[uid], uid))
            for a in group:
                a.canvasser_id = who
                a.assigned_on = wave.starts_on
                session.add(a)
            load[who] += len(group)
            assigned += len(group)
    audit.record(session=session, action="wave.assign", entity="wave", entity_id=wave.id,
                 user_id=user_id, detail={"assigned": assigned, "without_canvassers": orphan})  # fmt: skip
    session.commit()
    return {"assigned": assigned, "communities_without_canvassers": orphan}


def select_assignments(*, session: Session, wave: Wave, selection: Selection) -> list[Assignment]:
    stmt = (
        select(Assignment, Building.code)
        .join(Household, Assignment.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .where(Assignment.wave_id == wave.id, Assignment.released)
        .order_by(Assignment.id)
    )
    if selection.community_id is not None:
        stmt = stmt.where(Assignment.community_id == selection.community_id)
    if selection.canvasser_id is not None:
        stmt = stmt.where(
            Assignment.canvasser_id.is_(None)
            if selection.canvasser_id == 0
            else Assignment.canvasser_id == selection.canvasser_id
        )
    if selection.assignment_ids:
        stmt = stmt.where(Assignment.id.in_(list(selection.assignment_ids)))
    found = [(a, code) for a, code in session.exec(stmt).all()]
    if selection.buildings:
        found = [(a, code) for a, code in found if code in set(selection.buildings)]
    items = [a for a, _ in found]
    if selection.state is not None:
        if selection.state not in STATES:
            raise ServiceError(f"未知的状态“{selection.state}”。")
        states = household_states(session=session, assignment_ids=[a.id for a in items])
        items = [a for a in items if states.get(a.id, "pending") == selection.state]
    return items


def household_states(*, session: Session, assignment_ids: list[int]) -> dict[int, str]:
    """completed if any visit completed, else the last visit's outcome; no visit: pending."""
    out: dict[int, str] = {}
    for chunk in range(0, len(assignment_ids), 500):
        ids = assignment_ids[chunk : chunk + 500]
        for aid, outcome in session.exec(
            select(Visit.assignment_id, Visit.outcome)
            .where(Visit.assignment_id.in_(ids))
            .order_by(Visit.attempt)
        ).all():
            if out.get(aid) != "completed":
                out[aid] = outcome
    return out


def reassign(
    *,
    session: Session,
    wave: Wave,
    selection: Selection,
    to_username: str,
    user_id: int | None = None,
) -> int:
    """Give the selected households (except completed ones) to ``to_username``, who must
    be an active canvasser of each household's community. Returns how many moved."""
    _editable(wave)
    target = session.exec(select(User).where(User.username == to_username)).first()
    if target is None or target.role != Role.CANVASSER or not target.active:
        raise ServiceError(f"“{to_username}”不是在职的入户调查员。")
    allowed = scope.community_ids(target, session=session) or frozenset()
    if selection.community_id is None and not selection.assignment_ids and len(allowed) == 1:
        # Building codes repeat across communities: a canvasser takes their own community's.
        selection = replace(selection, community_id=next(iter(allowed)))
    items = select_assignments(session=session, wave=wave, selection=selection)
    states = household_states(session=session, assignment_ids=[a.id for a in items])
    items = [a for a in items if states.get(a.id) != "completed" and a.canvasser_id != target.id]
    if not items:
        raise ServiceError("没有符合条件、可以改派的住户(已完成的住户不改派)。")
    wrong = [a for a in items if a.community_id not in allowed]
    if wrong:
        name = session.get(Community, wrong[0].community_id).name
        raise ServiceError(f"{target.display_name} 不负责{name}的住户。")
    moved = []
    for a in items:
        moved.append((a.id, a.canvasser_id))
        a.canvasser_id = target.id
        session.add(a)
    audit.record(session=session, action="wave.reassign", entity="wave", entity_id=wave.id, user_id=user_id,
                 detail={"to": target.id, "households": len(moved), "moved": moved[:200]})  # fmt: skip
    session.commit()
    return len(moved)


def unassign(
    *, session: Session, wave: Wave, selection: Selection, user_id: int | None = None
) -> int:
    """Take the selected, unfinished households back from their canvassers."""
    _editable(wave)
    items = select_assignments(session=session, wave=wave, selection=selection)
    states = household_states(session=session, assignment_ids=[a.id for a in items])
    items = [a for a in items if a.canvasser_id is not None and states.get(a.id) != "completed"]
    if not items:
        raise ServiceError("没有符合条件、可以收回的住户。")
    for a in items:
        a.canvasser_id = None
        session.add(a)
    audit.record(session=session, action="wave.unassign", entity="wave", entity_id=wave.id,
                 user_id=user_id, detail={"households": len(items)})  # fmt: skip
    session.commit()
    return len(items)
