"""A canvasser's assigned households in a wave, with each one's visit state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from ..models import Assignment, Building, Household, User, Visit, Wave


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
        .where(
            Assignment.wave_id == wave.id, Assignment.canvasser_id == user.id, Assignment.released
        )
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
