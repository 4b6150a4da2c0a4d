"""The secretary page's 最影响满意率的三个方面 after an interview arrives: each interview of
the community is coded once per revision and kept (results.insight), so a new one codes
only itself — and the frame, and so the ranking, are those of a reading from scratch."""

from __future__ import annotations

import random

import pytest
from sqlmodel import select

import instruments
from survey_app.demo.simulate import Rates
from survey_app.fieldwork import review
from survey_app.models import Community, Response, Street, Wave
from survey_app.results import insight
from survey_app.results.indicators import indicator_catalog

from .results_data import build_city
from .test_overview_kept import LOW, interview
from .test_waves_results import ADMIN


@pytest.fixture
def instrument(app):
    return app.extensions["instruments"]["household"]


def from_scratch(session, wave, community_id, instrument):
    return insight._interviews(session, wave, [Community.id == community_id], instrument)


def test_new_interview_coded_alone_and_frame_as_from_scratch(app, session, instrument, monkeypatch):
    town = build_city(session, instrument, layout=((2, 2),), per_building=12, completed=0.6)
    wave = session.get(Wave, town.wave.id)
    community = town.communities[1]
    coded = []
    real = instruments.indicator_values

    def spy(instrument, answers):
        coded.append(1)
        return real(instrument, answers)

    monkeypatch.setattr(instruments, "indicator_values", spy)
    first = insight._community_interviews(session, wave, community.id, instrument)
    assert len(coded) == len(first) > 0
    assert first.equals(from_scratch(session, wave, community.id, instrument))
    rng = random.Random(3)
    for _ in range(2):
        interview(session, instrument, community.id, rng)
    interview(session, instrument, town.communities[0].id, rng)  # elsewhere
    coded.clear()
    second = insight._community_interviews(session, wave, community.id, instrument)
    assert len(coded) == 2 and len(second) == len(first) + 2
    assert second.equals(from_scratch(session, wave, community.id, instrument))
    # A rejection takes the interview out, coding nothing.
    response = session.exec(
        select(Response).where(Response.community_id == community.id).order_by(Response.id)
    ).first()
    with app.app_context():
        review.act(session=session, user=ADMIN, response_id=response.id, action="reject",
                   comment="录音与答案不符")  # fmt: skip
    coded.clear()
    third = insight._community_interviews(session, wave, community.id, instrument)
    assert not coded and len(third) == len(second) - 1
    assert third.equals(from_scratch(session, wave, community.id, instrument))


def test_drivers_after_an_interview_equal_a_cold_reading(session, instrument):
    town = build_city(session, instrument, layout=((2,),), per_building=80, completed=0.9,
                      rates=Rates(awareness=0.9, support=0.9, satisfaction=0.6))  # fmt: skip
    wave = session.get(Wave, town.wave.id)
    community = town.communities[0]
    street = session.get(Street, community.street_id)
    catalog = indicator_catalog(instrument)

    def drivers():
        session.expire_all()
        return insight.drivers_for(session=session, community=community, street=street,
                                   wave=wave, instrument=instrument, catalog=catalog)  # fmt: skip

    before = drivers()
    assert before.scope == "community" and before.top
    rng = random.Random(9)
    for _ in range(3):
        interview(session, instrument, community.id, rng, answers=None)
    interview(session, instrument, community.id, rng, answers=_low(rng))
    kept = drivers()
    assert kept.community_n == before.community_n + 4
    insight._cache.clear()
    insight._coded.clear()
    assert drivers() == kept


def _low(rng):
    from survey_app.demo.simulate import simulated_answers

    return simulated_answers(rng, LOW)
