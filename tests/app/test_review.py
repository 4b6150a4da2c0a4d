"""Review (督导审核): the state machine, its audit trail, and the totals it moves."""

from __future__ import annotations

import pytest
from sqlmodel import select

from survey_app.errors import Forbidden, NotFound, ServiceError
from survey_app.fieldwork import review
from survey_app.models import AuditLog, Community, IndicatorTotal, Response, ReviewEvent

from .canvass_factories import assignments_of, complete_answers, make_fieldwork, response_payload
from .factories import login, make_user

pytestmark = pytest.mark.db


@pytest.fixture(autouse=True)
def _app_context(app):
    with app.app_context():
        yield


@pytest.fixture
def interviews(session, app, client):
    """Two interviews by canvasser 0 (community 0), one by canvasser 1 (community 1)."""
    wave, canvassers = make_fieldwork(session, app)
    stored = []
    for who, n in ((canvassers[0], 2), (canvassers[1], 1)):
        login(client, who)
        for a in assignments_of(session, who)[:n]:
            r = client.post("/api/responses", json=response_payload(a.id))
            assert r.status_code == 201, r.json
            stored.append(session.get(Response, r.json["id"]))
        client.post("/logout")
    return wave, canvassers, stored


def satisfaction(session, wave_id) -> tuple[int, int]:
    session.expire_all()
    rows = session.exec(
        select(IndicatorTotal).where(
            IndicatorTotal.wave_id == wave_id, IndicatorTotal.indicator == "satisfaction"
        )
    ).all()
    return sum(r.n for r in rows), sum(r.positive for r in rows)


def test_allowed_transitions_per_level():
    S, H = review.Level.SUPERVISOR, review.Level.HQ
    assert review.next_state("pending", "approve", S) == "accepted"
    assert review.next_state("pending", "approve", H) == "approved_hq"
    assert review.next_state("accepted", "approve", H) == "approved_hq"
    assert review.next_state("pending", "reject", S) == "rejected"
    assert review.next_state("accepted", "reject", H) == "rejected"
    assert review.next_state("rejected", "reopen", H) == "pending"
    assert review.next_state("rejected", "resubmit", S) == "pending"
    # refused
    assert review.next_state("accepted", "approve", S) is None
    assert review.next_state("accepted", "reject", S) is None
    assert review.next_state("rejected", "approve", H) is None
    assert review.next_state("rejected", "reopen", S) is None
    assert review.next_state("pending", "reopen", H) is None
    assert review.next_state("pending", "explode", H) is None
    assert review.allowed_actions("pending", S) == ["approve", "reject"]
    assert review.allowed_actions("approved_hq", H) == ["reject", "reopen"]


def test_supervisor_approves_then_hq_approves_with_events_and_audit(session, interviews):
    wave, canvassers, (r1, *_) = interviews
    supervisor = make_user(session, "supervisor", session.get(Community, r1.community_id))
    analyst = make_user(session, "analyst")
    review.act(session=session, user=supervisor, response_id=r1.id, action="approve")
    review.act(session=session, user=analyst, response_id=r1.id, action="approve")
    session.refresh(r1)
    assert r1.review_state == "approved_hq"
    steps = [(e.action, e.from_state, e.to_state, e.level) for e in
             review.events(session=session, response_id=r1.id)]  # fmt: skip
    assert steps == [
        ("approve", "pending", "accepted", "supervisor"),
        ("approve", "accepted", "approved_hq", "hq"),
    ]
    logs = session.exec(select(AuditLog).where(AuditLog.entity_id == r1.uuid)).all()
    assert [log.action for log in logs if log.action.startswith("review_")] == [
        "review_approve",
        "review_approve",
    ]


def test_refused_transitions_and_roles(session, interviews):
    wave, (me, other), (r1, r2, r3) = interviews
    supervisor = make_user(session, "supervisor", session.get(Community, r1.community_id))
    review.act(session=session, user=supervisor, response_id=r1.id, action="approve")
    with pytest.raises(ServiceError) as err:
        review.act(session=session, user=supervisor, response_id=r1.id, action="reject",
                   comment="x")  # fmt: skip
    assert err.value.status == 409
    with pytest.raises(ServiceError) as err:  # a rejection needs a reason
        review.act(session=session, user=supervisor, response_id=r2.id, action="reject")
    assert err.value.status == 422
    with pytest.raises(ServiceError) as err:  # a comment on a question the form lacks
        review.act(session=session, user=supervisor, response_id=r2.id, action="reject",
                   item_comments={"nope": "?"})  # fmt: skip
    assert err.value.status == 422
    with pytest.raises(NotFound):  # another community's interview
        review.act(session=session, user=supervisor, response_id=r3.id, action="approve")
    with pytest.raises(Forbidden):
        review.act(session=session, user=me, response_id=r1.id, action="approve")
    assert session.exec(select(ReviewEvent)).all()[-1].response_id == r1.id  # nothing added


def test_reject_removes_from_totals_and_reopen_puts_back(session, interviews):
    wave, _, (r1, r2, _) = interviews
    analyst = make_user(session, "analyst")
    assert satisfaction(session, wave.id) == (3, 3)
    review.act(session=session, user=analyst, response_id=r1.id, action="reject",
               comment="请核实", item_comments={"sat_overall": "与其他题矛盾"})  # fmt: skip
    assert satisfaction(session, wave.id) == (2, 2)
    event = review.last_rejection(session=session, response_id=r1.id)
    assert event.item_comments == {"sat_overall": "与其他题矛盾"} and event.comment == "请核实"
    review.act(session=session, user=analyst, response_id=r1.id, action="reopen")
    assert satisfaction(session, wave.id) == (3, 3)


def test_approved_only_rule_rebuilds_totals_and_counts_on_approval(session, interviews):
    wave, _, (r1, r2, r3) = interviews
    analyst = make_user(session, "analyst")
    review.act(session=session, user=analyst, response_id=r1.id, action="reject", comment="x")
    review.set_counts(session=session, user=analyst, wave_id=wave.id, counts="approved")
    assert satisfaction(session, wave.id) == (0, 0)
    ex = review.excluded(session=session, wave_id=wave.id)
    assert (ex.rejected, ex.pending, ex.counted) == (1, 2, 0)
    review.act(session=session, user=analyst, response_id=r2.id, action="approve")
    assert satisfaction(session, wave.id) == (1, 1)
    review.set_counts(session=session, user=analyst, wave_id=wave.id, counts="approved_pending")
    assert satisfaction(session, wave.id) == (2, 2)
    ex = review.excluded(session=session, wave_id=wave.id)
    assert (ex.rejected, ex.pending, ex.counted) == (1, 0, 2)
    with pytest.raises(ServiceError):
        review.set_counts(session=session, user=analyst, wave_id=wave.id, counts="all")


def test_new_interviews_in_an_approved_only_wave_wait_for_approval(session, app, client):
    wave, (me, _) = make_fieldwork(session, app)
    analyst = make_user(session, "analyst")
    review.set_counts(session=session, user=analyst, wave_id=wave.id, counts="approved")
    login(client, me)
    r = client.post("/api/responses", json=response_payload(assignments_of(session, me)[0].id))
    assert r.status_code == 201
    assert satisfaction(session, wave.id) == (0, 0)
    review.act(session=session, user=analyst, response_id=r.json["id"], action="approve")
    assert satisfaction(session, wave.id) == (1, 1)
    assert complete_answers()  # the factory's answers are all 满意
