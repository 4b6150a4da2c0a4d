"""Storing what tablets send — visits and responses — exactly once.

Every visit and every interview gets a UUID on the device when it starts; the UUID is the
idempotency key. Sending the same submission again (a retry after a lost reply, the whole
outbox replayed) returns 200 and what was stored; different content under a stored UUID
returns 409; neither ever adds a row. The unique constraints on ``visit.uuid`` and
``response.uuid`` are the last line of defence: when two requests race, the loser's insert
fails with IntegrityError, its work is rolled back and the UUID is looked up again, so it
too answers replay (200) or conflict (409). See docs/offline.md.

Each function returns a :class:`Result` (an HTTP status and a JSON body) rather than
raising, so the batch endpoint can report every item on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import instruments

from .. import instrument_registry
from ..models import (
    Assignment,
    FeedbackEvent,
    FeedbackItem,
    FeedbackStatus,
    Response,
    User,
    Visit,
    VisitOutcome,
    Wave,
    WaveStatus,
)
from ..models._types import utcnow
from . import aggregates, audit
from .payloads import (
    Invalid,
    ResponseSubmission,
    VisitSubmission,
    iso,
    parse_response,
    parse_visit,
    same_visit,
    utc,
)

BATCH_MAX = 500
# Quality flags. An interview faster than this per answered question was very likely not
# read out to a resident (our threshold: reading a short question and its options aloud
# takes longer than 2 seconds).
TOO_FAST_SECONDS_PER_ANSWER = 2.0
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Result:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _refused(status: int, uuid: str | None, message: str, **extra) -> Result:
    return Result(status, {"uuid": uuid, "error": message, **extra})


def _invalid(err: Invalid, uuid: Any) -> Result:
    uuid = uuid if isinstance(uuid, str) else None
    return _refused(422, uuid, err.message, item=err.field, errors=err.errors)


# --- visits ------------------------------------------------------------------------------


def _visit_body(visit: Visit, replayed: bool) -> dict[str, Any]:
    return {
        "uuid": visit.uuid,
        "id": visit.id,
        "assignment_id": visit.assignment_id,
        "attempt": visit.attempt,
        "outcome": visit.outcome,
        "replayed": replayed,
    }


def _lock(session: Session, assignment_id: int) -> Assignment | None:
    """The assignment, its row locked until the transaction ends (PostgreSQL; SQLite has
    taken its database-wide write lock already): submissions for one household queue up,
    so attempt numbers never collide and a replay sees the row its twin stored."""
    return session.exec(
        select(Assignment).where(Assignment.id == assignment_id).with_for_update()
    ).first()


def _check_assignment(
    session: Session, user: User, assignment: Assignment | None, uuid: str
) -> tuple[Assignment, Wave, list[Visit]] | Result:
    """The assignment, its wave and its visits so far, or the refusal to give."""
    if assignment is None or assignment.canvasser_id != user.id:
        return _refused(403, uuid, "该户不在分配给您的任务中。", item="assignment_id")
    wave = session.get(Wave, assignment.wave_id)
    if wave.status != WaveStatus.OPEN:
        return _refused(422, uuid, f"测评轮次“{wave.name}”已结束,不再接收数据。")
    visits = list(
        session.exec(
            select(Visit).where(Visit.assignment_id == assignment.id).order_by(Visit.attempt)
        ).all()
    )
    if any(v.outcome == VisitOutcome.COMPLETED for v in visits):
        return _refused(422, uuid, "该户本轮已完成访问。", item="assignment_id", reason="completed")
    if len(visits) >= wave.max_attempts:
        return _refused(
            422,
            uuid,
            f"该户已走访 {len(visits)} 次,达到本轮上限({wave.max_attempts} 次)。",
            item="assignment_id",
            reason="max_attempts",
        )
    return assignment, wave, visits


def _store_visit(session: Session, user: User, sub: VisitSubmission) -> Result:
    assignment = _lock(session, sub.assignment_id)
    stored = session.exec(select(Visit).where(Visit.uuid == sub.uuid)).first()
    if stored is not None:
        if stored.canvasser_id == user.id and same_visit(stored, sub):
            return Result(200, _visit_body(stored, replayed=True))
        return _refused(409, sub.uuid, "该 UUID 已用于另一条走访记录,内容不同。", reason="conflict")
    checked = _check_assignment(session, user, assignment, sub.uuid)
    if isinstance(checked, Result):
        return checked
    assignment, _wave, visits = checked
    visit = Visit(
        uuid=sub.uuid,
        assignment_id=assignment.id,
        attempt=len(visits) + 1,
        outcome=sub.outcome,
        visited_at=sub.visited_at,
        latitude=sub.latitude,
        longitude=sub.longitude,
        note=sub.note,
        canvasser_id=user.id,
    )
    session.add(visit)
    session.flush()
    audit.record(
        session=session,
        action="record",
        entity="visit",
        entity_id=visit.uuid,
        user_id=user.id,
        detail={"assignment_id": assignment.id, "attempt": visit.attempt, "outcome": sub.outcome},
    )
    return Result(201, _visit_body(visit, replayed=False))


# --- responses ---------------------------------------------------------------------------


def _response_body(response: Response, replayed: bool) -> dict[str, Any]:
    return {
        "uuid": response.uuid,
        "id": response.id,
        "assignment_id": response.assignment_id,
        "received_at": iso(response.received_at),
        "quality_flags": response.quality_flags or [],
        "review_state": response.review_state,
        "replayed": replayed,
    }


def quality_flags(sub: ResponseSubmission, received_at) -> list[str]:
    """Flags for review: ``too_fast`` (under TOO_FAST_SECONDS_PER_ANSWER per answered
    question), ``clock_skew`` (the device's clock disagrees with ours or with itself)."""
    flags = []
    answered = sum(1 for v in sub.answers.values() if v not in (None, "", []))
    seconds = (sub.submitted_at - sub.started_at).total_seconds()
    if 0 <= seconds < TOO_FAST_SECONDS_PER_ANSWER * answered:
        flags.append("too_fast")
    if seconds < 0 or sub.submitted_at > utc(received_at) + CLOCK_SKEW:
        flags.append("clock_skew")
    return flags


def _store_response(session: Session, user: User, sub: ResponseSubmission) -> Result:
    assignment = _lock(session, sub.assignment_id)
    stored = session.exec(select(Response).where(Response.uuid == sub.uuid)).first()
    if stored is not None:
        if stored.canvasser_id == user.id and stored.content_hash == sub.content_hash:
            return Result(200, _response_body(stored, replayed=True))
        return _refused(409, sub.uuid, "该 UUID 已用于另一份问卷,内容不同。", reason="conflict")
    if session.exec(select(Visit.id).where(Visit.uuid == sub.uuid)).first() is not None:
        return _refused(409, sub.uuid, "该 UUID 已用于一条走访记录。", reason="conflict")
    checked = _check_assignment(session, user, assignment, sub.uuid)
    if isinstance(checked, Result):
        return checked
    assignment, wave, visits = checked
    instrument = instrument_registry.get_instrument(sub.instrument_key, sub.instrument_version)
    if (
        instrument is None
        or sub.instrument_key != wave.instrument_key
        or sub.instrument_version != str(wave.instrument_version)
    ):
        return _refused(
            422,
            sub.uuid,
            f"本轮使用问卷 {wave.instrument_key} 第 {wave.instrument_version} 版,"
            f"提交的是 {sub.instrument_key} 第 {sub.instrument_version} 版。",
            item="instrument_version",
        )
    errors = instruments.validate_answers(instrument, sub.answers)
    if errors:
        first = errors[0]
        return _refused(
            422,
            sub.uuid,
            f"第“{first.item}”题:{first.message}",
            item=first.item,
            errors=[
                {"item": e.item, "code": e.code, "message": e.message, "message_en": e.message_en}
                for e in errors
            ],
        )
    received_at = utcnow()
    profile = instruments.profile_values(instrument, sub.answers)
    response = Response(
        uuid=sub.uuid,
        wave_id=wave.id,
        community_id=assignment.community_id,
        household_id=assignment.household_id,
        assignment_id=assignment.id,
        canvasser_id=user.id,
        instrument_key=sub.instrument_key,
        instrument_version=sub.instrument_version,
        answers=sub.answers,
        content_hash=sub.content_hash,
        started_at=sub.started_at,
        submitted_at=sub.submitted_at,
        received_at=received_at,
        timings=sub.timings,
        device=sub.device,
        quality_flags=quality_flags(sub, received_at),
        age_group=_profile_text(profile.get("age_group")),
        sex=_profile_text(profile.get("sex")),
        residence_years=_profile_text(profile.get("residence_years")),
    )
    # The completed visit shares the interview's UUID: replaying one replays both.
    session.add(
        Visit(
            uuid=sub.uuid,
            assignment_id=assignment.id,
            attempt=len(visits) + 1,
            outcome=VisitOutcome.COMPLETED,
            visited_at=sub.submitted_at,
            canvasser_id=user.id,
        )
    )
    session.add(response)
    session.flush()
    aggregates.add_response(
        session=session,
        response=response,
        values=instruments.indicator_values(instrument, sub.answers),
    )
    _add_feedback(session, user, response, instruments.feedback_items(instrument, sub.answers))
    audit.record(
        session=session,
        action="submit",
        entity="response",
        entity_id=response.uuid,
        user_id=user.id,
        detail={"assignment_id": assignment.id, "quality_flags": response.quality_flags},
    )
    return Result(201, _response_body(response, replayed=False))


def _profile_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _add_feedback(
    session: Session, user: User, response: Response, items: Iterable[tuple[str, str]]
) -> None:
    """问需/问计/问效 answers become feedback items at 发现 (found), the loop's first step."""
    for kind, text in items:
        item = FeedbackItem(
            community_id=response.community_id,
            wave_id=response.wave_id,
            response_id=response.id,
            kind=kind,
            text=text[:2000],
            status=FeedbackStatus.FOUND,
        )
        session.add(item)
        session.flush()
        session.add(FeedbackEvent(item_id=item.id, to_status=FeedbackStatus.FOUND, user_id=user.id))


# --- transactions ------------------------------------------------------------------------

Parser = Callable[[Any], Any]
Store = Callable[[Session, User, Any], Result]


def _one(session: Session, user: User, data: Any, parse: Parser, store: Store) -> Result:
    """Parse and store one submission in its own transaction."""
    try:
        sub = parse(data)
    except Invalid as err:
        return _invalid(err, data.get("uuid") if isinstance(data, dict) else None)
    for _ in range(3):
        try:
            _begin_write(session)
            result = store(session, user, sub)
            session.commit()
            return result
        except IntegrityError:
            # A concurrent request stored this UUID (look again: replay or conflict) or
            # took the same attempt number for this household (count again).
            session.rollback()
    return _refused(503, sub.uuid, "服务器繁忙,请稍后重试。")


def submit_visit(*, session: Session, user: User, data: Any) -> Result:
    """Store one visit outcome (不在家/拒访/空置/不符合条件), idempotent by its UUID."""
    return _one(session, user, data, parse_visit, _store_visit)


def submit_response(*, session: Session, user: User, data: Any) -> Result:
    """Store one completed interview, idempotent by its UUID (201, 200 replay, 409, 4xx)."""
    return _one(session, user, data, parse_response, _store_response)


def _begin_write(session: Session) -> None:
    """On SQLite, take the write lock first: a transaction that read before writing
    cannot upgrade once another writer committed (SQLITE_BUSY_SNAPSHOT)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _nested(session: Session, user: User, sub: Any, store: Store) -> Result:
    for _ in range(3):
        try:
            with session.begin_nested():
                return store(session, user, sub)
        except IntegrityError:
            continue
    return _refused(503, sub.uuid, "服务器繁忙,请稍后重试。")


def sync_batch(*, session: Session, user: User, visits: list, responses: list) -> dict:
    """Store a whole outbox in one transaction, each item in its own savepoint so one
    refusal does not undo the others. Returns per-item results in the order sent,
    ``{"visits": [...], "responses": [...]}``, each body with its ``status``.

    Items are stored household by household (a visit before a response, otherwise in the
    order sent), so row locks are always taken in the same order and two batches for
    overlapping households cannot deadlock."""
    if len(visits) + len(responses) > BATCH_MAX:
        raise Invalid("body", f"一次最多同步 {BATCH_MAX} 条,请分批上传。")
    out: dict[str, list] = {"visits": [None] * len(visits), "responses": [None] * len(responses)}
    tasks = []
    for order, (key, items, parse, store) in enumerate(
        (
            ("visits", visits, parse_visit, _store_visit),
            ("responses", responses, parse_response, _store_response),
        )
    ):
        for index, data in enumerate(items):
            try:
                sub = parse(data)
            except Invalid as err:
                result = _invalid(err, data.get("uuid") if isinstance(data, dict) else None)
                out[key][index] = {"status": result.status, **result.body}
                continue
            tasks.append((sub.assignment_id, order, index, key, sub, store))
    _begin_write(session)
    try:
        for _aid, _order, index, key, sub, store in sorted(tasks, key=lambda t: t[:3]):
            result = _nested(session, user, sub, store)
            out[key][index] = {"status": result.status, **result.body}
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return out
