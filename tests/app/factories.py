"""Factory functions for test data."""

from __future__ import annotations

import itertools

from sqlmodel import Session

from survey_app.models import Building, Community, District, Household, Street
from survey_app.setup import users

_seq = itertools.count(1)
PASSWORD = "secret-pass-1"


def make_geo(session: Session, communities: int = 2, households: int = 3) -> list[Community]:
    n = next(_seq)
    district = District(code=f"D{n}", name=f"区{n}")
    session.add(district)
    session.flush()
    street = Street(code=f"S{n}", name=f"街道{n}", district_id=district.id)
    session.add(street)
    session.flush()
    result = []
    for c in range(communities):
        community = Community(code=f"C{n}-{c}", name=f"社区{n}-{c}", street_id=street.id)
        session.add(community)
        session.flush()
        building = Building(community_id=community.id, code="1栋")
        session.add(building)
        session.flush()
        for h in range(households):
            session.add(
                Household(community_id=community.id, building_id=building.id, code=f"1-{h + 1}")
            )
        result.append(community)
    session.commit()
    return result


def make_user(
    session: Session, role: str, community: Community | None = None, username: str | None = None
):
    return users.create_user(
        session=session,
        username=username or f"{role}{next(_seq)}",
        password=PASSWORD,
        role=role,
        community_code=community.code if community else None,
    )


def login(client, user, password: str = PASSWORD):
    return client.post("/login", data={"username": user.username, "password": password})
