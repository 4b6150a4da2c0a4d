"""The whole-wave counts of the first result page after a restart
(``design._communities``): read through the covering indexes of migration 0013 and, for
many communities, from the ineligible visits to their assignments — the same figures as
counted one community at a time, and as counted by hand."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

from survey_app.demo.simulate import new_uuid
from survey_app.fieldwork import design
from survey_app.models import Assignment, Response, Visit, VisitOutcome, Wave

from .results_data import build_city

AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def instrument(app):
    return app.extensions["instruments"]["household"]


def _visits(session, wave_id: int, rng: random.Random) -> None:
    """Visits for the households without an interview: vacant, ineligible (some twice:
    counted once), refused, not at home; interviewed ones sometimes not at home first."""
    answered = set(session.exec(select(Response.assignment_id).where(Response.wave_id == wave_id)))
    made = Counter(v.assignment_id for v in session.exec(select(Visit)).all())
    for a in session.exec(select(Assignment).where(Assignment.wave_id == wave_id)).all():
        if a.id in answered:
            outcomes = [VisitOutcome.NOT_HOME] if rng.random() < 0.2 else []
        else:
            outcomes = rng.choice([
                [VisitOutcome.VACANT], [VisitOutcome.INELIGIBLE, VisitOutcome.INELIGIBLE],
                [VisitOutcome.NOT_HOME, VisitOutcome.VACANT], [VisitOutcome.REFUSED], [],
            ])  # fmt: skip
        for attempt, outcome in enumerate(outcomes, made[a.id] + 1):
            session.add(Visit(uuid=new_uuid(rng), assignment_id=a.id, attempt=attempt,
                              outcome=outcome, visited_at=AT))  # fmt: skip
    session.commit()


def _by_hand(session, wave_id: int) -> dict[int, tuple[int, int, int]]:
    """(sampled, eligible, respondents) per community, from every row in Python."""
    assignments = session.exec(select(Assignment).where(Assignment.wave_id == wave_id)).all()
    bad = {v.assignment_id for v in session.exec(select(Visit)).all()
           if v.outcome in design.INELIGIBLE}  # fmt: skip
    sampled = Counter(a.community_id for a in assignments)
    ineligible = Counter(a.community_id for a in assignments if a.id in bad)
    respondents = Counter(
        r.community_id
        for r in session.exec(select(Response).where(Response.wave_id == wave_id)).all()
        if not r.is_test
    )
    return {c: (sampled[c], sampled[c] - ineligible[c], respondents[c]) for c in sampled}


def _counts(entries: dict) -> dict[int, tuple[int, int, int]]:
    return {c: (e["sampled"], e["eligible"], e["respondents"]) for c, e in entries.items()}


def test_whole_wave_counts_equal_those_of_each_community_and_by_hand(
    session, instrument, monkeypatch
):
    rng = random.Random(3)
    city = build_city(session, instrument, layout=((2, 1, 2), (1, 2)), per_building=10,
                      completed=0.6, seed=11)  # fmt: skip
    other = build_city(session, instrument, layout=((2,),), completed=0.3, seed=12)
    _visits(session, city.wave.id, rng)
    _visits(session, other.wave.id, rng)  # another wave's visits count nowhere else
    wave = session.get(Wave, city.wave.id)
    ids = [c.id for c in city.communities]

    expected = _by_hand(session, wave.id)
    assert sum(s - e for s, e, _ in expected.values()) > 0  # ineligible households exist
    whole = design._communities(session, wave)
    assert _counts(whole) == expected
    one_by_one = {}
    for cid in ids:  # a few communities: the assignment-driven query
        one_by_one.update(design._communities(session, wave, [cid]))
    assert one_by_one == whole
    monkeypatch.setattr(design, "_FEW_COMMUNITIES", 0)  # a list counted the visit-driven way
    assert design._communities(session, wave, ids[:3]) == {c: whole[c] for c in ids[:3]}
    assert design._communities(session, wave, ids) == whole


def test_snapshot_totals_parse_as_pandas_infers_them(session, instrument):
    """The snapshot's columns built through numpy are the frame ``pd.DataFrame`` makes of
    the JSON lists: same values, same dtypes (text, ints, floats, nulls as NaN)."""
    city = build_city(session, instrument, layout=((2, 1),), per_building=6, seed=5)
    wave = session.get(Wave, city.wave.id)
    data = json.loads(json.dumps(design.snapshot(session=session, wave=wave)))
    assert data["totals"]["building_size"] and set(data["totals"]["building_size"]) == {None}
    data["totals"]["weight"][0] = None  # a null among floats: pandas' inference
    expected = pd.DataFrame(data["totals"])
    for column in ("weight", "building_size"):
        expected[column] = expected[column].astype(float)
    got = design.from_snapshot(data).totals
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["indicator"].dtype == pd.Series(["x"]).dtype
    assert got["n"].dtype == np.int64 and np.isnan(got["weight"][0])
