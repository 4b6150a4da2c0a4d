"""Storing what tablets send — visits and responses — exactly once.

Every visit and every interview gets a UUID on the device when it starts; the UUID is the
idempotency key. Sending the same submission again (a retry after a lost reply, the whole
outbox replayed) returns 200 and what was stored; different content under a stored UUID
returns 409; neither ever adds a row. See docs/offline.md.

How a batch (the outbox; a single submission is a batch of one) is stored:

1. Outside any transaction: parse every item and check every response's answers against
   its questionnaire, computing its indicators, profile and feedback in one pass of the
   skip logic (``instruments.code_response``; pure Python) —
   except replays of a stored response, which are answered from the stored row.
2. In one transaction: lock the households' assignment rows in id order (PostgreSQL
   ``FOR UPDATE``; SQLite takes its database-wide write lock with ``BEGIN IMMEDIATE``,
   after waiting its turn on a file lock — see ``_writers_queue``),
   read what is stored for them and for the batch's UUIDs, decide every item in memory —
   household by household, visits before responses — and write the accepted rows with one
   multi-row INSERT per table and one upsert of the indicator totals.
3. The unique constraints on ``visit.uuid`` and ``response.uuid`` are the last line of
   defence: if a concurrent request stored one of the UUIDs first, the INSERT fails with
   IntegrityError, the transaction is rolled back and step 2 runs again, so that item
   too now answers replay (200) or conflict (409).

Functions return :class:`Result`\\s (an HTTP status and a JSON body) rather than raising,
so the batch endpoint reports every item on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy handler alone
    fcntl = None

from flask import current_app
from sqlalchemy import (
    Integer,
    String,
    Text,
    TypeDecorator,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import instruments

from .. import aggregates, bulk, instrument_registry, scope
from ..fieldwork import quality, review
from ..models import (
    Assignment,
    AuditLog,
    Building,
    Community,
    FeedbackEvent,
    FeedbackItem,
    FeedbackStatus,
    HeldSubmission,
    Household,
    Response,
    ResponseRevision,
    ReviewEvent,
    ReviewState,
    User,
    Visit,
    VisitOutcome,
    Wave,
    WaveQuality,
    WaveStatus,
)
from ..models._types import utcnow
from .payloads import (
    UUID_RE,
    Invalid,
    ResponseSubmission,
    VisitSubmission,
    as_held,
    iso,
    parse_response,
    parse_visit,
    same_visit,
    utc,
)

BATCH_MAX = 500
RETRIES = 3
# Quality flags. An interview faster than this per answered question was very likely not
# read out to a resident (reading a short question and its options aloud takes longer).
TOO_FAST_SECONDS_PER_ANSWER = 2.0
CLOCK_SKEW = timedelta(minutes=10)
_PENDING = ReviewState.PENDING.value


@dataclass(frozen=True)
class Result:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _refused(status: int, uuid: str | None, message: str, **extra) -> Result:
    return Result(status, {"uuid": uuid, "error": message, **extra})


def _invalid(err: Invalid, data: Any) -> Result:
    uuid = data.get("uuid") if isinstance(data, dict) else None
    return _refused(422, uuid if isinstance(uuid, str) else None, err.message, item=err.field,
                    errors=err.errors)  # fmt: skip


def quality_flags(sub: ResponseSubmission, received_at: datetime) -> list[str]:
    """Flags for review: ``too_fast`` (under TOO_FAST_SECONDS_PER_ANSWER per answered
    question), ``clock_skew`` (the device's clock disagrees with ours or with itself)."""
    flags = []
    # Answered: not None, "" or [] (three counts in C instead of a loop over ~50 answers).
    values = list(sub.answers.values())
    answered = len(values) - values.count(None) - values.count("") - values.count([])
    seconds = (sub.submitted_at - sub.started_at).total_seconds()
    if 0 <= seconds < TOO_FAST_SECONDS_PER_ANSWER * answered:
        flags.append("too_fast")
    if seconds < 0 or sub.submitted_at > utc(received_at) + CLOCK_SKEW:
        flags.append("clock_skew")
    return flags


# --- step 1: outside the transaction -----------------------------------------------------


@dataclass
class _Checked:
    """A response whose answers were checked (``refusal`` set when they fail)."""

    sub: ResponseSubmission
    content_hash: str
    checked: bool = False  # False: skipped as a replay of a stored row
    refusal: Result | None = None
    values: dict[str, int | None] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    feedback: list[tuple[str, str]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # from the answers (fieldwork/quality.py)


class _Lookups:
    """What every response of a batch looks up alike, looked up once per batch: its
    questionnaire (by key and version) and the city's time zone."""

    def __init__(self):
        self.instruments: dict[tuple[str, str], Any] = {}
        self._zone: ZoneInfo | None = None

    def instrument(self, key: str, version: str):
        try:
            return self.instruments[(key, version)]
        except KeyError:
            found = self.instruments[(key, version)] = instrument_registry.get_instrument(
                key, version
            )
            return found

    def zone(self) -> ZoneInfo:
        if self._zone is None:
            self._zone = _zone()
        return self._zone


def _check_answers(sub: ResponseSubmission, lookups: _Lookups | None = None) -> _Checked:
    checked = _Checked(sub, sub.content_hash, checked=True)
    lookups = lookups or _Lookups()
    instrument = lookups.instrument(sub.instrument_key, sub.instrument_version)
    if instrument is None:
        checked.refusal = _refused(
            422,
            sub.uuid,
            f"找不到问卷 {sub.instrument_key} 第 {sub.instrument_version} 版。",
            item="instrument_version",
        )
        return checked
    # One pass of the skip logic checks the answers and codes them (code_response);
    # today() is the interview's day in the city, not the day the server re-checks it.
    today = utc(sub.started_at).astimezone(lookups.zone()).date().isoformat()
    coded = instruments.code_response(instrument, sub.answers, today=today)
    errors = coded.errors
    if errors:
        first = errors[0]
        checked.refusal = _refused(
            422,
            sub.uuid,
            f"第“{first.item}”题:{first.message}",
            item=first.item,
            errors=[
                {"item": e.item, "code": e.code, "message": e.message, "message_en": e.message_en}
                for e in errors
            ],
        )
        return checked
    if instrument.indicators and not any(
        sub.answers.get(ind.item) not in (None, "", []) for ind in instrument.indicators
    ):
        # Screened out or declined before any rated question: a visit, not an interview.
        checked.refusal = _refused(
            422,
            sub.uuid,
            "问卷没有回答任何指标题(受访者不符合条件或拒访):请记录为走访结果“拒访”或“不符合条件”。",
            item=instrument.indicators[0].item,
            reason="not_interviewed",
        )
        return checked
    checked.values = coded.indicators
    checked.profile = coded.profile
    checked.feedback = list(coded.feedback)
    checked.flags = quality.arrival_flags(instrument, sub.answers)
    return checked


# --- step 2: deciding in one transaction -------------------------------------------------


@cache
def _statements(dialect: str) -> SimpleNamespace:
    """The batch's reads, built once per dialect: building a statement costs more than
    running it. On PostgreSQL the id and UUID lists are one array parameter each
    (``= ANY(…)``): the statement's text is the same for every batch, short enough for
    psycopg's query cache and prepared once; an ``IN`` list of 500 placeholders would be
    a new statement, tokenised in Python and planned afresh, every time. On SQLite each
    list is one JSON parameter read by ``json_each`` (the same index look-ups): SQLAlchemy
    expands an ``IN`` list into one placeholder per value on every execution (≈ 0.7 ms
    for 500 values, three or four times a batch)."""
    if dialect == "postgresql":
        ids = bindparam("ids", type_=ARRAY(Integer))
        uuids = bindparam("uuids", type_=ARRAY(String))

        def member(column, values):
            return column == any_(values)
    elif dialect == "sqlite" and _sqlite_json_each():
        ids, uuids = bindparam("ids", type_=_JSONList()), bindparam("uuids", type_=_JSONList())

        def member(column, values):
            return column.in_(select(literal_column("value")).select_from(func.json_each(values)))
    else:
        ids, uuids = bindparam("ids", expanding=True), bindparam("uuids", expanding=True)

        def member(column, values):
            return column.in_(values)

    households = (
        select(
            Assignment.id,
            Assignment.canvasser_id,
            Assignment.community_id,
            Assignment.household_id,
            Wave.id,
            Wave.name,
            Wave.status,
            Wave.max_attempts,
            Wave.instrument_key,
            Wave.instrument_version,
            Household.building_id,
            Building.community_id,
            Community.street_id,
            Wave.starts_on,
            Wave.ends_on,
            Assignment.released,
            WaveQuality.counts,  # which interviews the wave's totals count (fieldwork/review.py)
        )  # fmt: skip
        .join(Wave, Assignment.wave_id == Wave.id)
        .outerjoin(WaveQuality, WaveQuality.wave_id == Wave.id)
        .join(Household, Assignment.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .join(Community, Building.community_id == Community.id)
        .where(member(Assignment.id, ids))
        .order_by(Assignment.id)
        .with_for_update(of=Assignment)
    )
    visits = select(
        Visit.id, Visit.uuid, Visit.assignment_id, Visit.attempt, Visit.outcome,
        Visit.visited_at, Visit.latitude, Visit.longitude, Visit.note, Visit.canvasser_id,
        Visit.appointment_at, Visit.refusal,
    ).where(or_(member(Visit.assignment_id, ids), member(Visit.uuid, uuids)))  # fmt: skip
    responses = select(
        Response.id, Response.uuid, Response.assignment_id, Response.received_at,
        Response.quality_flags, Response.review_state, Response.canvasser_id,
        Response.content_hash,
    ).where(member(Response.uuid, uuids))  # fmt: skip
    held = select(HeldSubmission.uuid).where(member(HeldSubmission.uuid, uuids))
    stored = select(Response.uuid).where(member(Response.uuid, uuids))
    return SimpleNamespace(households=households, visits=visits, responses=responses,
                           held=held, stored=stored)  # fmt: skip


class _JSONList(TypeDecorator):
    """A list of ids or UUIDs bound as one JSON array (SQLite's ``json_each`` reads it)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return json.dumps(list(value))


@cache
def _sqlite_json_each() -> bool:
    """Whether this SQLite has ``json_each`` (built in since 3.38, an option before)."""
    import sqlite3

    try:
        with closing(sqlite3.connect(":memory:")) as connection:
            connection.execute("SELECT value FROM json_each('[1]')").fetchall()
        return True
    except sqlite3.Error:
        return False


@dataclass
class _Household:
    """One assignment during a batch: who has it, its wave, its visits so far."""

    id: int
    canvasser_id: int | None
    community_id: int
    household_id: int
    wave_id: int
    wave_name: str
    wave_status: str
    max_attempts: int
    instrument: tuple[str, str]
    psu: tuple[int, int, int]  # building, community, street: where its indicator sums go
    attempts: int = 0
    completed: bool = False
    dates: tuple[date | None, date | None] = (None, None)  # the wave's first and last day
    released: bool = True
    counts: str | None = None  # the wave's inclusion rule; None: the default (review.Counts)


Outcome = Result | Callable[[], Result]  # a thunk when the row's id is known only after INSERT


class _Batch:
    """The submissions of one transaction, decided in memory and written in bulk."""

    def __init__(self, session: Session, user: User):
        self.session = session
        self.user_id = user.id  # once: ``current_user`` is a proxy, each look-up costs
        self.now = utcnow()
        self.now_text = iso(self.now)  # every new row's received_at, as its answer gives it
        self.households: dict[int, _Household] = {}
        self.stored_visits: dict[str, Any] = {}
        self.stored_responses: dict[str, Any] = {}
        self.new_visits: dict[str, tuple[VisitSubmission | None, dict]] = {}
        self.new_responses: dict[str, tuple[_Checked, dict]] = {}
        # Held for an analyst (fieldwork/held): stale or out-of-dates submissions.
        self.raw: dict[str, Any] = {}  # uuid → the payload as sent
        self.accepting: frozenset[str] = frozenset()  # held uuids an analyst accepted
        self.user = user
        self.user_communities: frozenset[int] | None = None
        self.zone: ZoneInfo | None = None
        self.stored_held: set[str] | None = None  # read only when something is held
        self.new_held: dict[str, dict] = {}
        self.sure = False  # read the stored responses even when no visit has their UUIDs

    def load(
        self,
        assignment_ids: list[int],
        visit_uuids: list[str],
        response_uuids: list[str],
        *,
        sure: bool = False,
    ):
        """Three reads of plain rows (no ORM objects: this runs under the write lock).

        Every stored response has a visit under its UUID (its 完成 visit, stored with it),
        so when no visit has any of the batch's response UUIDs, no response has them
        either and the third read is skipped (a single submission: one round trip fewer).
        Should a response ever stand without its visit, its INSERT fails on the unique
        UUID, and the retry (``sure``) reads the responses whatever the visits say."""
        connection = self.session.connection()
        run, statements = connection.execute, _statements(connection.dialect.name)
        # Locks in id order (PostgreSQL): two batches for overlapping households queue up
        # instead of deadlocking, and a replay waits for its twin and then sees its row.
        for row in run(statements.households, {"ids": assignment_ids}):
            self.households[row[0]] = _Household(
                *row[:8], instrument=(row[8], str(row[9])), psu=tuple(row[10:13]),
                dates=(row[13], row[14]), released=row[15], counts=row[16],
            )  # fmt: skip
        uuids = visit_uuids + response_uuids
        for visit in run(statements.visits, {"ids": assignment_ids, "uuids": uuids}):
            household = self.households.get(visit.assignment_id)
            if household is not None:
                household.attempts += 1
                household.completed |= visit.outcome == VisitOutcome.COMPLETED
            self.stored_visits[visit.uuid] = visit
        if response_uuids and (sure or any(u in self.stored_visits for u in response_uuids)):
            rows = run(statements.responses, {"uuids": response_uuids})
            self.stored_responses = {r.uuid: r for r in rows}

    def _household(
        self, assignment_id: int, uuid: str, when: datetime | None = None
    ) -> _Household | Result:
        household = self.households.get(assignment_id)
        if household is not None and uuid not in self.accepting:
            stale = self._stale(household, uuid, when)
            if stale is not None:
                return stale
        if household is None or (
            household.canvasser_id != self.user_id and uuid not in self.accepting
        ):
            return _refused(403, uuid, "该户不在分配给您的任务中。", item="assignment_id")
        if household.wave_status != WaveStatus.OPEN:
            return _refused(422, uuid, f"测评轮次“{household.wave_name}”已结束,不再接收数据。",
                            reason="wave_closed")  # fmt: skip
        if household.completed:
            return _refused(
                422, uuid, "该户本轮已完成访问。", item="assignment_id", reason="completed"
            )
        if household.attempts >= household.max_attempts:
            return _refused(
                422,
                uuid,
                f"该户已走访 {household.attempts} 次,达到本轮上限({household.max_attempts} 次)。",
                item="assignment_id",
                reason="max_attempts",
            )
        return household

    def _stale(self, household: _Household, uuid: str, when: datetime | None) -> Result | None:
        """A submission for a household taken from this canvasser (reassigned or
        unassigned) or dated outside the wave's days: refused with the reason and held,
        whole, for an analyst to accept or dismiss (nothing sent is silently lost)."""
        if household.canvasser_id != self.user_id:
            if household.community_id not in self._communities() or not household.released:
                return None  # never this canvasser's: a plain 403
            reason = "reassigned" if household.canvasser_id is not None else "unassigned"
            message = (
                "该户已改派给其他调查员" if reason == "reassigned" else "该户已从您的任务中收回"
            )
        else:
            first, last = household.dates
            if first is None and last is None:
                return None
            day = self.local_day(when)
            if day is None or ((first is None or day >= first) and (last is None or day <= last)):
                return None
            reason = "outside_dates"
            message = (
                f"记录日期 {day.isoformat()} 不在本轮调查日期({first or '—'} 至 {last or '—'})内"
            )
        if self.stored_held is None:
            self.stored_held = _held_uuids(self.session, list(self.raw))
        if uuid not in self.stored_held and uuid in self.raw:
            self.new_held[uuid] = {
                "uuid": uuid,
                "kind": "response" if "answers" in self.raw[uuid] else "visit",
                "assignment_id": household.id,
                "wave_id": household.wave_id,
                "user_id": self.user_id,
                "reason": reason,
                "payload": as_held(self.raw[uuid]),  # positions rounded (issue 13.13)
                "received_at": self.now,
            }
        return _refused(
            409, uuid, f"{message}:这条记录已交分析员处理,不会丢失,请保留在待上传列表中。",
            item="assignment_id", reason=reason, held=True,
        )  # fmt: skip

    def local_day(self, when: datetime | None) -> date | None:
        """The day in the city's time zone (TIMEZONE, default Asia/Shanghai)."""
        if when is None:
            return None
        if self.zone is None:
            self.zone = _zone()
        return utc(when).astimezone(self.zone).date()

    def _communities(self) -> frozenset[int]:
        """The canvasser's communities (read once, only when a household is not theirs)."""
        if self.user_communities is None:
            ids = scope.community_ids(self.user, session=self.session)
            self.user_communities = frozenset() if ids is None else ids
        return self.user_communities

    def _add_visit(self, household: _Household, sub: VisitSubmission | None, **row) -> dict:
        household.attempts += 1
        row.update(
            assignment_id=household.id,
            attempt=household.attempts,
            canvasser_id=self.user_id,
            latitude=row.get("latitude"),
            longitude=row.get("longitude"),
            note=row.get("note"),
            appointment_at=row.get("appointment_at"),
            refusal=row.get("refusal"),
        )
        self.new_visits[row["uuid"]] = (sub, row)
        return row

    def visit(self, sub: VisitSubmission) -> Outcome:
        stored = self.stored_visits.get(sub.uuid)
        if stored is not None:
            if stored.canvasser_id == self.user_id and same_visit(stored, sub):
                return Result(200, _visit_body(_fields(stored, _VISIT_FIELDS), replayed=True))
            return _refused(
                409, sub.uuid, "该 UUID 已用于另一条走访记录,内容不同。", reason="conflict"
            )
        if sub.uuid in self.new_visits:
            twin, row = self.new_visits[sub.uuid]
            if twin == sub:
                return lambda: Result(200, _visit_body(row, replayed=True))
            return _refused(
                409, sub.uuid, "该 UUID 已用于另一条走访记录,内容不同。", reason="conflict"
            )
        household = self._household(sub.assignment_id, sub.uuid, sub.visited_at)
        if isinstance(household, Result):
            return household
        row = self._add_visit(
            household,
            sub,
            uuid=sub.uuid,
            outcome=sub.outcome,
            visited_at=sub.visited_at,
            latitude=sub.latitude,
            longitude=sub.longitude,
            note=sub.note,
            appointment_at=sub.appointment_at,
            refusal=sub.refusal,
        )
        return lambda: Result(201, _visit_body(row, replayed=False))

    def response(self, checked: _Checked) -> Outcome:
        sub = checked.sub
        stored = self.stored_responses.get(sub.uuid)
        twin = self.new_responses.get(sub.uuid)
        if stored is not None or twin is not None:
            owner, stored_hash = (
                (stored.canvasser_id, stored.content_hash)
                if stored is not None
                else (self.user_id, twin[0].content_hash)
            )
            if owner != self.user_id or stored_hash != checked.content_hash:
                return _refused(
                    409, sub.uuid, "该 UUID 已用于另一份问卷,内容不同。", reason="conflict"
                )
            if stored is not None:
                return Result(200, _response_body(_fields(stored, _RESPONSE_FIELDS), replayed=True))
            return lambda: Result(200, _response_body(twin[1], replayed=True))
        if sub.uuid in self.stored_visits or sub.uuid in self.new_visits:
            return _refused(409, sub.uuid, "该 UUID 已用于一条走访记录。", reason="conflict")
        if not checked.checked:  # taken for a replay, yet not stored: check it after all
            checked = _check_answers(sub)
        household = self._household(sub.assignment_id, sub.uuid, sub.submitted_at)
        if isinstance(household, Result):
            return household
        if not _version_allowed(household, sub):
            key, version = household.instrument
            return _refused(
                422,
                sub.uuid,
                f"本轮使用问卷 {key} 第 {version} 版,"
                f"提交的是 {sub.instrument_key} 第 {sub.instrument_version} 版。",
                item="instrument_version",
            )
        if checked.refusal is not None:
            return checked.refusal
        # The completed visit shares the interview's UUID: replaying one replays both.
        self._add_visit(
            household, None, uuid=sub.uuid, outcome=VisitOutcome.COMPLETED,
            visited_at=sub.submitted_at, latitude=sub.latitude, longitude=sub.longitude,
        )  # fmt: skip
        household.completed = True
        row = {
            "uuid": sub.uuid,
            "wave_id": household.wave_id,
            "community_id": household.community_id,
            "household_id": household.household_id,
            "assignment_id": household.id,
            "canvasser_id": self.user_id,
            "instrument_key": sub.instrument_key,
            "instrument_version": sub.instrument_version,
            "answers": sub.answers,
            "content_hash": checked.content_hash,
            "started_at": sub.started_at,
            "submitted_at": sub.submitted_at,
            "received_at": self.now,
            "timings": sub.timings,
            "device": sub.device,
            "quality_flags": quality_flags(sub, self.now) + checked.flags,
            "review_state": _PENDING,
        }
        profile = checked.profile
        for key in ("age_group", "sex", "residence_years"):
            value = profile.get(key)
            row[key] = None if value is None else str(value)
        self.new_responses[sub.uuid] = (checked, row)
        return lambda: Result(201, _response_body(row, replayed=False, received=self.now_text))

    # --- writing ---------------------------------------------------------------------

    def _send(self, model, rows: list[dict], *, key: tuple[str, ...] = ()) -> Callable[[], None]:
        """One bulk INSERT (``survey_app.bulk``); with a ``key``, the function returned
        gives each row dict its new ``id`` (rows equal in their key columns are equal in
        all that matters, so either id fits)."""
        fetch = bulk.send(self.session.connection(), model.__table__, rows, returning=key)

        def ids() -> None:
            result = fetch()
            if not key:
                return
            ids: dict[tuple, list[int]] = {}
            for new_id, *values in result:
                ids.setdefault(tuple(values), []).append(new_id)
            for row in rows:
                row["id"] = ids[tuple(row[name] for name in key)].pop()

        return ids

    def _insert(self, model, rows: list[dict], *, key: tuple[str, ...] = ()) -> None:
        self._send(model, rows, key=key)()

    def write(self) -> None:
        # A few rows (a single submission): every INSERT in one PostgreSQL pipeline,
        # waiting twice (for the new ids) instead of once per table. Many: COPY.
        small = len(self.new_visits) < bulk.COPY_FROM
        with bulk.pipeline(self.session.connection(), enabled=small):
            self._write()

    def _write(self) -> None:
        visits = [row for _, row in self.new_visits.values()]
        responses = [row for _, row in self.new_responses.values()]
        waits = [self._send(Visit, visits, key=("uuid",)),
                 self._send(Response, responses, key=("uuid",))]  # fmt: skip
        # What needs no new id goes out before waiting for them.
        counted = _waves_counting_pending(self.households.values())
        aggregates.add_responses(
            session=self.session,
            items=[
                (row["wave_id"], row["household_id"], checked.values)
                for checked, row in self.new_responses.values()
                if row["wave_id"] in counted
            ],
            psu={h.household_id: h.psu for h in self.households.values()},
        )
        self._send(AuditLog, self._audit_rows())
        self._send(HeldSubmission, list(self.new_held.values()))
        for wait in waits:
            wait()
        feedback = [
            {
                "community_id": row["community_id"],
                "wave_id": row["wave_id"],
                "response_id": row["id"],
                "kind": kind,
                "category": None,
                "text": text[:2000],
                "status": FeedbackStatus.FOUND.value,
                "assignee": None,
                "created_at": self.now,
                "updated_at": self.now,
            }
            for checked, row in self.new_responses.values()
            for kind, text in checked.feedback
        ]
        self._insert(FeedbackItem, feedback, key=("response_id", "kind", "text"))
        # 问需/问计/问效 answers enter the closed loop at 发现 (found), by this canvasser.
        events = [
            {"item_id": item["id"], "from_status": None, "to_status": FeedbackStatus.FOUND.value,
             "user_id": self.user_id, "note": None, "at": self.now}
            for item in feedback
        ]  # fmt: skip
        self._insert(FeedbackEvent, events)

    def _audit_rows(self) -> list[dict]:
        rows = []
        for sub, row in self.new_visits.values():
            if sub is None:  # the completed visit of a response: audited with it
                continue
            detail = {"assignment_id": row["assignment_id"], "attempt": row["attempt"],
                      "outcome": row["outcome"]}  # fmt: skip
            rows.append(("record", "visit", row["uuid"], detail))
        for _, row in self.new_responses.values():
            detail = {"assignment_id": row["assignment_id"], "quality_flags": row["quality_flags"]}
            rows.append(("submit", "response", row["uuid"], detail))
        return [
            {"at": self.now, "user_id": self.user_id, "action": action, "entity": entity,
             "entity_id": entity_id, "detail": detail}
            for action, entity, entity_id, detail in rows
        ]  # fmt: skip


def _version_allowed(household: _Household, sub: ResponseSubmission) -> bool:
    """A wave allows every published version of its questionnaire, not only its current
    one: an interview started before a new version was published finishes on its own
    version, and is checked and coded against it (``_check_answers``)."""
    key, version = household.instrument
    if sub.instrument_key != key:
        return False
    return sub.instrument_version == version or (
        instrument_registry.get_instrument(key, sub.instrument_version) is not None
    )


_VISIT_FIELDS = ("uuid", "id", "assignment_id", "attempt", "outcome")
_RESPONSE_FIELDS = ("uuid", "id", "assignment_id", "received_at", "quality_flags", "review_state")


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def _visit_body(row: dict, replayed: bool) -> dict[str, Any]:
    return {
        "uuid": row["uuid"],
        "id": row["id"],
        "assignment_id": row["assignment_id"],
        "attempt": row["attempt"],
        "outcome": row["outcome"],
        "replayed": replayed,
    }


def _response_body(row: dict, replayed: bool, received: str | None = None) -> dict[str, Any]:
    return {
        "uuid": row["uuid"],
        "id": row["id"],
        "assignment_id": row["assignment_id"],
        "received_at": received or iso(row["received_at"]),
        "quality_flags": row["quality_flags"] or [],
        "review_state": row["review_state"],
        "replayed": replayed,
    }


def _begin_write(session: Session) -> None:
    """On SQLite, take the write lock first: a transaction that read before writing
    cannot upgrade once another writer committed (SQLITE_BUSY_SNAPSHOT)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    connection = session.connection()
    if connection.connection.dbapi_connection.in_transaction:
        session.commit()  # only reads so far (e.g. loading the signed-in user): end them
        connection = session.connection()
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _writers_queue(session: Session) -> Iterator[None]:
    """On SQLite, writers take turns on an OS file lock (``<database>-writers``) before
    ``BEGIN IMMEDIATE``. SQLite's own busy handler polls: a writer that finds the database
    locked sleeps 1, 2, 5 … up to 100 ms before it looks again, so with a few gunicorn
    workers a submission could wait 100 ms behind a 2 ms one. ``flock`` wakes the next
    writer as soon as the lock is free. (A worker that dies releases it with its files.)"""
    path = _queue_path(session.get_bind().url)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@cache
def _queue_path(url) -> str | None:
    if fcntl is None or url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return f"{database}-writers"


def _stored_response_uuids(session: Session, uuids: list[str]) -> set[str]:
    if not uuids:
        return set()
    connection = session.connection()
    statement = _statements(connection.dialect.name).stored
    found = set(connection.execute(statement, {"uuids": uuids}).scalars())
    session.commit()  # end the read: on SQLite the write transaction must start afresh
    return found


def _store(
    session: Session,
    user: User,
    visits: list[Any],
    responses: list[Any],
    accepting: frozenset[str] = frozenset(),
) -> dict[str, list[Result]]:
    """Steps 1–3 of the module docstring for raw visit and response payloads."""
    out: dict[str, list[Result | None]] = {
        "visits": [None] * len(visits),
        "responses": [None] * len(responses),
    }
    tasks: list[tuple[int, int, int, Any]] = []  # (assignment, 0 visit / 1 response, index, item)
    for index, data in enumerate(visits):
        try:
            sub = parse_visit(data)
        except Invalid as err:
            out["visits"][index] = _invalid(err, data)
            continue
        tasks.append((sub.assignment_id, 0, index, sub))
    parsed = []
    for index, data in enumerate(responses):
        try:
            parsed.append((index, parse_response(data)))
        except Invalid as err:
            out["responses"][index] = _invalid(err, data)
    # A replay is answered from its stored row: its answers need no second check. (Rows
    # are never deleted, so "stored" cannot turn false before the transaction below.)
    # (One response alone: checking it costs less than the extra query.)
    stored = (
        _stored_response_uuids(session, [sub.uuid for _, sub in parsed])
        if len(parsed) > 1
        else set()
    )
    lookups = _Lookups()
    for index, sub in parsed:
        checked = (
            _Checked(sub, sub.content_hash) if sub.uuid in stored else _check_answers(sub, lookups)
        )
        tasks.append((sub.assignment_id, 1, index, checked))
    tasks.sort(key=lambda t: t[:3])
    if not tasks:
        return out
    raw = {
        d["uuid"]: d
        for d in [*visits, *responses]
        if isinstance(d, dict) and isinstance(d.get("uuid"), str)
    }
    for attempt in range(RETRIES):
        batch, decided = _Batch(session, user), []
        batch.raw, batch.accepting, batch.sure = raw, accepting, attempt > 0
        with _writers_queue(session):
            try:
                _store_once(session, batch, tasks, decided)
            except IntegrityError:
                session.rollback()  # a concurrent request stored one of these UUIDs: look again
                continue
            except BaseException:
                session.rollback()
                raise
        for kind, index, outcome in decided:
            out["visits" if kind == 0 else "responses"][index] = (
                outcome() if callable(outcome) else outcome
            )
        return out
    for _, kind, index, item in tasks:
        uuid = item.uuid if kind == 0 else item.sub.uuid
        out["visits" if kind == 0 else "responses"][index] = _refused(
            503, uuid, "服务器繁忙,请稍后重试。"
        )
    return out


def _held_uuids(session: Session, uuids: list[str]) -> set[str]:
    if not uuids:
        return set()
    connection = session.connection()
    statement = _statements(connection.dialect.name).held
    return set(connection.execute(statement, {"uuids": uuids}).scalars())


def _zone() -> ZoneInfo:
    """The city's time zone (TIMEZONE, default Asia/Shanghai)."""
    try:
        return ZoneInfo(current_app.config["SETTINGS"].timezone)
    except (RuntimeError, KeyError, AttributeError):
        return ZoneInfo("Asia/Shanghai")


def accept_held(*, session: Session, user: User, uuid: str, payload: dict, kind: str) -> Result:
    """Store a held submission as its canvasser (``user``) sent it, past the checks
    that held it (ownership and dates); every other check still applies."""
    visits, responses = ([payload], []) if kind == "visit" else ([], [payload])
    results = _store(session, user, visits, responses, accepting=frozenset({uuid}))
    return (results["visits"] or results["responses"])[0]


def _store_once(session: Session, batch: _Batch, tasks: list, decided: list) -> None:
    """Step 2: one transaction that decides every task (appended to ``decided``) and
    writes; the caller rolls back on any error."""
    _begin_write(session)
    batch.load(
        sorted({t[0] for t in tasks}),
        [t[3].uuid for t in tasks if t[1] == 0],
        [t[3].sub.uuid for t in tasks if t[1] == 1],
        sure=batch.sure,
    )
    decided.extend(
        (kind, index, batch.visit(item) if kind == 0 else batch.response(item))
        for _, kind, index, item in tasks
    )
    batch.write()
    session.commit()


def submit_visit(*, session: Session, user: User, data: Any) -> Result:
    """Store one visit outcome (不在家/拒访/空置/不符合条件), idempotent by its UUID."""
    return _store(session, user, [data], [])["visits"][0]


def submit_response(*, session: Session, user: User, data: Any) -> Result:
    """Store one completed interview, idempotent by its UUID (201, 200 replay, 409, 4xx)."""
    if is_revision(data):
        return submit_revision(session=session, user=user, data=data)
    return _store(session, user, [], [data])["responses"][0]


def sync_batch(*, session: Session, user: User, visits: list, responses: list) -> dict:
    """Store a whole outbox in one transaction. Returns per-item results in the order
    sent, ``{"visits": [...], "responses": [...]}``, each body with its ``status``; one
    item's refusal never holds back the others."""
    if len(visits) + len(responses) > BATCH_MAX:
        raise Invalid("body", f"一次最多同步 {BATCH_MAX} 条,请分批上传。")
    results = _store_with_revisions(session, user, visits, responses)
    return {key: [{"status": r.status, **r.body} for r in items] for key, items in results.items()}


# --- revisions: a rejected interview, corrected and resubmitted (fieldwork/review.py) ----
#
# A resubmission is a response payload with ``revises`` (the interview's UUID) and an
# optional ``note`` (what was corrected, or why it could not be); its own ``uuid`` is the
# revision's idempotency key. Replaying it answers 200; a new revision of an interview
# that is not (or no longer) rejected answers 409, so a household never gets a second
# interview; the stored interview and every earlier revision stay as they were.

REVISION_NOTE_MAX = 1000


def is_revision(data: Any) -> bool:
    return isinstance(data, dict) and data.get("revises") is not None


def _parse_revision(data: dict) -> tuple[str, str | None, ResponseSubmission]:
    revises = data.get("revises")
    if not isinstance(revises, str) or not UUID_RE.match(revises.strip().lower()):
        raise Invalid("revises", "revises 应为被退回问卷的 UUID")
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        raise Invalid("note", "note 应为文字")
    note = (note or "").strip()[:REVISION_NOTE_MAX] or None
    rest = {k: v for k, v in data.items() if k not in ("revises", "note")}
    return revises.strip().lower(), note, parse_response(rest)


def _revision_hash(sub: ResponseSubmission, revises: str, note: str | None) -> str:
    return hashlib.sha256(f"{sub.content_hash}|{revises}|{note or ''}".encode()).hexdigest()


def _revision_body(revision: ResponseRevision, response: Response, replayed: bool) -> dict:
    return {
        "uuid": revision.uuid,
        "id": response.id,
        "revises": response.uuid,
        "assignment_id": response.assignment_id,
        "revision": revision.number,
        "received_at": iso(revision.received_at),
        "review_state": response.review_state,
        "quality_flags": response.quality_flags or [],
        "replayed": replayed,
    }


def submit_revision(*, session: Session, user: User, data: Any) -> Result:
    """Store a corrected revision of a rejected interview (201), answer a replay (200),
    refuse a conflict (409) or a bad one (4xx). One transaction of its own."""
    try:
        revises, note, sub = _parse_revision(data)
    except Invalid as err:
        return _invalid(err, data)
    checked = _check_answers(sub)
    content_hash = _revision_hash(sub, revises, note)
    user_id = user.id
    with _writers_queue(session):
        try:
            _begin_write(session)
            result = _store_revision(session, user_id, revises, note, checked, content_hash)
            if result.status == 201:
                session.commit()
            else:
                session.rollback()
            return result
        except IntegrityError:
            session.rollback()  # its twin committed first: answer as a replay or conflict
            return _stored_revision(session, user_id, sub.uuid, content_hash) or _refused(
                409, sub.uuid, "该 UUID 已被使用。", reason="conflict"
            )
        except BaseException:
            session.rollback()
            raise


def _stored_revision(session: Session, user_id: int, uuid: str, content_hash: str):
    stored = session.exec(select(ResponseRevision).where(ResponseRevision.uuid == uuid)).first()
    if stored is None:
        return None
    response = session.get(Response, stored.response_id)
    if stored.canvasser_id != user_id or stored.content_hash != content_hash:
        return _refused(409, uuid, "该 UUID 已用于另一份修改,内容不同。", reason="conflict")
    return Result(200, _revision_body(stored, response, replayed=True))


def _store_revision(session, user_id, revises, note, checked: _Checked, content_hash) -> Result:
    sub = checked.sub
    replay = _stored_revision(session, user_id, sub.uuid, content_hash)
    if replay is not None:
        return replay
    used = session.exec(select(Response.id).where(Response.uuid == sub.uuid)).first() or (
        session.exec(select(Visit.id).where(Visit.uuid == sub.uuid)).first()
    )
    if used is not None:
        return _refused(409, sub.uuid, "该 UUID 已用于另一条记录。", reason="conflict")
    response = session.exec(
        select(Response).where(Response.uuid == revises).with_for_update()
    ).first()
    if response is None:
        return _refused(404, sub.uuid, "找不到要修改的问卷。", item="revises")
    if response.canvasser_id != user_id:
        return _refused(403, sub.uuid, "这份问卷不是您提交的。", item="revises")
    if sub.assignment_id != response.assignment_id:
        return _refused(422, sub.uuid, "修改后的问卷应属于原来的住户。", item="assignment_id")
    if (sub.instrument_key, sub.instrument_version) != (
        response.instrument_key, str(response.instrument_version)
    ):  # fmt: skip
        return _refused(422, sub.uuid, "修改后的问卷应使用原问卷的版本。",
                        item="instrument_version")  # fmt: skip
    wave = session.get(Wave, response.wave_id)
    if wave.status != WaveStatus.OPEN:
        return _refused(422, sub.uuid, f"测评轮次“{wave.name}”已结束,不再接收数据。",
                        reason="wave_closed")  # fmt: skip
    if response.review_state != ReviewState.REJECTED:
        return _refused(409, sub.uuid, "这份问卷没有被退回(或修改已提交),不能再次提交。",
                        reason="not_rejected")  # fmt: skip
    if checked.refusal is not None:
        return checked.refusal
    now = utcnow()
    if response.revision == 1:
        session.add(_first_revision(session, response))
    revision = ResponseRevision(
        response_id=response.id, number=response.revision + 1, uuid=sub.uuid,
        answers=sub.answers, content_hash=content_hash, started_at=sub.started_at,
        submitted_at=sub.submitted_at, received_at=now, timings=sub.timings, device=sub.device,
        latitude=sub.latitude, longitude=sub.longitude, note=note, canvasser_id=user_id,
    )  # fmt: skip
    session.add(revision)
    rule = review.counts_rule(session, response.wave_id)
    review.move_totals(
        session=session,
        response=response,
        before=(response.answers, False),  # rejected: not counted
        after=(sub.answers, review.is_counted(ReviewState.PENDING, rule)),
    )
    response.answers = sub.answers
    response.revision = revision.number
    response.review_state = ReviewState.PENDING.value
    for key in ("age_group", "sex", "residence_years"):
        value = checked.profile.get(key)
        setattr(response, key, None if value is None else str(value))
    session.add(response)
    session.add(
        ReviewEvent(response_id=response.id, revision=revision.number, action="resubmit",
                    from_state=ReviewState.REJECTED.value, to_state=ReviewState.PENDING.value,
                    user_id=user_id, comment=note, at=now)
    )  # fmt: skip
    session.add(
        AuditLog(at=now, user_id=user_id, action="resubmit", entity="response",
                 entity_id=response.uuid,
                 detail={"revision": revision.number, "revision_uuid": sub.uuid, "note": note})
    )  # fmt: skip
    session.flush()
    return Result(201, _revision_body(revision, response, replayed=False))


def _first_revision(session: Session, response: Response) -> ResponseRevision:
    """Revision 1, copied from the interview as first stored, before a correction
    replaces its answers (the completed visit shares its UUID and holds its position)."""
    visit = session.exec(select(Visit).where(Visit.uuid == response.uuid)).first()
    return ResponseRevision(
        response_id=response.id, number=1, uuid=response.uuid, answers=response.answers,
        content_hash=response.content_hash, started_at=response.started_at,
        submitted_at=response.submitted_at, received_at=response.received_at,
        timings=response.timings, device=response.device,
        latitude=visit.latitude if visit else None, longitude=visit.longitude if visit else None,
        canvasser_id=response.canvasser_id,
    )  # fmt: skip


def _store_with_revisions(session: Session, user: User, visits: list, responses: list) -> dict:
    """``_store`` for a batch whose responses may include revisions (stored after the
    rest, each in its own transaction: they are few)."""
    plain = [(i, d) for i, d in enumerate(responses) if not is_revision(d)]
    results = _store(session, user, visits, [d for _, d in plain])
    out: list[Result | None] = [None] * len(responses)
    for (index, _), result in zip(plain, results["responses"], strict=True):
        out[index] = result
    for index, data in enumerate(responses):
        if out[index] is None:
            out[index] = submit_revision(session=session, user=user, data=data)
    return {"visits": results["visits"], "responses": out}


def _waves_counting_pending(households) -> set[int]:
    """The waves (of the batch's households) whose results count pending interviews: a
    new interview adds to the totals only there; a wave that counts approved interviews
    only adds it when it is approved (fieldwork/review.py)."""
    return {
        h.wave_id
        for h in households
        if review.is_counted(ReviewState.PENDING, h.counts or review.Counts.APPROVED_PENDING)
    }
