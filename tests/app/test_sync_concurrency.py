"""Racing submissions of one UUID: the unique constraint decides, and every loser answers
replay (200) or conflict (409) — never an error, never a second row. Runs on SQLite and
PostgreSQL (SURVEY_TEST_DB=postgresql)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from survey_app.canvass import sync
from survey_app.models import Response, Visit

from .canvass_factories import (
    assignments_of,
    complete_answers,
    make_fieldwork,
    response_payload,
    visit_payload,
)

pytestmark = pytest.mark.db
THREADS = 6


def race(app, user, submit, payloads) -> list[int]:
    """Submit each payload from its own thread and session, all released at once."""
    barrier = threading.Barrier(len(payloads))
    statuses: list[int] = [0] * len(payloads)

    def work(i: int) -> None:
        with app.app_context(), Session(app.extensions["engine"]) as s:
            barrier.wait()
            statuses[i] = submit(session=s, user=user, data=payloads[i]).status

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def rows(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_same_response_raced_is_stored_once(app, session):
    _, (me, _) = make_fieldwork(session, app)
    payload = response_payload(assignments_of(session, me)[0].id)
    statuses = race(app, me, sync.submit_response, [payload] * THREADS)
    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    assert rows(session, Response) == 1 and rows(session, Visit) == 1


def test_different_content_raced_under_one_uuid_is_one_row_and_409s(app, session):
    _, (me, _) = make_fieldwork(session, app)
    first = response_payload(assignments_of(session, me)[0].id)
    variants = [
        first | {"answers": complete_answers(need=f"第 {i} 个问题")} for i in range(THREADS)
    ]
    statuses = race(app, me, sync.submit_response, variants)
    assert sorted(statuses) == [201] + [409] * (THREADS - 1)
    assert rows(session, Response) == 1


def test_visits_raced_on_one_household_take_distinct_attempts(app, session):
    wave, (me, _) = make_fieldwork(session, app, max_attempts=3)
    a = assignments_of(session, me)[0]
    payloads = [visit_payload(a.id, minute=i) for i in range(THREADS)]
    statuses = race(app, me, sync.submit_visit, payloads)
    assert sorted(statuses) == [201] * 3 + [422] * (THREADS - 3)
    attempts = sorted(session.exec(select(Visit.attempt)).all())
    assert attempts == [1, 2, 3]


def test_overlapping_batches_raced_store_each_response_once(app, session):
    """Whole outboxes sent twice at once, in different orders: no deadlock, no double."""
    _, (me, _) = make_fieldwork(session, app)
    payloads = [response_payload(a.id) for a in assignments_of(session, me)]
    barrier = threading.Barrier(4)
    results: list[list[int]] = []

    def work(order: list[dict]) -> None:
        with app.app_context(), Session(app.extensions["engine"]) as s:
            barrier.wait()
            out = sync.sync_batch(session=s, user=me, visits=[], responses=order)
            results.append([r["status"] for r in out["responses"]])

    orders = [payloads, payloads[::-1], payloads[1:] + payloads[:1], payloads]
    threads = [threading.Thread(target=work, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 4
    assert sum(s.count(201) for s in results) == len(payloads)
    assert all(set(s) <= {200, 201} for s in results)
    assert rows(session, Response) == len(payloads)
