"""survey_app.bulk: PostgreSQL's driver paths (pipelined executemany, COPY) store exactly
what SQLAlchemy's multi-row INSERT stores, and a duplicate key is SQLAlchemy's
IntegrityError on every path (the sync retries on it). Runs on SQLite and PostgreSQL
(SURVEY_TEST_DB=postgresql); on SQLite ``values`` is SQLAlchemy's path and every other
mode the sqlite3 cursor's (the columns' SQLAlchemy bind processors, no execution layer)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from survey_app import bulk
from survey_app.models import AuditLog, Response, Visit, VisitOutcome

from .canvass_factories import assignments_of, make_fieldwork

pytestmark = pytest.mark.db
MODES = ("values", "executemany", "copy", "auto")
AT = datetime(2026, 11, 30, 8, 30, 15, 123456, tzinfo=UTC)


def _audit_rows(mode: str, n: int) -> list[dict]:
    details = [{"流程": [1, "二", None], "x": 1.5}, None, {}]
    return [
        {"at": AT, "user_id": None, "action": "bulk-test", "entity": mode,
         "entity_id": f"{mode}-{i}", "detail": details[i % 3]}
        for i in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize("n", [1, 3, bulk.COPY_FROM + 2])
def test_every_mode_stores_the_same_rows(session, monkeypatch, n):
    stored = {}
    for mode in MODES:
        monkeypatch.setattr(bulk, "MODE", mode)
        rows = _audit_rows(mode, n)
        new = bulk.insert(session.connection(), AuditLog.__table__, rows, returning=("entity_id",))
        assert sorted(entity_id for _, entity_id in new) == sorted(r["entity_id"] for r in rows)
        ids = {entity_id: id_ for id_, entity_id in new}
        read = session.connection().execute(
            text(
                "SELECT id, entity_id, at, detail IS NULL, CAST(detail AS TEXT) FROM auditlog"
                " WHERE entity = :mode ORDER BY id"
            ),
            {"mode": mode},
        )
        rows_read = [tuple(r) for r in read]
        assert {r[1]: r[0] for r in rows_read} == ids  # each id belongs to its row
        stored[mode] = [(r[1].split("-")[1], *r[2:]) for r in rows_read]
    assert all(stored[mode] == stored["values"] for mode in MODES), stored
    if n > 1:  # SQLAlchemy's JSON stores None as JSON null, not SQL NULL: so do the others
        assert tuple(stored["values"][1][2:]) == (False, "null")


@pytest.mark.parametrize("mode", MODES)
def test_a_duplicate_uuid_is_sqlalchemys_integrity_error(app, session, monkeypatch, mode):
    monkeypatch.setattr(bulk, "MODE", mode)
    _, (me, _) = make_fieldwork(session, app)
    assignment = assignments_of(session, me)[0]
    rows = [
        {"uuid": f"00000000-0000-4000-8000-{i:012d}", "assignment_id": assignment.id,
         "attempt": i + 1, "outcome": VisitOutcome.NOT_HOME, "visited_at": AT,
         "canvasser_id": me.id}
        for i in range(bulk.COPY_FROM)
    ]  # fmt: skip
    rows[-1]["uuid"] = rows[0]["uuid"]
    with pytest.raises(IntegrityError):
        bulk.insert(session.connection(), Visit.__table__, rows, returning=("uuid",))
    session.rollback()


def test_a_scalar_default_is_filled_in(app, session, monkeypatch):
    """Response.revision (default 1) is not among the sync's row keys."""
    from survey_app.canvass import sync

    from .canvass_factories import response_payload

    _, (me, _) = make_fieldwork(session, app)
    ids = [a.id for a in assignments_of(session, me)[:2]]
    for mode, assignment_id in zip(("copy", "executemany"), ids, strict=True):
        monkeypatch.setattr(bulk, "MODE", mode)
        with app.app_context():
            result = sync.submit_response(
                session=session, user=me, data=response_payload(assignment_id)
            )
        assert result.status == 201
        stored = session.get(Response, result.body["id"])
        session.refresh(stored)
        assert (stored.revision, stored.review_state) == (1, "pending")


