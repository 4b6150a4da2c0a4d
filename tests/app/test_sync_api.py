"""The tablet's sync API: idempotent by device UUID, validated, scoped, batchable."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlmodel import select

from survey_app.models import AuditLog, FeedbackItem, IndicatorTotal, Response, Visit

from .canvass_factories import (
    assignments_of,
    complete_answers,
    make_fieldwork,
    response_payload,
    visit_payload,
)
from .factories import login

pytestmark = pytest.mark.db


@pytest.fixture
def field(session, app, client):
    wave, canvassers = make_fieldwork(session, app)
    login(client, canvassers[0])
    return wave, canvassers


def count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def test_response_is_stored_with_profile_feedback_totals_and_audit(client, session, field):
    wave, (me, _) = field
    a = assignments_of(session, me)[0]
    payload = response_payload(a.id)
    r = client.post("/api/responses", json=payload)
    assert r.status_code == 201, r.json
    assert r.json["uuid"] == payload["uuid"] and r.json["replayed"] is False
    stored = session.exec(select(Response)).one()
    assert (stored.age_group, stored.sex, stored.residence_years) == ("a30_44", "female", "r3_10")
    assert stored.household_id == a.household_id and stored.canvasser_id == me.id
    assert stored.timings == payload["timings"] and stored.device.startswith("Mozilla")
    assert stored.quality_flags == []
    visit = session.exec(select(Visit)).one()
    assert (visit.uuid, visit.outcome, visit.attempt) == (payload["uuid"], "completed", 1)
    feedback = session.exec(select(FeedbackItem)).one()
    assert (feedback.kind, feedback.status) == ("问需", "found")
    assert feedback.response_id == stored.id
    totals = {t.indicator: (t.n, t.positive) for t in session.exec(select(IndicatorTotal))}
    assert totals["satisfaction"] == (1, 1) and totals["awareness_regulation"] == (1, 0)
    actions = {(log.action, log.entity) for log in session.exec(select(AuditLog))}
    assert ("submit", "response") in actions


def test_replay_returns_200_and_the_stored_result(client, session, field):
    _, (me, _) = field
    payload = response_payload(assignments_of(session, me)[0].id)
    first = client.post("/api/responses", json=payload)
    again = client.post("/api/responses", json=payload)
    assert again.status_code == 200
    assert again.json["replayed"] is True
    assert {k: v for k, v in again.json.items() if k != "replayed"} == {
        k: v for k, v in first.json.items() if k not in ("replayed", "status")
    } | {"status": 200}
    # Same content written differently (key order, time zone notation) is a replay too.
    reordered = dict(reversed(list(payload.items())))
    started = datetime.fromisoformat(payload["started_at"])
    reordered["started_at"] = started.astimezone(timezone(timedelta(hours=8))).isoformat()
    assert client.post("/api/responses", json=reordered).status_code == 200
    assert count(session, Response) == 1 and count(session, Visit) == 1


def test_different_content_under_a_stored_uuid_is_409(client, session, field):
    _, (me, _) = field
    a1, a2 = assignments_of(session, me)[:2]
    payload = response_payload(a1.id)
    assert client.post("/api/responses", json=payload).status_code == 201
    changed = payload | {"answers": complete_answers(sat_overall="dissatisfied")}
    r = client.post("/api/responses", json=changed)
    assert r.status_code == 409 and r.json["reason"] == "conflict"
    # ... also when aimed at another household
    assert client.post("/api/responses", json=payload | {"assignment_id": a2.id}).status_code == 409
    assert count(session, Response) == 1


@pytest.mark.parametrize(
    ("answers", "item", "code"),
    [
        (complete_answers(sat_overall=None), "sat_overall", "required"),
        (complete_answers(support="maybe"), "support", "unknown_choice"),
        (
            complete_answers(
                improve_first=["traffic_order", "dog_keeping", "farmers_market", "illegal_ads"]
            ),
            "improve_first",
            "constraint",
        ),
        (complete_answers(consent="no"), "aware_campaign", "not_relevant"),
    ],
)
def test_invalid_answers_are_422_naming_the_item(client, session, field, answers, item, code):
    _, (me, _) = field
    payload = response_payload(assignments_of(session, me)[0].id, answers=answers)
    r = client.post("/api/responses", json=payload)
    assert r.status_code == 422, r.json
    assert r.json["item"] == item and item in r.json["error"]
    assert code in {e["code"] for e in r.json["errors"]}
    assert count(session, Response) == 0 and count(session, Visit) == 0


def test_out_of_range_number_is_422_naming_the_item(app, client, session, field):
    """The household form has no number item: check the range rule on a one-item form."""
    import instruments

    form = instruments.loads_instrument(
        "key: household\nversion: 1\ntitle: {zh: 测试}\nitems:\n"
        "  - {name: persons, type: number, required: true, min: 1, max: 20,"
        " label: {zh: 家庭人口}}\n",
        "test.yaml",
    )
    # The published version 1 is served from the database: stand the test form in for it.
    app.extensions["instrument_versions"][("household", "1")] = form
    _, (me, _) = field
    payload = response_payload(assignments_of(session, me)[0].id, answers={"persons": 99})
    r = client.post("/api/responses", json=payload)
    assert r.status_code == 422 and r.json["item"] == "persons"
    assert r.json["errors"][0]["code"] == "out_of_range"
    assert count(session, Response) == 0


@pytest.mark.parametrize(
    ("field_name", "value"),
    [("uuid", "not-a-uuid"), ("assignment_id", "7"), ("started_at", "yesterday"), ("answers", [])],
)
def test_malformed_payload_is_422_naming_the_field(client, session, field, field_name, value):
    _, (me, _) = field
    payload = response_payload(assignments_of(session, me)[0].id) | {field_name: value}
    r = client.post("/api/responses", json=payload)
    assert r.status_code == 422 and r.json["item"] == field_name


def test_canvasser_cannot_submit_outside_their_assignments(client, session, field):
    _, (me, other) = field
    theirs = assignments_of(session, other)[0]  # another canvasser, another community
    r = client.post("/api/responses", json=response_payload(theirs.id))
    assert r.status_code == 403
    r = client.post("/api/visits", json=visit_payload(theirs.id))
    assert r.status_code == 403
    r = client.post("/api/responses", json=response_payload(999_999))
    assert r.status_code == 403
    assert count(session, Response) == 0 and count(session, Visit) == 0


def test_other_roles_cannot_submit(client, session, field):
    from .factories import make_user

    _, (me, _) = field
    client.post("/logout")
    analyst = make_user(session, "analyst")
    login(client, analyst)
    r = client.post("/api/responses", json=response_payload(assignments_of(session, me)[0].id))
    assert r.status_code == 403
    client.post("/logout")
    assert client.post("/api/sync", json={"visits": []}).status_code == 401


def test_visits_count_attempts_and_stop_at_the_waves_limit(client, session, field):
    wave, (me, _) = field
    a = assignments_of(session, me)[0]
    attempts = []
    for minute in range(wave.max_attempts):
        r = client.post("/api/visits", json=visit_payload(a.id, minute=minute))
        assert r.status_code == 201, r.json
        attempts.append(r.json["attempt"])
    assert attempts == [1, 2, 3]
    r = client.post("/api/visits", json=visit_payload(a.id, "refused"))
    assert r.status_code == 422 and r.json["reason"] == "max_attempts"
    r = client.post("/api/responses", json=response_payload(a.id))
    assert r.status_code == 422 and r.json["reason"] == "max_attempts"
    assert count(session, Visit) == 3 and count(session, Response) == 0


def test_visit_replay_and_conflict(client, session, field):
    _, (me, _) = field
    a = assignments_of(session, me)[0]
    payload = visit_payload(a.id)
    assert client.post("/api/visits", json=payload).status_code == 201
    again = client.post("/api/visits", json=payload)
    assert again.status_code == 200 and again.json["replayed"] is True
    assert again.json["attempt"] == 1
    r = client.post("/api/visits", json=payload | {"outcome": "refused"})
    assert r.status_code == 409
    assert count(session, Visit) == 1


def test_completed_household_takes_no_more_visits_or_responses(client, session, field):
    _, (me, _) = field
    a = assignments_of(session, me)[0]
    assert client.post("/api/responses", json=response_payload(a.id)).status_code == 201
    r = client.post("/api/visits", json=visit_payload(a.id))
    assert r.status_code == 422 and r.json["reason"] == "completed"
    r = client.post("/api/responses", json=response_payload(a.id))
    assert r.status_code == 422 and r.json["reason"] == "completed"
    assert count(session, Response) == 1


def test_unknown_visit_outcome_is_422(client, session, field):
    _, (me, _) = field
    a = assignments_of(session, me)[0]
    for outcome in ("completed", "gone fishing"):
        r = client.post("/api/visits", json=visit_payload(a.id, outcome))
        assert r.status_code == 422 and r.json["item"] == "outcome"


def test_batch_reports_each_item_and_replaying_it_adds_nothing(client, session, field):
    _, (me, other) = field
    a1, a2, a3 = assignments_of(session, me)
    bad = response_payload(a3.id, answers=complete_answers(sex=None))
    outbox = {
        "visits": [visit_payload(a1.id), visit_payload(a2.id, "refused")],
        "responses": [
            response_payload(a1.id),
            bad,
            response_payload(assignments_of(session, other)[0].id),
        ],
    }
    r = client.post("/api/sync", json=outbox)
    assert r.status_code == 200
    assert [v["status"] for v in r.json["visits"]] == [201, 201]
    assert [x["status"] for x in r.json["responses"]] == [201, 422, 403]
    assert r.json["responses"][1]["item"] == "sex"
    assert r.json["responses"][0]["uuid"] == outbox["responses"][0]["uuid"]
    assert count(session, Response) == 1 and count(session, Visit) == 3

    replay = client.post("/api/sync", json=outbox)
    assert [v["status"] for v in replay.json["visits"]] == [200, 200]
    assert [x["status"] for x in replay.json["responses"]] == [200, 422, 403]
    assert count(session, Response) == 1 and count(session, Visit) == 3
    totals = session.exec(select(IndicatorTotal).where(IndicatorTotal.indicator == "support")).one()
    assert totals.n == 1


def test_batch_with_the_same_uuid_twice_stores_it_once(client, session, field):
    _, (me, _) = field
    payload = response_payload(assignments_of(session, me)[0].id)
    r = client.post("/api/sync", json={"responses": [payload, payload]})
    assert [x["status"] for x in r.json["responses"]] == [201, 200]
    assert count(session, Response) == 1


def test_batch_shape_errors(client, session, field):
    assert client.post("/api/sync", json=[1, 2]).status_code == 422
    assert client.post("/api/sync", json={"visits": "x"}).status_code == 422
    r = client.post("/api/sync", json={"responses": [{}] * 501})
    assert r.status_code == 422
    r = client.post("/api/sync", json={"responses": ["nope"]})
    assert r.json["responses"][0]["status"] == 422


def test_too_fast_interview_is_flagged(client, session, field):
    _, (me, _) = field
    payload = response_payload(assignments_of(session, me)[0].id, minutes=0.5)
    r = client.post("/api/responses", json=payload)
    assert r.status_code == 201 and r.json["quality_flags"] == ["too_fast"]


def test_assignments_and_instrument_for_the_tablet(client, session, field):
    wave, (me, _) = field
    a = assignments_of(session, me)[0]
    client.post("/api/visits", json=visit_payload(a.id))
    body = client.get("/api/canvass/assignments").json
    assert body["wave"]["max_attempts"] == wave.max_attempts
    households = [h for b in body["buildings"] for h in b["households"]]
    assert len(households) == 3
    first = next(h for h in households if h["assignment_id"] == a.id)
    assert (first["attempts"], first["last_outcome"], first["completed"]) == (1, "not_home", False)
    url = f"/api/canvass/instrument/{body['wave']['instrument_key']}/{body['wave']['instrument_version']}"
    form = client.get(url)
    assert form.status_code == 200 and form.json["key"] == "household"
    assert form.headers["ETag"].strip('"') == form.json["content_hash"]
    assert client.get("/api/canvass/instrument/household/99").status_code == 404


def test_batch_totals_equal_one_by_one_totals(client, session, field):
    """The batch's single upsert of indicator sums means the same as one per response."""
    _, (me, _) = field
    a1, a2, a3 = assignments_of(session, me)
    answers = [
        complete_answers(sat_overall="satisfied"),
        complete_answers(sat_overall="neutral"),
        complete_answers(sat_overall="dont_know", support="dont_know"),
    ]
    outbox = [response_payload(a.id, answers=x) for a, x in zip((a1, a2, a3), answers, strict=True)]
    r = client.post("/api/sync", json={"responses": outbox})
    assert [x["status"] for x in r.json["responses"]] == [201, 201, 201]
    session.expire_all()
    totals = {t.indicator: (t.n, t.positive) for t in session.exec(select(IndicatorTotal))}
    assert totals["satisfaction"] == (3, 1)
    assert totals["support"] == (3, 2)
    assert totals["awareness"] == (3, 3)
    assert count(session, FeedbackItem) == 3


