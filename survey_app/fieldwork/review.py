"""Reviewing interviews (督导审核): the review state machine, its actions, and which
interviews count in the results.

States (``ReviewState``): 待审核 pending → 督导已通过 accepted → 创文办已通过 approved_hq,
or → 已退回 rejected, back on the canvasser's tablet until a corrected revision arrives
(pending again). Supervisors (督导) act at the supervisor level on the communities of
their scope; analysts and admins act at headquarters level (创文办) anywhere, and alone
may reject what was approved or reopen a decision. Every step is a ``ReviewEvent`` and an
audit row. The full table of transitions is in docs/quality.md.

Which interviews count: a wave counts approved + pending interviews (the default) or
approved only; rejected ones never. The running totals (``aggregates``) follow every
change — a decision that moves an interview in or out of the count, a corrected revision
replacing the old one's contribution, a wave switching its rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import and_, delete, exists, false, func, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

import instruments

from .. import aggregates, audit, instrument_registry, scope
from ..errors import Forbidden, NotFound, ServiceError
from ..models import IndicatorTotal, Response, ReviewEvent, ReviewState, Role, User, WaveQuality
from ..models._types import utcnow

COMMENT_MAX = 2000


class Level(StrEnum):
    SUPERVISOR = "supervisor"  # 督导
    HQ = "hq"  # 创文办 (headquarters)


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REOPEN = "reopen"
    RESUBMIT = "resubmit"  # the canvasser's corrected revision (through the sync API)


class Counts(StrEnum):
    """Which interviews a wave's results count (rejected ones never do)."""

    APPROVED_PENDING = "approved_pending"  # default: approved and not yet reviewed
    APPROVED = "approved"  # approved only


P, A, H, R = (ReviewState.PENDING, ReviewState.ACCEPTED, ReviewState.APPROVED_HQ,
              ReviewState.REJECTED)  # fmt: skip
# action -> from state -> level -> to state. What is not here is refused (409).
TRANSITIONS: dict[Action, dict[ReviewState, dict[Level, ReviewState]]] = {
    Action.APPROVE: {P: {Level.SUPERVISOR: A, Level.HQ: H}, A: {Level.HQ: H}},
    Action.REJECT: {P: {Level.SUPERVISOR: R, Level.HQ: R}, A: {Level.HQ: R}, H: {Level.HQ: R}},
    Action.REOPEN: {A: {Level.HQ: P}, H: {Level.HQ: P}, R: {Level.HQ: P}},
    Action.RESUBMIT: {R: {Level.SUPERVISOR: P, Level.HQ: P}},  # by the canvasser, via sync
}
APPROVED = (ReviewState.ACCEPTED, ReviewState.APPROVED_HQ)
REVIEWER_ROLES = (Role.SUPERVISOR, Role.ANALYST, Role.ADMIN)
STATE_LABELS = {
    ReviewState.PENDING: "待审核",
    ReviewState.ACCEPTED: "督导已通过",
    ReviewState.APPROVED_HQ: "创文办已通过",
    ReviewState.REJECTED: "已退回",
}
ACTION_LABELS = {
    Action.APPROVE: "通过",
    Action.REJECT: "退回",
    Action.REOPEN: "重新打开",
    Action.RESUBMIT: "调查员重新提交",
}


def level_of(user: User) -> Level:
    """The level a user reviews at; refuse (403) anyone who does not review."""
    if user.role == Role.SUPERVISOR:
        return Level.SUPERVISOR
    if user.role in (Role.ANALYST, Role.ADMIN):
        return Level.HQ
    raise Forbidden("只有督导、创文办分析员和管理员可以审核问卷。")


def next_state(state: str, action: str, level: Level) -> ReviewState | None:
    """The state ``action`` at ``level`` leads to from ``state``, or None if refused."""
    try:
        return TRANSITIONS[Action(action)].get(ReviewState(state), {}).get(level)
    except ValueError:
        return None


def allowed_actions(state: str, level: Level) -> list[Action]:
    """The review actions (not resubmit) a reviewer at ``level`` may take now."""
    return [
        action
        for action in (Action.APPROVE, Action.REJECT, Action.REOPEN)
        if next_state(state, action, level) is not None
    ]


def is_counted(state: str, counts: str) -> bool:
    """Whether an interview in ``state`` counts under a wave's rule ``counts``."""
    if state in APPROVED:
        return True
    return state == ReviewState.PENDING and counts == Counts.APPROVED_PENDING


# --- the wave's quality settings -----------------------------------------------------


