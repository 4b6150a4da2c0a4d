"""Personal data (issue 13.13): the retention rule deletes positions and free text after
the period — of visits, interviews (geopoint answers too) and submissions held for an
analyst — and a tablet replaying a purged submission still gets a replay (200), not a
conflict; a backup restores to exactly what was backed up (SQLite and PostgreSQL); the
secret key stays out of backups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from survey_app import backup
from survey_app.models import FeedbackItem, HeldSubmission, Response, Role, User, Visit
from survey_app.retention import REMOVED

from .canvass_factories import assignments_of, make_fieldwork, response_payload, visit_payload
from .factories import PASSWORD, login, make_user
from .test_payload_hardening import geopoint_payload, publish_with_geopoint

pytestmark = pytest.mark.db


@pytest.fixture
def field(session, app, client):
    wave, canvassers = make_fieldwork(session, app)
    login(client, canvassers[0])
    return wave, canvassers[0]


def submit_both(client, session, me):
    a1, a2, _ = assignments_of(session, me)
    where = {"latitude": 30.2741, "longitude": 120.1552}
    visit = visit_payload(a1.id) | where | {"note": "敲门无人,邻居说晚上在家"}
    assert client.post("/api/visits", json=visit).status_code == 201
    assert client.post("/api/responses", json=response_payload(a2.id) | where).status_code == 201


def age(session, days: int) -> None:
    """Make everything stored look ``days`` days old."""
    shift = timedelta(days=days)
    for model, column in ((Visit, "visited_at"), (Response, "submitted_at"),
                          (FeedbackItem, "created_at"), (HeldSubmission, "received_at")):  # fmt: skip
        for row in session.exec(select(model)).all():
            setattr(row, column, getattr(row, column) - shift)
            session.add(row)
    session.commit()


def test_purge_deletes_positions_and_free_text_after_the_period(client, session, field, runner):
    wave, me = field
    submit_both(client, session, me)
    r = runner.invoke(args=["purge-personal-data", "--days", "365"])
    assert r.exit_code == 0 and "visits 0" in r.output  # nothing is old enough yet
    age(session, 400)
    r = runner.invoke(args=["purge-personal-data", "--dry-run"])
    assert r.exit_code == 0 and "将删除" in r.output and "visits 2" in r.output
    session.expire_all()
    assert session.exec(select(Visit).where(Visit.latitude.is_not(None))).all()
    r = runner.invoke(args=["purge-personal-data"])
    assert r.exit_code == 0, r.output
    session.expire_all()
    for visit in session.exec(select(Visit)).all():
        assert (visit.latitude, visit.longitude, visit.note) == (None, None, REMOVED)
    response = session.exec(select(Response)).one()
    assert "need" not in response.answers  # the free text
    assert response.answers["sat_overall"] == "satisfied"  # the coded answers stay
    assert session.exec(select(FeedbackItem)).one().text == REMOVED
    # Results are unchanged: the indicators never used the free text.
    r = runner.invoke(args=["purge-personal-data"])
    assert "responses 0" in r.output


WHERE = {"latitude": 30.2741, "longitude": 120.1552}


def test_a_purged_submission_replayed_is_a_replay_not_a_conflict(client, session, field, runner):
    wave, me = field
    a1, a2, _ = assignments_of(session, me)
    days_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    visit = visit_payload(a1.id) | WHERE | {"note": "敲门无人,邻居说晚上在家"}
    visit["visited_at"] = days_ago.isoformat()
    response = response_payload(a2.id) | WHERE
    response["started_at"] = days_ago.isoformat()
    response["submitted_at"] = (days_ago + timedelta(minutes=6)).isoformat()
    assert client.post("/api/visits", json=visit).status_code == 201
    assert client.post("/api/responses", json=response).status_code == 201
    stored_hash = session.exec(select(Response)).one().content_hash
    # Purged as they are (not made to look older: the replay must match what is stored).
    r = runner.invoke(args=["purge-personal-data", "--days", "2"])
    assert r.exit_code == 0 and "visits 2" in r.output and "responses 1" in r.output, r.output
    # The tablet's outbox replayed after the purge (a restored tablet backup, say).
    r = client.post("/api/visits", json=visit)
    assert r.status_code == 200 and r.json["replayed"] is True, r.json
    r = client.post("/api/responses", json=response)
    assert r.status_code == 200 and r.json["replayed"] is True, r.json
    r = client.post("/api/sync", json={"visits": [visit], "responses": [response]}).json
    assert [r["visits"][0]["status"], r["responses"][0]["status"]] == [200, 200]
    # The interview keeps the hash of what was received; its stored answers lost the text.
    session.expire_all()
    stored = session.exec(select(Response)).one()
    assert stored.content_hash == stored_hash and "need" not in stored.answers
    # Another visit under a purged visit's UUID is still a conflict.
    other = visit | {"visited_at": (days_ago + timedelta(hours=1)).isoformat()}
    assert client.post("/api/visits", json=other).status_code == 409
    assert len(session.exec(select(Visit)).all()) == 2


def test_purge_covers_geopoint_answers(client, session, app, field, runner):
    wave, me = field
    publish_with_geopoint(session, app)
    sent = geopoint_payload(assignments_of(session, me)[0].id, "30.274149 120.155212 12 5")
    assert client.post("/api/responses", json=sent).status_code == 201
    age(session, 400)
    r = runner.invoke(args=["purge-personal-data"])
    assert r.exit_code == 0 and "responses 1" in r.output, r.output
    session.expire_all()
    answers = session.exec(select(Response)).one().answers
    assert "where" not in answers and "need" not in answers and answers["consent"] == "yes"
    assert client.post("/api/responses", json=sent).status_code == 200  # a replay still


def test_purge_covers_submissions_held_for_an_analyst(client, session, field, runner):
    wave, me = field
    a1, a2, _ = assignments_of(session, me)
    for a in (a1, a2):  # taken back from the canvasser while the tablet was offline
        a.canvasser_id = None
        session.add(a)
    session.commit()
    precise = {"latitude": 30.274149876, "longitude": 120.155212345}
    visit = visit_payload(a1.id) | precise | {"note": "敲门无人,邻居说晚上在家"}
    response = response_payload(a2.id) | precise
    body = client.post("/api/sync", json={"visits": [visit], "responses": [response]}).json
    assert body["visits"][0]["held"] and body["responses"][0]["held"]
    held = session.exec(select(HeldSubmission).order_by(HeldSubmission.id)).all()
    assert len(held) == 2 and held[0].payload["note"] and held[1].payload["answers"]["need"]
    for row in held:  # kept as sent, but at ~10 m like everything received
        assert (row.payload["latitude"], row.payload["longitude"]) == (30.2741, 120.1552)
    held[0].resolution = "dismissed"  # one decided by an analyst, one still waiting
    session.add(held[0])
    session.commit()
    r = runner.invoke(args=["purge-personal-data"])
    assert r.exit_code == 0 and "held 0" in r.output  # nothing is old enough yet
    age(session, 400)
    r = runner.invoke(args=["purge-personal-data"])
    assert r.exit_code == 0 and "held 2" in r.output, r.output
    session.expire_all()
    kept_visit, kept_response = session.exec(select(HeldSubmission).order_by(HeldSubmission.id))
    for row in (kept_visit, kept_response):
        assert row.payload["purged"] is True
        assert not {"latitude", "longitude", "note"} & set(row.payload)
    assert kept_visit.payload["outcome"] == visit["outcome"]
    answers = kept_response.payload["answers"]
    assert "need" not in answers and answers["sat_overall"] == "satisfied"
    # The tablet sending them again: still held once, not held anew.
    body = client.post("/api/sync", json={"visits": [visit], "responses": [response]}).json
    assert body["visits"][0]["status"] == 409 and body["responses"][0]["status"] == 409
    assert len(session.exec(select(HeldSubmission)).all()) == 2
    assert "held 0" in runner.invoke(args=["purge-personal-data"]).output


def test_backup_and_restore(app, client, session, field, runner, tmp_path):
    wave, me = field
    submit_both(client, session, me)
    url = app.config["SETTINGS"].database_url
    saved = tmp_path / "survey.backup"
    r = runner.invoke(args=["backup", str(saved)])
    assert r.exit_code == 0, r.output
    assert "SECRET_KEY" in r.output
    before = backup.counts(url)
    assert before["responses"] == 1 and before["visits"] == 2
    # After the backup: a user is added, the data is damaged.
    extra = make_user(session, Role.ANALYST)
    for visit in session.exec(select(Visit)).all():
        session.delete(visit)
    session.commit()
    session.close()
    app.extensions["engine"].dispose()  # the app servers are stopped for a restore
    assert runner.invoke(args=["restore", str(saved)]).exit_code != 0  # needs --yes
    r = runner.invoke(args=["restore", str(saved), "--yes"])
    assert r.exit_code == 0, r.output
    assert backup.counts(url) == before
    session.expire_all()
    assert session.get(User, extra.id) is None
    # The restored app works: sign in, read what was stored.
    fresh = app.test_client()
    assert login(fresh, me, PASSWORD).status_code == 302
    assert fresh.get("/api/canvass/assignments").status_code == 200


def test_backup_errors_are_one_line(runner, tmp_path):
    r = runner.invoke(args=["restore", str(tmp_path / "missing.backup"), "--yes"])
    assert r.exit_code != 0 and "找不到备份文件" in r.output and "Traceback" not in r.output


def test_secret_key_is_not_in_the_backup(app, runner, tmp_path):
    saved = tmp_path / "survey.backup"
    assert runner.invoke(args=["backup", str(saved)]).exit_code == 0
    assert app.config["SECRET_KEY"].encode() not in saved.read_bytes()
