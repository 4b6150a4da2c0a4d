"""Whole-wave counts and figures are reused between page views (fieldwork.design.cached)
only while nothing they depend on changed: a new interview, a review decision, a change
of the counting rule or a recomputed closed wave shows on the next view."""

from __future__ import annotations

from sqlmodel import select

from survey_app import audit
from survey_app.fieldwork import design, plan, review
from survey_app.models import Community, Household, Response
from survey_app.results import pages, views

from .test_waves_results import ADMIN, census, city, fill  # noqa: F401 — city: fixture


def overview_c01(session, wave_id):
    wave = plan.get_wave(session=session, wave_id=wave_id)
    data = pages.overview(session=session, wave=wave, indicator="satisfaction")
    c01 = session.exec(select(Community.id).where(Community.code == "C01")).one()
    return next(r.rate for r in data.rows if r.community_id == c01)


def reject_one(app, session, wave_id):
    """A supervisor rejects one interview of the wave."""
    response = session.exec(select(Response).where(Response.wave_id == wave_id)).first()
    with app.app_context():
        review.act(session=session, user=ADMIN, response_id=response.id, action="reject",
                   comment="录音与答案不符")  # fmt: skip


def test_overview_follows_new_interviews_and_reviews(client, session, runner, app, city):  # noqa: F811
    wave_id = census(runner, app)
    fill(client, session, wave_id, lambda a: "satisfied" if a.id % 2 else None)
    session.expire_all()
    first = overview_c01(session, wave_id)
    assert overview_c01(session, wave_id) == first  # reused
    fill(client, session, wave_id, lambda a: None if a.id % 2 else "dissatisfied")
    session.expire_all()
    second = overview_c01(session, wave_id)
    assert second.n > first.n and second.respondents > first.respondents
    assert second.estimate < first.estimate
    # A review decision (a rejection) takes the interview out of the counts at once.
    reject_one(app, session, wave_id)
    session.expire_all()
    third = overview_c01(session, wave_id)
    assert third.respondents == second.respondents - 1
    assert third.n == second.n - 1


def test_fingerprint_changes_with_the_counting_rule(client, session, runner, app, city):  # noqa: F811
    wave_id = census(runner, app)
    wave = plan.get_wave(session=session, wave_id=wave_id)
    before = design.fingerprint(session, wave)
    review.set_counts(session=session, user=ADMIN, wave_id=wave_id, counts="approved")
    session.expire_all()
    wave = plan.get_wave(session=session, wave_id=wave_id)
    assert design.fingerprint(session, wave) != before