def settings_for(*, session: Session, wave_id: int) -> WaveQuality:
    """The wave's quality settings (the defaults, not stored, when it has none)."""
    stored = session.get(WaveQuality, wave_id)
    return stored if stored is not None else WaveQuality(wave_id=wave_id, backcheck_seed=wave_id)


def counts_rule(session: Session, wave_id: int) -> str:
    return settings_for(session=session, wave_id=wave_id).counts


def set_counts(*, session: Session, user: User, wave_id: int, counts: str) -> WaveQuality:
    """Switch which interviews the wave's results count, and rebuild its running totals
    from the interviews that now count. Analysts and admins only."""
    if level_of(user) is not Level.HQ:
        raise Forbidden("只有创文办分析员和管理员可以修改计入规则。")
    try:
        rule = Counts(counts)
    except ValueError:
        raise ServiceError(f"未知的计入规则 {counts!r}(应为 approved_pending 或 approved)。",
                           status=422) from None  # fmt: skip
    stored = session.get(WaveQuality, wave_id) or settings_for(session=session, wave_id=wave_id)
    before = stored.counts
    stored.counts = rule.value
    session.add(stored)
    session.flush()
    rebuild_totals(session=session, wave_id=wave_id)
    audit.record(session=session, action="set_counts", entity="wave", entity_id=wave_id,
                 user_id=user.id, detail={"from": before, "to": rule.value})  # fmt: skip
    session.commit()
    return stored


def rebuild_totals(*, session: Session, wave_id: int) -> int:
    """Recompute the wave's running totals from the interviews that count (the caller
    commits). Returns how many interviews were counted."""
    rule = counts_rule(session, wave_id)
    session.exec(delete(IndicatorTotal).where(IndicatorTotal.wave_id == wave_id))
    rows = session.exec(
        select(Response.household_id, Response.instrument_key, Response.instrument_version,
               Response.answers, Response.review_state)
        .where(Response.wave_id == wave_id, Response.household_id.is_not(None),
               Response.is_test == false())
    ).all()  # fmt: skip
    items = []
    for household_id, key, version, answers, state in rows:
        if not is_counted(state, rule):
            continue
        instrument = instrument_registry.get_instrument(key, version)
        if instrument is None:
            continue
        items.append((wave_id, household_id, instruments.indicator_values(instrument, answers)))
    aggregates.add_responses(session=session, items=items)
    return len(items)


def move_totals(
    *,
    session: Session,
    response: Response,
    before: tuple[Mapping, bool],
    after: tuple[Mapping, bool],
) -> None:
    """Move the running totals from one contribution to another: ``(answers, counted)``
    before and after a decision or a new revision (the caller commits). Test data
    (``is_test``) never moves them."""
    if response.is_test:
        return
    instrument = instrument_registry.get_instrument(
        response.instrument_key, response.instrument_version
    )
    if instrument is None:
        return
    (old_answers, was), (new_answers, now) = before, after
    if was:
        old = instruments.indicator_values(instrument, old_answers)
        aggregates.add_response(session=session, response=response, values=old, sign=-1)
    if now:
        new = instruments.indicator_values(instrument, new_answers)
        aggregates.add_response(session=session, response=response, values=new, sign=1)


# --- acting on an interview --------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    response: Response
    event: ReviewEvent


def get_response(*, session: Session, user: User, response_id: int) -> Response:
    """The interview, if it exists and lies in the user's scope (404 otherwise)."""
    response = session.get(Response, response_id)
    if response is None:
        raise NotFound("找不到该问卷。")
    scope.require_community(user, response.community_id, session=session)
    return response


def _comments(instrument, comment: str | None, item_comments: Mapping | None):
    comment = (comment or "").strip() or None
    if comment and len(comment) > COMMENT_MAX:
        raise ServiceError(f"意见不能超过 {COMMENT_MAX} 字。", status=422)
    cleaned: dict[str, str] = {}
    for name, text in (item_comments or {}).items():
        text = (text or "").strip() if isinstance(text, str) else ""
        if not text:
            continue
        if instrument is not None and not instrument.has_item(str(name)):
            raise ServiceError(f"问卷中没有题目“{name}”。", status=422)
        if len(text) > COMMENT_MAX:
            raise ServiceError(f"第“{name}”题的意见不能超过 {COMMENT_MAX} 字。", status=422)
        cleaned[str(name)] = text
    return comment, cleaned or None


