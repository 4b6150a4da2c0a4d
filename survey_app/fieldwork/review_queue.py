"""The review queue and the interview page: what a supervisor (督导) or analyst sees.

The queue lists the completed interviews of the reviewer's scope, filtered by wave,
community, canvasser, flag and state, flagged ones first, a page at a time. The interview
page shows the answers as they were asked — the questionnaire's labels, only the questions
the skip logic showed — with the paradata (start and end, time per question, device,
position, the household's visits), the flags, every revision and every review step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func
from sqlmodel import Session, select

import instruments

from .. import instrument_registry, scope
from ..errors import NotFound, ServiceError
from ..models import (
    Assignment,
    Building,
    Community,
    Household,
    QualityFlag,
    Response,
    ResponseRevision,
    ReviewState,
    User,
    Visit,
    Wave,
)
from . import quality, review
from .quality_rules import FLAG_LABELS

PER_PAGE = 50


@dataclass(frozen=True)
class QueueFilters:
    wave_id: int
    community_id: int | None = None
    canvasser_id: int | None = None
    flag: str | None = None
    state: str | None = None
    page: int = 1

    @classmethod
    def parse(cls, args, default_wave: int) -> QueueFilters:
        """From query-string arguments; 400 naming a bad one."""

        def number(name: str) -> int | None:
            value = (args.get(name) or "").strip()
            if not value:
                return None
            if not value.isdigit():
                raise ServiceError(f"参数 {name} 应为正整数。", status=400)
            return int(value)

        state = (args.get("state") or "").strip() or None
        if state is not None and state not in {s.value for s in ReviewState}:
            raise ServiceError(f"未知的审核状态 {state!r}。", status=400)
        flag = (args.get("flag") or "").strip() or None
        if flag is not None and flag not in FLAG_LABELS and flag != "any":
            raise ServiceError(f"未知的质量标记 {flag!r}。", status=400)
        return cls(
            wave_id=number("wave") or default_wave,
            community_id=number("community"),
            canvasser_id=number("canvasser"),
            flag=flag,
            state=state,
            page=max(1, number("page") or 1),
        )


@dataclass(frozen=True)
class QueueRow:
    id: int
    household: str
    community: str
    canvasser: str
    submitted_at: datetime | None
    revision: int
    state: str
    flags: list[str]


@dataclass(frozen=True)
class QueuePage:
    filters: QueueFilters
    rows: list[QueueRow]
    total: int
    pages: int
    communities: list[tuple[int, str]] = field(default_factory=list)
    canvassers: list[tuple[int, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def queue(
    *, session: Session, user: User, filters: QueueFilters, tz: str = "Asia/Shanghai",
    per_page: int = PER_PAGE,
) -> QueuePage:  # fmt: skip
    """One page of the review queue (flagged first, then pending, then newest)."""
    review.level_of(user)
    if session.get(Wave, filters.wave_id) is None:
        raise NotFound("找不到该测评轮次。")
    quality.ensure_fresh(session=session, wave_id=filters.wave_id, tz=tz)
    # Test data (a rehearsal's generated interviews) is never reviewed: not listed.
    visible = and_(scope.community_filter(user, Response.community_id), review.not_test_data())
    conditions = [Response.wave_id == filters.wave_id, visible]
    if filters.community_id:
        conditions.append(Response.community_id == filters.community_id)
    if filters.canvasser_id:
        conditions.append(Response.canvasser_id == filters.canvasser_id)
    if filters.state:
        conditions.append(Response.review_state == filters.state)
    flagged = exists().where(QualityFlag.response_id == Response.id)
    if filters.flag == "any":
        conditions.append(flagged)
    elif filters.flag:
        conditions.append(
            exists().where(
                and_(QualityFlag.response_id == Response.id, QualityFlag.code == filters.flag)
            )
        )
    where = and_(*conditions)
    total = session.exec(select(func.count()).select_from(Response).where(where)).one()
    pages = max(1, -(-total // per_page))
    page = min(filters.page, pages)
    rows = session.exec(
        select(Response, Household.code, Building.code, Community.name, User.display_name)
        .outerjoin(Household, Response.household_id == Household.id)
        .outerjoin(Building, Household.building_id == Building.id)
        .join(Community, Response.community_id == Community.id)
        .outerjoin(User, Response.canvasser_id == User.id)
        .where(where)
        .order_by(
            case((flagged, 0), else_=1),
            case((Response.review_state == ReviewState.PENDING, 0), else_=1),
            Response.id.desc(),
        )
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    state_counts = dict(
        session.exec(
            select(Response.review_state, func.count())
            .where(Response.wave_id == filters.wave_id, visible)
            .group_by(Response.review_state)
        ).all()
    )
    return QueuePage(
        filters=filters,
        rows=[
            QueueRow(
                r.id,
                f"{b or ''} · {h or ''}",
                c,
                name or "",
                r.submitted_at,
                r.revision,
                r.review_state,
                list(r.quality_flags or []),
            )  # fmt: skip
            for r, h, b, c, name in rows
        ],
        total=total,
        pages=pages,
        communities=_communities(session, user),
        canvassers=_canvassers(session, user, filters.wave_id),
        counts=state_counts,
    )


def _communities(session: Session, user: User) -> list[tuple[int, str]]:
    return list(
        session.exec(
            select(Community.id, Community.name)
            .where(scope.community_filter(user, Community.id))
            .order_by(Community.code)
        ).all()
    )


def _canvassers(session: Session, user: User, wave_id: int) -> list[tuple[int, str]]:
    return list(
        session.exec(
            select(User.id, User.display_name)
            .join(Response, Response.canvasser_id == User.id)
            .where(Response.wave_id == wave_id, scope.community_filter(user, Response.community_id))
            .distinct()
            .order_by(User.display_name)
        ).all()
    )


# --- the interview page ----------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    name: str
    label: str
    answer: str
    seconds: float | None
    changed: bool  # differs from the previous revision


def _display(instrument, item, value, lang: str) -> str:
    if value in (None, "", []):
        return "(未答)" if lang == "zh" else "(no answer)"
    if item.type == instruments.ItemType.YESNO:
        label = item.yes_label if value == "yes" else item.no_label
        return label.get(lang) if label else ("是" if value == "yes" else "否")
    if item.choices:
        codes = value if isinstance(value, list) else [value]
        labels = []
        for code in codes:
            choice = instrument.choice(item, code)
            labels.append(choice.label.get(lang) if choice else str(code))
        return "、".join(labels)
    return str(value)


def answers_as_asked(
    instrument,
    answers: dict[str, Any],
    timings: dict | None,
    previous: dict | None,
    lang: str = "zh",
) -> list[AnswerRow]:
    """The questions the skip logic showed, in order, with the answers' labels."""
    shown = set(instruments.relevant_items(instrument, answers))
    rows = []
    for item in instrument.items:
        if not item.has_value or item.name not in shown:
            continue
        ms = (timings or {}).get(item.name)
        rows.append(
            AnswerRow(
                name=item.name,
                label=item.label.get(lang),
                answer=_display(instrument, item, answers.get(item.name), lang),
                seconds=round(ms / 1000, 1) if isinstance(ms, int | float) else None,
                changed=previous is not None and previous.get(item.name) != answers.get(item.name),
            )
        )
    return rows