def test_frozen_figures_follow_a_recompute(client, session, runner, app, city):  # noqa: F811
    wave_id = census(runner, app)
    fill(client, session, wave_id, lambda a: "satisfied" if a.id % 3 else "dissatisfied")
    runner.invoke(args=["waves", "close", str(wave_id)])
    session.expire_all()
    closed = overview_c01(session, wave_id)
    assert closed.n > 0 and overview_c01(session, wave_id) == closed
    with app.app_context():
        for r in session.exec(select(Response).where(Response.wave_id == wave_id)).all()[:4]:
            review.act(session=session, user=ADMIN, response_id=r.id, action="reject",
                       comment="重访")  # fmt: skip
    session.expire_all()
    assert overview_c01(session, wave_id).n == closed.n  # frozen
    result = runner.invoke(args=["waves", "recompute", str(wave_id), "--reason", "审核后重算"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert overview_c01(session, wave_id).n == closed.n - 4


def test_frozen_inputs_kept_while_interviews_arrive(client, session, runner, app, city):  # noqa: F811
    """A closed wave's parsed snapshot is reused after audited activity elsewhere (every
    interview and sign-in writes the audit log) and read again after a recompute."""
    wave_id = census(runner, app)
    fill(client, session, wave_id, lambda a: "satisfied" if a.id % 3 else "dissatisfied")
    runner.invoke(args=["waves", "close", str(wave_id)])
    session.expire_all()
    wave = plan.get_wave(session=session, wave_id=wave_id)
    assert wave.frozen_at is not None and wave.frozen_at == wave.closed_at
    parsed = design.wave_inputs(session=session, wave=wave)
    audit.record(session=session, action="submit", entity="response", entity_id="elsewhere")
    session.commit()
    session.expire_all()
    wave = plan.get_wave(session=session, wave_id=wave_id)
    assert design.wave_inputs(session=session, wave=wave) is parsed
    result = runner.invoke(args=["waves", "recompute", str(wave_id), "--reason", "审核后重算"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    wave = plan.get_wave(session=session, wave_id=wave_id)
    assert wave.frozen_at > wave.closed_at
    again = design.wave_inputs(session=session, wave=wave)
    assert again is not parsed and again.communities == parsed.communities


def test_counts_recounted_by_community(client, session, runner, app, city, monkeypatch):  # noqa: F811
    """After the first full count, a new interview or a review step recounts only its
    community (design.by_community), with the figures of a full count; an audited action
    that may change counts in place (a household taken off the frame) recounts all."""
    monkeypatch.setattr(design, "SETTLE", 0.0)  # one process: every row is committed at once
    calls = []
    real = design._communities

    def spy(session, wave, community_ids=None):
        calls.append(community_ids)
        return real(session, wave, community_ids)

    monkeypatch.setattr(design, "_communities", spy)
    wave_id = census(runner, app)
    c01 = session.exec(select(Community.id).where(Community.code == "C01")).one()
    fill(client, session, wave_id, lambda a: "satisfied" if a.id % 2 else None)
    session.expire_all()
    first = overview_c01(session, wave_id)
    assert calls[-1] is None  # the first count: every community
    fill(client, session, wave_id, lambda a: None if a.id % 2 else "dissatisfied")
    session.expire_all()
    second = overview_c01(session, wave_id)
    assert calls[-1] == [c01]  # only the community with new interviews
    assert second.respondents > first.respondents and second.n > first.n
    wave = plan.get_wave(session=session, wave_id=wave_id)
    assert design.by_community(session, wave, "communities", None) == real(session, wave)
    reject_one(app, session, wave_id)
    session.expire_all()
    third = overview_c01(session, wave_id)
    assert calls[-1] == [c01]
    assert third.respondents == second.respondents - 1
    wave = plan.get_wave(session=session, wave_id=wave_id)
    assert views._excluded(session, wave, None) == review.excluded(session=session, wave_id=wave_id)
    assert views._excluded(session, wave, None).rejected == 1
    audit.record(session=session, action="deactivate", entity="household", entity_id="1")
    session.commit()
    session.expire_all()
    assert overview_c01(session, wave_id) == third
    assert calls[-1] is None  # counted in full again


def test_unsettled_rows_are_counted_once(client, session, runner, app, city, monkeypatch):  # noqa: F811
    """On PostgreSQL the rows of the last SETTLE seconds are looked at again on each view
    (a row with a smaller id may still become visible); those already counted are not
    counted again, a new one is."""
    monkeypatch.setattr(design, "_settled_marks", lambda session: (0,) * 6)  # none settled
    calls = []

    def count(wave):
        def compute(ids):
            calls.append(ids)
            return design._communities(session, wave, ids)

        return design.by_community(session, wave, "communities", compute)

    wave_id = census(runner, app)
    c01 = session.exec(select(Community.id).where(Community.code == "C01")).one()
    fill(client, session, wave_id, lambda a: "satisfied" if a.id % 2 else None)
    session.expire_all()
    wave = plan.get_wave(session=session, wave_id=wave_id)
    first = count(wave)
    assert calls == [None]
    assert count(wave) == first and calls == [None]  # looked at again, not recounted
    fill(client, session, wave_id, lambda a: None if a.id % 2 else "dissatisfied")
    session.expire_all()
    wave = plan.get_wave(session=session, wave_id=wave_id)
    second = count(wave)
    assert calls == [None, [c01]]
    assert second[c01]["respondents"] > first[c01]["respondents"]
    assert second == design._communities(session, wave)
    assert count(wave) == second and calls == [None, [c01]]


def test_household_counts_follow_a_new_household(client, session, runner, app, city):  # noqa: F811
    """The overview's households per community: a household added (as the tablet adds
    one found in the field) is counted on the next view, the other communities kept."""
    wave_id = census(runner, app)
    wave = plan.get_wave(session=session, wave_id=wave_id)

    def counts():
        return design.by_community(
            session, wave, "households", lambda ids: pages._household_counts(session, ids)
        )

    before = counts()
    one = session.exec(select(Household).join(Community).where(Community.code == "C01")).first()
    session.add(Household(community_id=one.community_id, building_id=one.building_id,
                          code="FOUND-1"))  # fmt: skip
    session.commit()
    after = counts()
    assert after[one.community_id] == before[one.community_id] + 1
    assert after == pages._household_counts(session)