def act(
    *,
    session: Session,
    user: User,
    response_id: int,
    action: str,
    comment: str | None = None,
    item_comments: Mapping[str, str] | None = None,
) -> Decision:
    """Approve, reject (with an overall comment and/or comments per question) or reopen
    an interview. Refused: 403 for a user who does not review, 404 outside their scope,
    409 for a transition the state machine does not allow, 422 for a rejection without
    any comment. The decision, its event and its audit row are one transaction."""
    level = level_of(user)
    response = get_response(session=session, user=user, response_id=response_id)
    if response.is_test:
        raise ServiceError("这是演练生成的测试数据,不参与审核。", status=409)
    if action not in (Action.APPROVE, Action.REJECT, Action.REOPEN):
        raise ServiceError(f"未知的审核操作 {action!r}。", status=422)
    before = ReviewState(response.review_state)
    after = next_state(before, action, level)
    if after is None:
        who = "督导" if level is Level.SUPERVISOR else "创文办"
        raise ServiceError(
            f"{who}不能对“{STATE_LABELS[before]}”的问卷执行“{ACTION_LABELS[Action(action)]}”。",
            status=409,
        )
    instrument = instrument_registry.get_instrument(
        response.instrument_key, response.instrument_version
    )
    comment, item_comments = _comments(instrument, comment, item_comments)
    if action == Action.REJECT and not (comment or item_comments):
        raise ServiceError("退回问卷时请写明原因(总体意见或逐题意见)。", status=422)
    rule = counts_rule(session, response.wave_id)
    was, now = is_counted(before, rule), is_counted(after, rule)
    if was != now:
        answers = response.answers or {}
        move_totals(session=session, response=response, before=(answers, was),
                    after=(answers, now))  # fmt: skip
    response.review_state = after.value
    session.add(response)
    event = ReviewEvent(
        response_id=response.id,
        revision=response.revision,
        action=action,
        from_state=before.value,
        to_state=after.value,
        level=level.value,
        user_id=user.id,
        comment=comment,
        item_comments=item_comments,
        at=utcnow(),
    )
    session.add(event)
    audit.record(
        session=session,
        action=f"review_{action}",
        entity="response",
        entity_id=response.uuid,
        user_id=user.id,
        detail={"from": before.value, "to": after.value, "level": level.value,
                "revision": response.revision, "comment": comment,
                "item_comments": item_comments},
    )  # fmt: skip
    session.commit()
    return Decision(response, event)


def events(*, session: Session, response_id: int) -> list[ReviewEvent]:
    return list(
        session.exec(
            select(ReviewEvent)
            .where(ReviewEvent.response_id == response_id)
            .order_by(ReviewEvent.at, ReviewEvent.id)
        ).all()
    )


def last_rejection(*, session: Session, response_id: int) -> ReviewEvent | None:
    return session.exec(
        select(ReviewEvent)
        .where(ReviewEvent.response_id == response_id, ReviewEvent.action == Action.REJECT)
        .order_by(ReviewEvent.id.desc())
    ).first()


# --- what the results exclude ------------------------------------------------------------


@dataclass(frozen=True)
class Excluded:
    """Interviews of a wave (in a community, or all) left out of the figures, and why."""

    rule: str
    rejected: int  # 已退回: never counted
    pending: int  # 待审核: left out only when the wave counts approved interviews only
    counted: int

    @property
    def total(self) -> int:
        return self.rejected + self.pending


def excluded(*, session: Session, wave_id: int, community_ids: list[int] | None = None) -> Excluded:
    """How many interviews the figures leave out, by reason (one grouped count)."""
    rule = counts_rule(session, wave_id)
    query = (
        select(Response.review_state, Response.is_test, func.count())
        .where(Response.wave_id == wave_id, not_test_data())
        .group_by(Response.review_state, Response.is_test)
    )
    if community_ids is not None:
        query = query.where(Response.community_id.in_(community_ids))
    return excluded_from(session.exec(query).all(), rule)


def states_by_community(
    *, session: Session, wave_id: int, community_ids: list[int] | None = None
) -> dict[int, list[tuple[str, bool, int]]]:
    """Per community: (review state, is test, interviews) — :func:`excluded_from`'s
    input, kept per community by the whole-wave pages."""
    query = (
        select(Response.community_id, Response.review_state, Response.is_test, func.count())
        .where(Response.wave_id == wave_id, not_test_data())
        .group_by(Response.community_id, Response.review_state, Response.is_test)
    )
    if community_ids is not None:
        query = query.where(Response.community_id.in_(community_ids))
    out: dict[int, list[tuple[str, bool, int]]] = {}
    for cid, state, is_test, n in session.exec(query).all():
        out.setdefault(int(cid), []).append((state, is_test, n))
    return out


