"""The overview after an interview arrives: the wave's running sums are kept per
community (fieldwork.design: only the new interview's community is read again) and the
street and city figures recombined from them — exactly the figures of a view with
nothing kept; a sign-in does not rebuild the overview, a renamed community or a new
target does."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from survey_app import audit
from survey_app.demo.simulate import Rates, new_uuid, simulated_answers, store_response
from survey_app.fieldwork import design, plan, review
from survey_app.models import Assignment, Response, Wave
from survey_app.results import pages, rates
from survey_app.setup import geography

from .results_data import build_city
from .test_waves_results import ADMIN, city, fill  # noqa: F401 — city: fixture
from .wave_factories import cli, questionnaire

SATISFIED = Rates(awareness=0.97, support=0.96, satisfaction=0.9, feedback=0.0)
LOW = Rates(awareness=0.5, support=0.5, satisfaction=0.3, feedback=0.0)


@pytest.fixture
def instrument(app):
    return app.extensions["instruments"]["household"]


@pytest.fixture(autouse=True)
def settled(monkeypatch):
    # One process, one writer: every row is committed when the next view looks.
    monkeypatch.setattr(design, "SETTLE", 0.0)


def view(session, wave_id, indicator="satisfaction", **scope):
    session.expire_all()
    wave = session.get(Wave, wave_id)
    return pages.overview(session=session, wave=wave, indicator=indicator, **scope)


def figures(data) -> tuple:
    """Everything the page shows, compared exactly (floats to the last bit)."""
    return (data.rows, data.streets, data.city, data.scope_label)


def cold(session, wave_id, **scope) -> tuple:
    design._caches.clear()
    return figures(view(session, wave_id, **scope))


def interview(session, instrument, community_id, rng, answers=None):
    """One more completed interview in ``community_id``, stored as the sync stores one
    (response, indicator sums, audit row) for a household not yet interviewed."""
    done = select(Response.assignment_id).where(Response.assignment_id.is_not(None))
    assignment = session.exec(
        select(Assignment)
        .where(Assignment.community_id == community_id, Assignment.id.not_in(done))
        .order_by(Assignment.id)
    ).first()
    response = store_response(
        session=session,
        instrument=instrument,
        assignment=assignment,
        canvasser_id=None,
        answers=answers or simulated_answers(rng, SATISFIED),
        at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        uuid=new_uuid(rng),
    )
    audit.record(session=session, action="submit", entity="response", entity_id=response.uuid)
    session.commit()
    return response


def spy_sums(monkeypatch) -> list:
    calls = []
    real = design._sums_of

    def spy(session, wave, community_ids, indicators=None):
        calls.append(community_ids)
        return real(session, wave, community_ids, indicators)

    monkeypatch.setattr(design, "_sums_of", spy)
    return calls


def test_after_an_interview_the_overview_equals_a_cold_one(session, instrument, monkeypatch):
    """A wave from before designs (strata: streets, PSU: building): an interview in one
    community changes that community's, its street's and the city's figures (and every
    n_h is counted from the kept sums); the kept overview equals one computed afresh."""
    town = build_city(session, instrument, layout=((3, 3), (3, 2)), per_building=12,
                      completed=0.6)  # fmt: skip
    calls = spy_sums(monkeypatch)
    rng = random.Random(5)
    wave_id = town.wave.id
    first = figures(view(session, wave_id))
    assert calls == [None]  # the first view reads every community's sums
    target = town.communities[2]  # the first community of the second street
    before = {r.community_id: r.rate for r in first[0]}
    for _ in range(3):
        interview(session, instrument, target.id, rng, answers=simulated_answers(rng, LOW))
        kept = figures(view(session, wave_id))
        assert calls[-1] == [target.id], calls  # only its community read again
        assert kept == cold(session, wave_id)
        calls.append("cold")
    after = {r.community_id: r.rate for r in kept[0]}
    assert after[target.id].n == before[target.id].n + 3
    assert after[target.id].estimate != before[target.id].estimate
    others = [c.id for c in town.communities if c.id != target.id]
    assert all(after[c].n == before[c].n for c in others)
    streets = dict(kept[1])
    assert streets[town.streets[1].name].n == dict(first[1])[town.streets[1].name].n + 3
    assert kept[2].n == first[2].n + 3
    # The street strata's n_h, counted from the kept sums, are the wave's.
    session.expire_all()
    wave = session.get(Wave, wave_id)
    inputs = design.wave_inputs(session=session, wave=wave, indicators=["satisfaction"])
    assert inputs.street_psus == design._street_psus(session, wave)
    per = {}
    for c in town.communities:
        per.update(design._psus_of(session, wave, [c.id]))
    assert per == design._psus_of(session, wave, None)
    # One street's page (the same kept figures, filtered).
    one = figures(view(session, wave_id, indicator="awareness", street_id=town.streets[1].id))
    assert one == cold(session, wave_id, indicator="awareness", street_id=town.streets[1].id)


def test_kept_sums_equal_those_read_at_once(session, instrument, monkeypatch):
    """Whatever order the rows were read in (a community alone, the wave at once), the
    assembled sums are the same frame, row for row."""
    town = build_city(session, instrument, layout=((2, 3),), per_building=10, completed=0.7)
    wave = session.get(Wave, town.wave.id)
    whole = design._sums_of(session, wave, None)
    alone = {}
    for c in town.communities:
        alone.update(design._sums_of(session, wave, [c.id]))
    for indicators in (None, ["satisfaction"], ["awareness", "support"]):
        a, b = design._assemble(whole, indicators), design._assemble(alone, indicators)
        assert a.equals(b)
        if indicators is not None:  # read for these indicators only: the same frame
            assert a.equals(design._assemble(design._sums_of(session, wave, None, indicators),
                                             indicators))  # fmt: skip
        read = design._read_totals(session, wave, None, indicators, None)
        key = ["community_id", "indicator", "building_id"]
        assert (
            a.sort_values(key)
            .reset_index(drop=True)
            .equals(read[a.columns].sort_values(key).reset_index(drop=True))
        )


def test_a_sign_in_keeps_the_overview_a_rename_or_target_rebuilds(session, instrument, monkeypatch):
    town = build_city(session, instrument, layout=((2, 2),), per_building=10, completed=0.7)
    wave_id = town.wave.id
    built = []
    real = pages._overview

    def spy(*args):
        built.append(1)
        return real(*args)

    monkeypatch.setattr(pages, "_overview", spy)
    first = view(session, wave_id)
    audit.record(session=session, action="sign-in", entity="user", entity_id="1")
    session.commit()
    assert figures(view(session, wave_id)) == figures(first) and len(built) == 1
    # A renamed community shows at once (an audited change of the places).
    geography.rename(session=session, level="community", unit_id=town.communities[0].id,
                     name="改名社区", actor_id=None)  # fmt: skip
    renamed = view(session, wave_id)
    assert len(built) == 2
    assert "改名社区" in {r.community_name for r in renamed.rows}
    # A new target: new verdicts.
    wave = session.get(Wave, wave_id)
    wave.target = 0.5
    session.add(wave)
    session.commit()
    lower = view(session, wave_id)
    assert lower.city.target == 0.5 and figures(lower) == cold(session, wave_id)


def test_designed_wave_after_interviews_and_a_rejection(client, session, runner, app, city):  # noqa: F811
    """A census of two communities (weights per building, N per community): after new
    interviews in one community and a rejection, the kept overview is the cold one."""
    wave_id = int(cli(runner, "create", "--name", "两社区", "--questionnaire", questionnaire(app),
                      "--communities", "C01,C02"))  # fmt: skip
    cli(runner, "sample", wave_id, "--design", "census", "--seed", 1)
    cli(runner, "assign", wave_id)
    cli(runner, "open", wave_id)
    fill(client, session, wave_id, lambda a: "satisfied" if a.id % 3 == 0 else None)
    first = figures(view(session, wave_id))
    assert cold(session, wave_id) == first
    view(session, wave_id)  # kept again
    fill(client, session, wave_id, lambda a: "dissatisfied" if a.id % 3 == 1 else None)
    kept = figures(view(session, wave_id))
    assert kept != first
    assert kept == cold(session, wave_id)
    response = session.exec(select(Response).where(Response.wave_id == wave_id)).first()
    with app.app_context():
        review.act(session=session, user=ADMIN, response_id=response.id, action="reject",
                   comment="录音与答案不符")  # fmt: skip
    rejected = figures(view(session, wave_id))
    assert rejected != kept
    assert rejected == cold(session, wave_id)
    wave = plan.get_wave(session=session, wave_id=wave_id)
    stamp = rates.wave_rows_stamped(session=session, wave=wave, indicators=["satisfaction"])[2]
    assert stamp is not None and len(stamp) == 3  # sums, counts and weights


def test_rehearsal_view_is_not_kept(session, instrument):
    town = build_city(session, instrument, layout=((2,),), per_building=8, completed=0.5)
    wave = session.get(Wave, town.wave.id)
    with review.rehearsal_view(True):
        inputs = design.wave_inputs(session=session, wave=wave, indicators=["satisfaction"])
        assert inputs.stamp is None
    assert design.wave_inputs(session=session, wave=wave, indicators=["satisfaction"]).stamp


def test_newest_ids_looked_up_once_a_request_and_after_own_writes(
    app, session, instrument, monkeypatch
):
    """The per-community counts of one page share one look-up of the newest ids; the
    session's own flushed writes, a new transaction or a new request look again; outside
    a request every call looks."""
    build_city(session, instrument, layout=((2,),), per_building=8, completed=0.5)
    looked = []
    real = design._log_marks

    def spy(session, marks):
        looked.append(marks)
        return real(session, marks)

    monkeypatch.setattr(design, "_log_marks", spy)
    first = design._newest_ids(session)
    design._newest_ids(session)
    assert len(looked) == 2  # no request: every time
    looked.clear()
    with app.test_request_context("/results/overview"):
        assert design._newest_ids(session) == first
        assert design._newest_ids(session) == first and len(looked) == 1
        audit.record(session=session, action="sign-in", entity="user", entity_id="1")
        session.flush()
        after = design._newest_ids(session)
        assert len(looked) == 2 and after[5] == first[5] + 1
        session.commit()
        design._newest_ids(session)
        assert len(looked) == 3
    with app.test_request_context("/results/overview"):
        assert design._newest_ids(session) == after and len(looked) == 4
