"""The batch's reads (canvass/sync._statements): on SQLite the id and UUID lists go as
one JSON parameter each (``json_each``); they read what SQLAlchemy's expanding ``IN``
lists read, and a SQLite without ``json_each`` takes the ``IN`` lists."""

from __future__ import annotations

import pytest

from survey_app.canvass import sync

from .canvass_factories import assignments_of, make_fieldwork, response_payload

pytestmark = pytest.mark.db


def _reads(session, statements, ids, uuids):
    run = session.connection().execute
    return (
        [tuple(r) for r in run(statements.households, {"ids": ids})],
        sorted(tuple(r) for r in run(statements.visits, {"ids": ids, "uuids": uuids})),
        sorted(tuple(r) for r in run(statements.responses, {"uuids": uuids})),
        set(run(statements.stored, {"uuids": uuids}).scalars()),
        set(run(statements.held, {"uuids": uuids}).scalars()),
    )


def test_json_lists_read_what_in_lists_read(app, session, monkeypatch):
    if session.connection().dialect.name != "sqlite":
        pytest.skip("SQLite's lists")
    _, (me, _) = make_fieldwork(session, app)
    ids = [a.id for a in assignments_of(session, me)]
    payloads = [response_payload(i) for i in ids[:2]]
    with app.app_context():
        for payload in payloads:
            assert sync.submit_response(session=session, user=me, data=payload).status == 201
    uuids = [p["uuid"] for p in payloads] + ["00000000-0000-4000-8000-000000000000"]
    assert sync._sqlite_json_each()
    with_json = _reads(session, sync._statements.__wrapped__("sqlite"), ids + [10**9], uuids)
    assert "json_each" in str(sync._statements.__wrapped__("sqlite").stored)
    assert len(with_json[0]) == len(ids) and len(with_json[2]) == 2
    assert with_json[3] == set(uuids[:2])
    monkeypatch.setattr(sync, "_sqlite_json_each", lambda: False)
    in_lists = sync._statements.__wrapped__("sqlite")
    assert "json_each" not in str(in_lists.stored)
    assert _reads(session, in_lists, ids + [10**9], uuids) == with_json
    empty = ([], [], [], set(), set())
    assert _reads(session, in_lists, [], []) == empty
    assert _reads(session, sync._statements.__wrapped__("sqlite"), [], []) == empty
    session.rollback()
