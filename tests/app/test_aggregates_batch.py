"""aggregates.add_responses: a batch's indicator sums per (wave, indicator, building) —
counted per building's (indicator, value) pairs — are the sums of its responses one by one."""

from __future__ import annotations

import random

import pytest
from sqlmodel import select

from survey_app import aggregates
from survey_app.models import Building, Community, Household, IndicatorTotal

from .canvass_factories import make_fieldwork

pytestmark = pytest.mark.db


def test_a_batchs_sums_are_its_responses_sums(app, session):
    wave, _ = make_fieldwork(session, app)
    households = session.exec(
        select(Household.id, Building.id, Community.id, Community.street_id)
        .join(Building, Household.building_id == Building.id)
        .join(Community, Building.community_id == Community.id)
    ).all()
    psu = {h: (b, c, s) for h, b, c, s in households}
    rng = random.Random(16)
    keys = ("awareness", "support", "satisfaction", "never_answered")
    items = []
    for _ in range(200):
        household_id = rng.choice(list(psu))
        values = {k: rng.choice([1, 0, None, True, False]) for k in keys[:3]}
        values["never_answered"] = None
        items.append((wave.id, household_id, values))
    expected: dict[tuple, list[int]] = {}
    for wave_id, household_id, values in items:
        for key, value in values.items():
            if value is not None:
                cell = expected.setdefault((wave_id, key, psu[household_id][0]), [0, 0])
                cell[0] += 1
                cell[1] += int(value)
    aggregates.add_responses(session=session, items=items[:150], psu=psu)
    aggregates.add_responses(session=session, items=items[150:])  # reads the PSUs itself
    session.commit()
    stored = {
        (t.wave_id, t.indicator, t.building_id): [t.n, t.positive, t.community_id, t.street_id]
        for t in session.exec(select(IndicatorTotal)).all()
    }
    assert stored == {
        (w, k, b): [n, positive, *_place(psu, b)] for (w, k, b), (n, positive) in expected.items()
    }


def _place(psu, building_id):
    return next((c, s) for b, c, s in psu.values() if b == building_id)
