"""Rejected interviews back to the tablet: revisions through the sync API, idempotent,
never a second interview of a household, the totals moved to the new revision."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from survey_app.fieldwork import review
from survey_app.models import (
    AuditLog,
    IndicatorTotal,
    Response,
    ResponseRevision,
    ReviewEvent,
)

from .canvass_factories import (
    assignments_of,
    complete_answers,
    make_fieldwork,
    new_uuid,
    response_payload,
)
from .factories import login, make_user

pytestmark = pytest.mark.db


@pytest.fixture
def rejected(session, app, client):
    """One interview by canvasser 0, rejected by an analyst with a comment on sat_overall."""
    wave, (me, other) = make_fieldwork(session, app)
    login(client, me)
    payload = response_payload(assignments_of(session, me)[0].id)
    r = client.post("/api/responses", json=payload)
    assert r.status_code == 201
    analyst = make_user(session, "analyst")
    with app.app_context():
        review.act(session=session, user=analyst, response_id=r.json["id"], action="reject",
                   comment="请重新核实满意度", item_comments={"sat_overall": "请再问一次"})  # fmt: skip
    return wave, me, other, payload, analyst


def revision_of(payload: dict, **answers) -> dict:
    return {
        **payload,
        "uuid": new_uuid(),
        "revises": payload["uuid"],
        "answers": complete_answers(**answers),
        "note": "已回访更正",
    }


def sat_totals(session, wave_id):
    session.expire_all()
    rows = session.exec(
        select(IndicatorTotal).where(
            IndicatorTotal.wave_id == wave_id, IndicatorTotal.indicator == "satisfaction"
        )
    ).all()
    return sum(r.n for r in rows), sum(r.positive for r in rows)


def count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def test_the_tablet_gets_its_rejected_interviews_with_comments(client, session, rejected):
    wave, me, other, payload, _ = rejected
    body = client.get("/api/canvass/returned").json
    (item,) = body["returned"]
    assert item["uuid"] == payload["uuid"] and item["assignment_id"] == payload["assignment_id"]
    assert item["comment"] == "请重新核实满意度"
    assert item["item_comments"] == {"sat_overall": "请再问一次"}
    assert item["answers"]["sat_overall"] == "satisfied"
    client.post("/logout")
    login(client, other)
    assert client.get("/api/canvass/returned").json == {"returned": []}


def test_revision_is_stored_replayed_and_moves_the_totals(client, session, rejected):
    wave, me, _, payload, analyst = rejected
    assert sat_totals(session, wave.id) == (0, 0)  # rejected: not counted
    rev = revision_of(payload, sat_overall="dissatisfied")
    r = client.post("/api/sync", json={"visits": [], "responses": [rev]})
    (result,) = r.json["responses"]
    assert result["status"] == 201, result
    assert (result["revision"], result["review_state"], result["revises"]) == (
        2, "pending", payload["uuid"]
    )  # fmt: skip
    assert sat_totals(session, wave.id) == (1, 0)  # the new revision's answer counts
    # a replay of the revision: 200, nothing added
    again = client.post("/api/responses", json=rev)
    assert again.status_code == 200 and again.json["replayed"] is True
    assert count(session, Response) == 1 and count(session, ResponseRevision) == 2
    # every revision kept as it came
    revs = session.exec(select(ResponseRevision).order_by(ResponseRevision.number)).all()
    assert [r.answers["sat_overall"] for r in revs] == ["satisfied", "dissatisfied"]
    assert revs[0].uuid == payload["uuid"] and revs[1].note == "已回访更正"
    stored = session.exec(select(Response)).one()
    assert (stored.revision, stored.answers["sat_overall"]) == (2, "dissatisfied")
    assert client.get("/api/canvass/returned").json == {"returned": []}
    steps = [e.action for e in session.exec(select(ReviewEvent).order_by(ReviewEvent.id))]
    assert steps == ["reject", "resubmit"]
    assert session.exec(select(AuditLog).where(AuditLog.action == "resubmit")).one()


def test_a_second_different_revision_is_refused_never_a_second_interview(client, session, rejected):
    wave, *_, payload, analyst = rejected
    first = client.post("/api/responses", json=revision_of(payload, sat_overall="neutral"))
    assert first.status_code == 201
    second = client.post("/api/responses", json=revision_of(payload, sat_overall="satisfied"))
    assert second.status_code == 409 and second.json["reason"] == "not_rejected"
    # the same revision UUID with other content: conflict
    rev = revision_of(payload)
    rev["uuid"] = first.json["uuid"]
    assert client.post("/api/responses", json=rev).status_code == 409
    # replaying the original submission is still a replay of revision 1's UUID
    assert client.post("/api/responses", json=payload).status_code == 200
    assert count(session, Response) == 1 and count(session, ResponseRevision) == 2
    # rejected again, a third revision is accepted
    with client.application.app_context():
        review.act(session=session, user=analyst, response_id=first.json["id"], action="reject",
                   comment="仍有疑问")  # fmt: skip
    third = client.post("/api/responses", json=revision_of(payload, sat_overall="satisfied"))
    assert third.status_code == 201 and third.json["revision"] == 3
    assert sat_totals(session, wave.id) == (1, 1)


def test_revision_refusals(client, session, rejected):
    wave, me, other, payload, _ = rejected
    bad = revision_of(payload)
    bad["revises"] = "not-a-uuid"
    assert client.post("/api/responses", json=bad).status_code == 422
    unknown = revision_of(payload)
    unknown["revises"] = new_uuid()
    assert client.post("/api/responses", json=unknown).status_code == 404
    wrong_house = revision_of(payload)
    wrong_house["assignment_id"] = assignments_of(session, me)[1].id
    assert client.post("/api/responses", json=wrong_house).status_code == 422
    invalid = revision_of(payload, sat_overall="awesome")
    assert client.post("/api/responses", json=invalid).status_code == 422
    client.post("/logout")
    login(client, other)
    assert client.post("/api/responses", json=revision_of(payload)).status_code == 403
    assert count(session, ResponseRevision) == 0