def interview(
    *, session: Session, user: User, response_id: int, lang: str = "zh"
) -> dict[str, Any]:
    """Everything the interview page shows (404 outside the reviewer's scope)."""
    level = review.level_of(user)
    response = review.get_response(session=session, user=user, response_id=response_id)
    quality.ensure_fresh(session=session, wave_id=response.wave_id)
    instrument = instrument_registry.get_instrument(
        response.instrument_key, response.instrument_version
    )
    revisions = list(
        session.exec(
            select(ResponseRevision)
            .where(ResponseRevision.response_id == response.id)
            .order_by(ResponseRevision.number)
        ).all()
    )
    previous = revisions[-2].answers if len(revisions) >= 2 else None
    current = revisions[-1] if revisions else None
    timings = current.timings if current else response.timings
    household = session.get(Household, response.household_id) if response.household_id else None
    building = session.get(Building, household.building_id) if household else None
    visits = (
        list(
            session.exec(
                select(Visit)
                .where(Visit.assignment_id == response.assignment_id)
                .order_by(Visit.attempt)
            ).all()
        )  # fmt: skip
        if response.assignment_id
        else []
    )
    completed = next((v for v in visits if v.uuid == response.uuid), None)
    started, submitted = (
        (current.started_at, current.submitted_at)
        if current
        else (response.started_at, response.submitted_at)
    )
    duration = (submitted - started).total_seconds() if started and submitted else None
    names = dict(session.exec(select(User.id, User.display_name)).all())
    return {
        "response": response,
        "instrument": instrument,
        "rows": answers_as_asked(instrument, response.answers or {}, timings, previous, lang)
        if instrument
        else [],
        "household": household,
        "building": building,
        "community": session.get(Community, response.community_id),
        "wave": session.get(Wave, response.wave_id),
        "canvasser": names.get(response.canvasser_id, ""),
        "names": names,
        "visits": visits,
        "position": (completed.latitude, completed.longitude)
        if completed and completed.latitude is not None
        else None,
        "started_at": started,
        "submitted_at": submitted,
        "duration": duration,
        "revisions": revisions,
        "events": review.events(session=session, response_id=response.id),
        "flags": quality.flags_of(session=session, response_id=response.id),
        "canvasser_flags": quality.canvasser_flags(
            session=session, wave_id=response.wave_id, canvasser_id=response.canvasser_id
        )
        if response.canvasser_id
        else [],
        "actions": [] if response.is_test else review.allowed_actions(response.review_state, level),
        "level": level,
        "assignment": session.get(Assignment, response.assignment_id)
        if response.assignment_id
        else None,
    }
