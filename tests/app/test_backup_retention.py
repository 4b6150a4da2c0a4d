"""Personal data (issue 13.13): the retention rule deletes positions and free text after
the period; a backup restores to exactly what was backed up (SQLite and PostgreSQL); the
secret key stays out of backups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from survey_app import backup
from survey_app.models import FeedbackItem, Response, Role, User, Visit
from survey_app.retention import REMOVED

from .canvass_factories import assignments_of, make_fieldwork, response_payload, visit_payload
from .factories import PASSWORD, login, make_user

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
                          (FeedbackItem, "created_at")):  # fmt: skip
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
        assert (visit.latitude, visit.longitude, visit.note) == (None, None, None)
    response = session.exec(select(Response)).one()
    assert "need" not in response.answers  # the free text
    assert response.answers["sat_overall"] == "satisfied"  # the coded answers stay
    assert session.exec(select(FeedbackItem)).one().text == REMOVED
    # Results are unchanged: the indicators never used the free text.
    r = runner.invoke(args=["purge-personal-data"])
    assert "responses 0" in r.output


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
