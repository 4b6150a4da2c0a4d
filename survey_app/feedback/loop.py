"""问需/问计 closed loop: residents' requests moved 发现 → 交办 → 整改 → 反馈.

Each step is a :class:`FeedbackEvent` (from, to, who, when, note) and an audit row, in
one transaction. Only the community's own secretary (or an admin) moves its items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from .. import audit, scope
from ..errors import Forbidden, NotFound, ServiceError
from ..models import FeedbackEvent, FeedbackItem, FeedbackStatus, Role, User

ORDER = (
    FeedbackStatus.FOUND,
    FeedbackStatus.ASSIGNED,
    FeedbackStatus.FIXING,
    FeedbackStatus.ANSWERED,
)
LABELS = {
    FeedbackStatus.FOUND: "发现",
    FeedbackStatus.ASSIGNED: "交办",
    FeedbackStatus.FIXING: "整改",
    FeedbackStatus.ANSWERED: "反馈",
}


def next_status(status: str) -> str | None:
    """The step after ``status``, or None when the loop is closed (反馈)."""
    i = ORDER.index(FeedbackStatus(status))
    return ORDER[i + 1] if i + 1 < len(ORDER) else None


@dataclass(frozen=True)
class EventView:
    to_status: str
    who: str
    at: datetime
    note: str | None


@dataclass(frozen=True)
class FeedbackView:
    item: FeedbackItem
    next_status: str | None
    events: list[EventView]


def list_items(
    *, session: Session, user: User, community_id: int, wave_id: int | None
) -> list[FeedbackView]:
    """The community's 问需/问计 items of the wave, newest first, each with its steps."""
    scope.require_community(user, community_id)
    stmt = select(FeedbackItem).where(FeedbackItem.community_id == community_id)
    if wave_id is not None:
        stmt = stmt.where(FeedbackItem.wave_id == wave_id)
    items = list(
        session.exec(stmt.order_by(FeedbackItem.created_at.desc(), FeedbackItem.id.desc())).all()
    )
    events: dict[int, list[EventView]] = {}
    if items:
        rows = session.exec(
            select(FeedbackEvent, User)
            .join(User, FeedbackEvent.user_id == User.id, isouter=True)
            .where(FeedbackEvent.item_id.in_([i.id for i in items]))
            .order_by(FeedbackEvent.at, FeedbackEvent.id)
        ).all()
        for event, who in rows:
            events.setdefault(event.item_id, []).append(
                EventView(event.to_status, who.display_name if who else "", event.at, event.note)
            )
    return [FeedbackView(i, next_status(i.status), events.get(i.id, [])) for i in items]


def advance(
    *,
    session: Session,
    user: User,
    item_id: int,
    to_status: str,
    note: str | None = None,
    assignee: str | None = None,
) -> FeedbackItem:
    """Move an item one step on (发现 → 交办 → 整改 → 反馈), recording who and when.

    ``to_status`` must be the next step: a stale form (someone else moved it meanwhile)
    is refused with 409 rather than skipping or repeating a step.
    """
    item = session.get(FeedbackItem, item_id)
    if item is None:
        raise NotFound("找不到该条问需/问计。")
    scope.require_community(user, item.community_id)
    if user.role not in (Role.SECRETARY, Role.ADMIN):
        raise Forbidden("只有本社区书记可以处理问需/问计。")
    expected = next_status(item.status)
    if expected is None:
        raise ServiceError("该条已反馈,流程已结束。", status=409)
    if to_status != expected:
        raise ServiceError("该条的状态已被更新,请刷新页面后再试。", status=409)
    event = FeedbackEvent(
        item_id=item.id,
        from_status=item.status,
        to_status=to_status,
        user_id=user.id,
        note=(note or "").strip()[:1000] or None,
    )
    previous = item.status
    item.status = to_status
    if assignee is not None and assignee.strip():
        item.assignee = assignee.strip()[:100]
    item.updated_at = event.at
    session.add(item)
    session.add(event)
    audit.record(
        session=session,
        action="feedback.advance",
        entity="feedbackitem",
        entity_id=item.id,
        user_id=user.id,
        detail={"from": previous, "to": to_status, "note": event.note, "assignee": item.assignee},
    )
    session.commit()
    return item
