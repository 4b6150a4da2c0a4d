"""The tablet's work list on the server side (issue 12): appointments and refusal kinds on
visits (stored, replayed, refused when malformed), the visit history and closed
households in the assignments, reopening with a reason, and interviews accepted on any
published version of the wave's questionnaire."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import select

from survey_app.models import AuditLog, Response, Visit

from .canvass_factories import assignments_of, make_fieldwork, response_payload, visit_payload
from .factories import login

pytestmark = pytest.mark.db


@pytest.fixture
def field(session, app, client):
    wave, canvassers = make_fieldwork(session, app)
    login(client, canvassers[0])
    return wave, canvassers


def households(client) -> dict[int, dict]:
    body = client.get("/api/canvass/assignments").json
    return {h["assignment_id"]: h for b in body["buildings"] for h in b["households"]}


def test_appointment_and_note_are_stored_replayed_and_listed(client, session, field):
    _, (me, _) = field
    a = assignments_of(session, me)[0]
    payload = visit_payload(a.id) | {
        "note": "晚上7点后在家",
        "appointment_at": "2026-11-25T11:00:00.000Z",
    }
    assert client.post("/api/visits", json=payload).status_code == 201
    assert client.post("/api/visits", json=payload).status_code == 200  # a replay
    moved = payload | {"appointment_at": "2026-11-26T11:00:00.000Z"}
    assert client.post("/api/visits", json=moved).status_code == 409
    visit = session.exec(select(Visit)).one()
    assert visit.note == "晚上7点后在家" and visit.appointment_at is not None
    h = households(client)[a.id]
    assert h["appointment_at"] == "2026-11-25T11:00:00.000Z"
    assert h["history"] == [
        {
            "attempt": 1,
            "at": "2026-11-24T08:00:00.000Z",
            "outcome": "not_home",
            "refusal": None,
            "note": "晚上7点后在家",
            "appointment_at": "2026-11-25T11:00:00.000Z",
            "mine": True,
        }
    ]
    assert h["community"] and "assigned_on" in h


@pytest.mark.parametrize(
    ("outcome", "refusal", "field_name"),
    [("refused", "maybe", "refusal"), ("not_home", "hard", "refusal")],
)
def test_bad_refusal_kind_is_422(client, session, field, outcome, refusal, field_name):
    _, (me, _) = field
    a = assignments_of(session, me)[0]
    r = client.post("/api/visits", json=visit_payload(a.id, outcome) | {"refusal": refusal})
    assert r.status_code == 422 and r.json["item"] == field_name


def test_bad_appointment_is_422(client, session, field):
    _, (me, _) = field
    a = assignments_of(session, me)[0]
    r = client.post("/api/visits", json=visit_payload(a.id) | {"appointment_at": "tomorrow"})
    assert r.status_code == 422 and r.json["item"] == "appointment_at"


def test_hard_refusal_closes_until_reopened_with_a_reason(client, session, field):
    _, (me, other) = field
    a = assignments_of(session, me)[0]
    payload = visit_payload(a.id, "refused") | {"refusal": "hard"}
    assert client.post("/api/visits", json=payload).status_code == 201
    assert households(client)[a.id]["last_refusal"] == "hard"
    assert households(client)[a.id]["reopened"] is False
    url = f"/api/canvass/assignments/{a.id}/reopen"
    r = client.post(url, json={"reason": "  "})
    assert r.status_code == 400 and "原因" in r.json["error"]
    r = client.post(url, json={"reason": "家属来电愿意接受访问"})
    assert r.status_code == 200, r.json
    assert households(client)[a.id]["reopened"] is True
    entry = session.exec(select(AuditLog).where(AuditLog.action == "reopen")).one()
    assert entry.detail == {"reason": "家属来电愿意接受访问", "after": "refused"}
    # An open household needs no reopening; someone else's cannot be reopened.
    open_one = assignments_of(session, me)[1]
    r = client.post(f"/api/canvass/assignments/{open_one.id}/reopen", json={"reason": "x"})
    assert r.status_code == 400
    theirs = assignments_of(session, other)[0]
    r = client.post(f"/api/canvass/assignments/{theirs.id}/reopen", json={"reason": "x"})
    assert r.status_code == 403
    assert client.post("/api/canvass/assignments/999999/reopen", json={}).status_code == 400


def test_interview_on_another_published_version_is_accepted(
    app, client, session, field, monkeypatch
):
    """A draft started on version 1 finishes after the wave moved to version 2."""
    from survey_app import instrument_registry

    wave, (me, _) = field
    with app.app_context():
        v1 = instrument_registry.get_instrument("household")
    v2 = dataclasses.replace(v1, version=2)
    original = instrument_registry.get_instrument

    def get_instrument(key, version=None):
        if key == "household" and str(version) == "2":
            return v2
        return original(key, version)

    monkeypatch.setattr(instrument_registry, "get_instrument", get_instrument)
    wave.instrument_version = "2"
    session.add(wave)
    session.commit()
    a, b = assignments_of(session, me)[:2]
    old = client.post("/api/responses", json=response_payload(a.id))  # version 1
    assert old.status_code == 201, old.json
    new = client.post("/api/responses", json=response_payload(b.id) | {"instrument_version": "2"})
    assert new.status_code == 201, new.json
    versions = sorted(r.instrument_version for r in session.exec(select(Response)).all())
    assert versions == ["1", "2"]
    unknown = client.post(
        "/api/responses",
        json=response_payload(assignments_of(session, me)[2].id) | {"instrument_version": "7"},
    )
    assert unknown.status_code == 422 and unknown.json["item"] == "instrument_version"
