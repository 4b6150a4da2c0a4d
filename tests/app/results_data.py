"""A small city with completed interviews, stored the way the sync path stores them
(``services.simulate.store_response``), for the result and export tests."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlmodel import Session

from survey_app.demo.simulate import Rates, new_uuid, simulated_answers, store_response
from survey_app.models import (
    Assignment,
    Building,
    Community,
    District,
    Household,
    Street,
    Wave,
    WaveStatus,
)

_seq = itertools.count(1)


@dataclass
class City:
    wave: Wave
    streets: list[Street]
    communities: list[Community]
    households: dict[int, list[Household]] = field(default_factory=dict)


def build_city(
    session: Session,
    instrument,
    *,
    layout: tuple[tuple[int, ...], ...] = ((3, 3), (3, 2)),
    per_building: int = 12,
    completed: float = 0.85,
    rates: Rates | None = None,
    seed: int = 7,
    wave_name: str = "测试轮次",
    status: str = WaveStatus.OPEN,
    starts_on: date = date(2026, 11, 1),
) -> City:
    """Streets × communities × buildings from ``layout`` (one tuple per street, one number
    of buildings per community), ``per_building`` households each, a wave, and completed
    interviews for a share ``completed`` of the households."""
    rng = random.Random(seed)
    n = next(_seq)
    district = District(code=f"RD{n}", name=f"测试区{n}")
    session.add(district)
    session.flush()
    wave = Wave(
        name=wave_name,
        instrument_key=instrument.key,
        instrument_version=str(instrument.version),
        status=status,
        starts_on=starts_on,
    )
    session.add(wave)
    session.flush()
    city = City(wave=wave, streets=[], communities=[])
    for s, buildings_per_community in enumerate(layout):
        street = Street(code=f"RS{n}-{s}", name=f"测试街道{n}-{s}", district_id=district.id)
        session.add(street)
        session.flush()
        city.streets.append(street)
        for c, buildings in enumerate(buildings_per_community):
            community = Community(
                code=f"RC{n}-{s}{c}", name=f"测试社区{n}-{s}{c}", street_id=street.id
            )
            session.add(community)
            session.flush()
            city.communities.append(community)
            city.households[community.id] = []
            for b in range(buildings):
                building = Building(community_id=community.id, code=f"{b + 1}栋")
                session.add(building)
                session.flush()
                for h in range(per_building):
                    hh = Household(
                        community_id=community.id, building_id=building.id, code=f"{b + 1}-{h + 1}"
                    )
                    session.add(hh)
                    city.households[community.id].append(hh)
    session.flush()
    add_interviews(session, instrument, city, wave, completed=completed, rates=rates, rng=rng)
    session.commit()
    return city


def add_interviews(session, instrument, city, wave, *, completed, rates, rng):
    rates = rates or Rates(awareness=0.97, support=0.96, satisfaction=0.92, feedback=0.2)
    for households in city.households.values():
        for hh in households:
            assignment = Assignment(
                wave_id=wave.id, household_id=hh.id, community_id=hh.community_id
            )
            session.add(assignment)
            session.flush()
            if rng.random() >= completed:
                continue
            store_response(
                session=session,
                instrument=instrument,
                assignment=assignment,
                canvasser_id=None,
                answers=simulated_answers(rng, rates),
                at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
                uuid=new_uuid(rng),
            )