@pytest.mark.parametrize(
    "answers",
    [
        {"screen_resident": "no"},
        {"screen_resident": "yes", "screen_age": "yes", "consent": "no"},
    ],
)
def test_screened_out_or_declined_is_not_a_response(client, session, field, answers):
    _, (me, _) = field
    payload = response_payload(assignments_of(session, me)[0].id, answers=answers)
    r = client.post("/api/responses", json=payload)
    assert r.status_code == 422 and r.json["reason"] == "not_interviewed"
    assert r.json["item"] == "aware_campaign"
    assert count(session, Response) == 0


def test_body_that_is_not_json_is_422(client, session, field):
    r = client.post("/api/responses", data="answers=1", content_type="text/plain")
    assert r.status_code == 422 and r.json["item"] == "body"
    r = client.post("/api/visits", json=["not", "an", "object"])
    assert r.status_code == 422 and r.json["item"] == "body"


def test_position_is_kept_on_visits_rounded_to_about_10_m(client, session, field):
    _, (me, _) = field
    a1, a2, _ = assignments_of(session, me)
    where = {"latitude": 30.274151234567, "longitude": 120.155149876543}
    visit = visit_payload(a1.id) | where
    assert client.post("/api/visits", json=visit).status_code == 201
    assert client.post("/api/responses", json=response_payload(a2.id) | where).status_code == 201
    points = {(v.latitude, v.longitude) for v in session.exec(select(Visit))}
    assert points == {(30.2742, 120.1551)}  # 4 decimals: ~11 m (issue 13.13, PIPL)
    assert client.post("/api/visits", json=visit).status_code == 200  # a replay still is
    r = client.post("/api/visits", json=visit_payload(a1.id) | {"latitude": 91})
    assert r.status_code == 422 and r.json["item"] == "latitude"