def test_a_response_without_its_visit_is_still_found(app, session):
    """The sync skips reading stored responses when no visit has their UUIDs (every
    stored response has its 完成 visit); were one ever alone, the unique UUID and the
    retry still answer replay or conflict, never a second row."""
    from sqlalchemy import func, select

    from survey_app.canvass import sync

    from .canvass_factories import response_payload

    _, (me, _) = make_fieldwork(session, app)
    assignment_id = assignments_of(session, me)[0].id
    payload = response_payload(assignment_id)
    with app.app_context():
        assert sync.submit_response(session=session, user=me, data=payload).status == 201
        session.connection().execute(
            text("DELETE FROM visit WHERE uuid = :u"), {"u": payload["uuid"]}
        )
        session.commit()
        again = sync.submit_response(session=session, user=me, data=payload)
        other = sync.submit_response(
            session=session, user=me, data={**payload, "device": "another tablet"}
        )
    assert (again.status, again.body["replayed"]) == (200, True)
    assert (other.status, other.body["reason"]) == (409, "conflict")
    assert session.execute(select(func.count()).select_from(Response)).scalar_one() == 1


def test_a_duplicate_inside_a_pipeline_is_sqlalchemys_integrity_error(app, session):
    """A single submission's INSERTs go out in one pipeline (PostgreSQL): a unique
    violation there is the same IntegrityError the sync retries on."""
    _, (me, _) = make_fieldwork(session, app)
    assignment = assignments_of(session, me)[0]
    row = {"uuid": "00000000-0000-4000-8000-000000000001", "assignment_id": assignment.id,
           "attempt": 1, "outcome": VisitOutcome.NOT_HOME, "visited_at": AT,
           "canvasser_id": me.id}  # fmt: skip
    connection = session.connection()
    with pytest.raises(IntegrityError), bulk.pipeline(connection):
        first = bulk.send(connection, Visit.__table__, [row], returning=("uuid",))
        again = bulk.send(connection, Visit.__table__, [{**row, "attempt": 2}], returning=("uuid",))
        first()
        again()
    session.rollback()


def test_sqlite_json_and_dates_are_sqlalchemys_text(session, monkeypatch):
    """On SQLite the sync's JSON (dicts and lists, one reused encoder) and its dates (the
    last one remembered per column) are the text SQLAlchemy's own processors give."""
    from sqlalchemy import JSON as SAJSON
    from sqlalchemy import DateTime

    dialect = session.connection().dialect
    if dialect.name != "sqlite":
        pytest.skip("the SQLite path")
    ours, memo = bulk._sqlite_processor(SAJSON(), dialect)
    theirs = SAJSON().dialect_impl(dialect).bind_processor(dialect)
    assert not memo and ours is not theirs
    values = [
        {"流程": [1, "二", None, 1.5, True, float("inf"), float("nan"), -0.0, 10**30]},
        [], {}, None, SAJSON.NULL, "text", 3, [{"repeat": {"nested": []}}],
        {1: "int key", None: "none key", 2.5: True},
    ]  # fmt: skip
    assert [ours(v) for v in values] == [theirs(v) for v in values]
    with pytest.raises(TypeError):
        ours({"a": object()})
    date_process, memo = bulk._sqlite_processor(DateTime(timezone=True), dialect)
    assert memo
    remembered = bulk._last_value(date_process)
    moments = [AT, AT, AT.replace(microsecond=0), None, AT, datetime(5, 1, 2, 3, 4, 5)]
    assert [remembered(m) for m in moments] == [date_process(m) for m in moments]
    # Through bulk.insert: rows sharing one datetime object and rows with their own.
    monkeypatch.setattr(bulk, "MODE", "executemany")
    rows = _audit_rows("dates", 4)
    rows[1]["at"] = AT.replace(second=1)
    rows[3]["at"] = datetime(2026, 11, 30, 16, 30, 15, tzinfo=UTC)
    bulk.insert(session.connection(), AuditLog.__table__, rows)
    stored = (
        session.connection()
        .execute(
            text("SELECT at, CAST(detail AS TEXT) FROM auditlog WHERE entity = 'dates' ORDER BY id")
        )
        .all()
    )
    assert [tuple(r) for r in stored] == [
        (date_process(r["at"]), theirs(r["detail"])) for r in rows
    ]


def test_the_driver_paths_json_text_is_json_dumps():
    """PostgreSQL's COPY and executemany get their JSON text from ``bulk._json_dumps``
    (dicts and lists by an encoder made once): ``json.dumps``'s text for every value."""
    import json

    values = [
        {"流程": [1, "二", None, 1.5, True, float("nan"), -0.0, 10**30]}, [], {}, None,
        "text", 3, 2.5, True, [{"repeat": {"nested": []}}], {1: "int key", None: "none key"},
    ]  # fmt: skip
    assert [bulk._json_dumps(v) for v in values] == [json.dumps(v) for v in values]
    with pytest.raises(TypeError):
        bulk._json_dumps([object()])