def excluded_from(rows, rule: str) -> Excluded:
    """:class:`Excluded` from (review state, is test, interviews) rows."""
    by_state: dict[str, int] = {}
    tests = 0  # the rehearsal view's test interviews: all counted there, whatever the rule
    for state, is_test, n in rows:
        if is_test:
            tests += n
        else:
            by_state[state] = by_state.get(state, 0) + n
    rejected = by_state.get(ReviewState.REJECTED, 0)
    pending = by_state.get(ReviewState.PENDING, 0) if rule == Counts.APPROVED else 0
    counted = tests + sum(n for state, n in by_state.items() if is_counted(state, rule))
    return Excluded(rule=rule, rejected=rejected, pending=pending, counted=counted)


# --- back to the tablet ------------------------------------------------------------------


def returned(*, session: Session, user: User) -> list[dict]:
    """The canvasser's rejected interviews in open waves, with the reviewer's comments
    and the answers as stored (JSON-ready): what their tablet shows after a sync."""
    from ..models import Assignment, Building, Household, Wave, WaveStatus

    rows = session.exec(
        select(Response, Household.code, Building.code)
        .join(Wave, Response.wave_id == Wave.id)
        .join(Assignment, Response.assignment_id == Assignment.id)
        .join(Household, Assignment.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .where(
            Response.canvasser_id == user.id,
            Response.review_state == ReviewState.REJECTED,
            Wave.status == WaveStatus.OPEN,
            Response.is_test == false(),
        )
        .order_by(Response.id)
    ).all()
    out = []
    for response, household_code, building_code in rows:
        event = last_rejection(session=session, response_id=response.id)
        out.append(
            {
                "uuid": response.uuid,
                "assignment_id": response.assignment_id,
                "household": f"{building_code} · {household_code}",
                "instrument_key": response.instrument_key,
                "instrument_version": str(response.instrument_version),
                "revision": response.revision,
                "answers": response.answers,
                "comment": event.comment if event else None,
                "item_comments": (event.item_comments or {}) if event else {},
                "rejected_at": event.at.isoformat() if event else None,
                "level": event.level if event else None,
            }
        )
    return out


def counted_states(*, session: Session, wave_id: int) -> list[str]:
    """The review states whose interviews the wave's figures count."""
    rule = counts_rule(session, wave_id)
    return [s.value for s in ReviewState if is_counted(s, rule)]


def counted_condition(wave_id: int):
    """A WHERE clause keeping the interviews the wave's figures count, for queries that
    read responses rather than the running totals (weighting, exports, designs): approved
    ones, and pending ones unless the wave counts approved interviews only — never test
    data (``Response.is_test``), except inside :func:`rehearsal_view`."""
    approved_only = exists().where(
        WaveQuality.wave_id == wave_id, WaveQuality.counts == Counts.APPROVED
    )
    counted = or_(
        Response.review_state.in_([s.value for s in APPROVED]),
        and_(Response.review_state == ReviewState.PENDING, ~approved_only),
    )
    if _with_test_data.get():  # the rehearsal view: the shown test interviews as well
        return or_(shown_test_data(), and_(Response.is_test == false(), counted))
    return and_(Response.is_test == false(), counted)


# --- test data (a rehearsal's generated interviews) -----------------------------------

#: True while a rehearsal view is being computed: the figures then include test data.
_with_test_data: ContextVar[bool] = ContextVar("with_test_data", default=False)


def including_test_data() -> bool:
    """Whether the figures being computed include test data (inside a rehearsal view)."""
    return _with_test_data.get()


@contextmanager
def rehearsal_view(enabled: bool = True) -> Iterator[None]:
    """Compute figures *with* the rehearsal's test data (演练视图): every query built on
    :func:`counted_condition` or :func:`not_test_data` inside the block includes it, and
    ``design.wave_inputs`` adds its sums to the running totals. Nothing else ever does."""
    token = _with_test_data.set(bool(enabled))
    try:
        yield
    finally:
        _with_test_data.reset(token)


def not_test_data():
    """WHERE clause leaving out test data — except inside :func:`rehearsal_view`, where
    it keeps the shown test data as well. Every query that reads responses for figures,
    queues or quality carries it."""
    if _with_test_data.get():
        return or_(Response.is_test == false(), shown_test_data())
    return Response.is_test == false()


def shown_test_data():
    """The test interviews a rehearsal view shows: those of households that real
    fieldwork has not reached — no real interview in the wave, no visit — so a household
    has one interview at most and is never both vacant and interviewed (real fieldwork,
    once it arrives, replaces the rehearsal)."""
    from ..models import Visit

    real = aliased(Response)
    return and_(
        Response.is_test == true(),
        ~exists().where(
            real.wave_id == Response.wave_id,
            real.household_id == Response.household_id,
            real.is_test == false(),
        ),
        ~exists().where(Visit.assignment_id == Response.assignment_id),
    )
