"""The simulated demo city that `make run` seeds once: 示范市文明区, two streets, six
communities, their buildings and 300+ households, one demo account per role, and three
waves of simulated fieldwork (see :mod:`.waves`): two closed earlier waves and the
open current one, with completed interviews, residents' 问需/问计 and population margins.
Running it again changes nothing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from ..errors import ServiceError
from ..installation import mark_demo
from ..models import (
    AppSetting,
    Building,
    Community,
    District,
    Household,
    Role,
    Street,
    User,
    Wave,
)
from ..setup import questionnaires as instrument_service
from ..setup import users
from . import waves as demo_waves

DEMO_PASSWORD = "demo12345"
DISTRICT = ("D01", "文明区")
STREETS = [("S01", "东湖街道"), ("S02", "西山街道")]
COMMUNITIES = [
    ("C0101", "桃园社区", "S01"),
    ("C0102", "柳岸社区", "S01"),
    ("C0103", "杏林社区", "S01"),
    ("C0201", "枫桥社区", "S02"),
    ("C0202", "松涛社区", "S02"),
    ("C0203", "竹溪社区", "S02"),
]
DEMO_ACCOUNTS = [
    ("admin", "管理员", Role.ADMIN, None),
    ("analyst", "创文办分析员", Role.ANALYST, None),
    ("secretary", "桃园社区书记", Role.SECRETARY, "C0101"),
    ("secretary2", "枫桥社区书记", Role.SECRETARY, "C0201"),
    ("canvasser", "调查员小王", Role.CANVASSER, "C0101"),
    ("canvasser2", "调查员小李", Role.CANVASSER, "C0201"),
    ("supervisor", "东湖街道督导", Role.SUPERVISOR, "S01"),  # a whole street (桃园、柳岸、杏林)
]


class NotADemoDatabase(ServiceError):
    status = 409


def _count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _is_demo_or_empty(session: Session) -> bool:
    """True for an empty database or one that began as the demo. A demo seeded before the
    database kept that fact (one district, D01 文明区) is recognised and marked."""
    if session.get(AppSetting, "demo") is not None:
        return True
    if not any(_count(session, m) for m in (District, User, Household, Wave)):
        return True
    districts = session.exec(select(District)).all()
    if [(d.code, d.name) for d in districts] == [DISTRICT]:
        mark_demo(session)
        session.commit()
        return True
    return False


@dataclass(frozen=True)
class SeedReport:
    created: bool
    households: int
    accounts: list[tuple[str, str, str]]  # username, role, community code


def seed_demo(
    *, session: Session, instrument, today: date | None = None, seed: int = 2026
) -> SeedReport:
    """Create the demo city once (see module docstring); report what exists. Refuses
    (``NotADemoDatabase``) a database that holds anything else: a real city's data."""
    accounts = [(u, r.value, c or "") for u, _, r, c in DEMO_ACCOUNTS]
    if not _is_demo_or_empty(session):
        raise NotADemoDatabase(
            "这个数据库已有非演示数据(区划、用户、户台账或测评轮次),不能写入演示城市。"
            "演示请使用空数据库(例如另设 INSTANCE_PATH 或 DATABASE_URL)。"
        )
    if session.exec(select(District).where(District.code == DISTRICT[0])).first() is not None:
        demo_waves.simulate(session=session, instrument=instrument, today=today or date.today())
        count = len(session.exec(select(Household.id)).all())
        return SeedReport(created=False, households=count, accounts=accounts)

    rng = random.Random(seed)
    today = today or date.today()
    mark_demo(session)
    district = District(code=DISTRICT[0], name=DISTRICT[1])
    session.add(district)
    session.flush()
    streets = {}
    for code, name in STREETS:
        streets[code] = Street(code=code, name=name, district_id=district.id)
        session.add(streets[code])
    session.flush()
    households_by_community: dict[str, list[Household]] = {}
    for code, name, street_code in COMMUNITIES:
        community = Community(code=code, name=name, street_id=streets[street_code].id)
        session.add(community)
        session.flush()
        households_by_community[code] = []
        for b in range(1, rng.randint(4, 6) + 1):
            building = Building(
                community_id=community.id, code=f"{b}栋", grid=f"网格{(b + 1) // 2}"
            )
            session.add(building)
            session.flush()
            for floor in range(1, rng.randint(3, 4) + 1):
                for door in range(1, 5):
                    hh = Household(
                        community_id=community.id,
                        building_id=building.id,
                        code=f"{b}-{floor}0{door}",
                        grid=building.grid,
                    )
                    session.add(hh)
                    households_by_community[code].append(hh)
    session.flush()

    instrument_service.ensure_published(session=session, instrument=instrument)
    session.commit()
    created_users: dict[str, User] = {}
    for username, display, role, community_code in DEMO_ACCOUNTS:
        created_users[username] = users.create_user(
            session=session,
            username=username,
            password=DEMO_PASSWORD,
            enforce_policy=False,  # demo12345 is published in the README: demo only
            role=role,
            display_name=display,
            community_code=community_code,
        )
    # The current wave through the same services as a real city: plan, draw (全覆盖),
    # assign by building to each community's canvassers, open.
    demo_waves.run_wave(
        session=session,
        instrument=instrument,
        name=f"{today.year}年第四季度模拟测评",
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=21),
        seed=seed,
    )
    demo_waves.simulate(session=session, instrument=instrument, today=today, seed=seed)
    total = sum(len(v) for v in households_by_community.values())
    return SeedReport(created=True, households=total, accounts=accounts)
