"""Rehearse a wave (演练): generate test interviews, look at the reports with them, remove
them in one step — so a 创文办 can try the questionnaire and the result pages before
fieldwork starts (Qualtrics calls this "generate test responses").

* :func:`generate` stores ``count`` interviews made by ``instruments.generate_interviews``
  (they honour the questionnaire's skip logic, constraints and choice filters), one per
  household drawn at random among those of the wave's released sample that fieldwork
  has not reached (no interview, real or test, and no visit) — or, when the wave has no sample yet, from the household
  frame of the communities it covers (a *synthetic* set:
  such interviews have no assignment, so once a sample is drawn they no longer enter the
  rehearsal view's weighted figures; remove and generate again). Each is a ``Response``
  with ``is_test`` set, no canvasser, state 待审核. No visit is stored (the tablets' work
  lists, the dispositions and response rates stay as they are) and no 问需/问计 item.
* Test data never counts: it is never added to the running totals (``aggregates``), and
  every query reading responses for figures, queues, quality flags or back-checks leaves
  it out (``review.counted_condition`` / ``review.not_test_data``) — except inside
  ``review.rehearsal_view()``, the 演练视图 (``?rehearsal=1`` on the result pages and
  exports, analysts and admins only), whose pages are bannered 演练数据 and whose files are
  named ``rehearsal-…`` with a ``test_data`` column. One interview per household: a
  test interview whose household real fieldwork has since reached (a real interview
  or a visit) is no longer shown.
* :func:`remove` deletes every test interview of the wave (and anything attached to
  one), nothing else. Both steps are audited.
"""

from __future__ import annotations

import random
import secrets
import uuid as uuid_mod
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, true
from sqlmodel import Session, select

import instruments

from .. import audit, instrument_registry
from ..errors import ServiceError
from ..models import (
    Assignment,
    BackCheck,
    Building,
    Community,
    FeedbackEvent,
    FeedbackItem,
    Household,
    QualityFlag,
    Response,
    ResponseRevision,
    ReviewEvent,
    ReviewState,
    Visit,
    Wave,
    WaveCommunity,
    WaveStatus,
)
from ..models._types import utcnow
from . import review

MAX_COUNT = 5000
DEVICE = "rehearsal"


@dataclass(frozen=True)
class Generated:
    count: int
    seed: int
    synthetic: bool  # no sample yet: households from the frame
    total: int  # the wave's test interviews now


def count_test_data(*, session: Session, wave_id: int) -> int:
    """How many test interviews the wave holds."""
    return session.exec(
        select(func.count())
        .select_from(Response)
        .where(Response.wave_id == wave_id, Response.is_test == true())
    ).one()


def generate(
    *,
    session: Session,
    wave: Wave,
    count: int,
    seed: int | None = None,
    user_id: int | None = None,
    today: date | None = None,
) -> Generated:
    """Store ``count`` test interviews in ``wave`` (draft or open); see the module
    docstring. Refused: 409 for a closed wave, one without its questionnaire or without
    households; 422 for a count outside 1…``MAX_COUNT`` or more than the households."""
    if wave.status not in (WaveStatus.DRAFT, WaveStatus.OPEN):
        raise ServiceError("只能为草稿或进行中的轮次生成测试问卷(已结束的轮次结果已冻结)。",
                           status=409)  # fmt: skip
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ServiceError(f"测试问卷份数应在 1 到 {MAX_COUNT} 之间。", status=422)
    instrument = instrument_registry.get_instrument(wave.instrument_key, wave.instrument_version)
    if instrument is None:
        raise ServiceError("找不到该轮次使用的问卷。", status=409)
    seed = secrets.randbelow(10**6) if seed is None else int(seed)
    places, synthetic = _households(session, wave)
    if not places:
        raise ServiceError(
            "本轮已没有尚未走访、也没有测试问卷的住户,无法再生成测试问卷。", status=409
        )
    if count > len(places):
        raise ServiceError(
            f"本轮{'覆盖的社区' if synthetic else '样本'}中尚未走访、也没有测试问卷的住户只有 {len(places)} 户,"
            f"最多生成 {len(places)} 份测试问卷。",
            status=422,
        )
    day = (today or date.today()).isoformat()
    try:
        interviews = instruments.generate_interviews(instrument, count, seed=seed, today=day)
    except instruments.GenerationError as err:
        raise ServiceError(f"无法按问卷生成测试问卷:{err}", status=422) from None
    chosen = random.Random(seed).sample(places, count)
    now = utcnow()
    for (assignment_id, household_id, community_id), answers in zip(
        chosen, interviews, strict=True
    ):
        session.add(
            Response.generated(
                instrument=instrument,
                answers=answers,
                at=now,
                content_hash="rehearsal",
                device=DEVICE,
                uuid=str(uuid_mod.uuid4()),
                wave_id=wave.id,
                community_id=community_id,
                household_id=household_id,
                assignment_id=assignment_id,
                canvasser_id=None,
                review_state=ReviewState.PENDING,
                is_test=True,
            )
        )
    session.flush()
    total = count_test_data(session=session, wave_id=wave.id)
    audit.record(session=session, action="rehearse_generate", entity="wave", entity_id=wave.id,
                 user_id=user_id, detail={"count": count, "seed": seed, "synthetic": synthetic,
                                          "total": total})  # fmt: skip
    session.commit()
    return Generated(count=count, seed=seed, synthetic=synthetic, total=total)


def _households(session: Session, wave: Wave) -> tuple[list[tuple], bool]:
    """(assignment id or None, household id, community id) to draw from — households
    without any interview (real or test) or visit in the wave yet —
    in a fixed order, and whether they are synthetic (no sample yet: the frame)."""
    heard = set(
        session.exec(
            select(Response.household_id).where(
                Response.wave_id == wave.id, Response.household_id.is_not(None)
            )
        ).all()
    )
    visited = set(
        session.exec(
            select(Visit.assignment_id)
            .join(Assignment, Visit.assignment_id == Assignment.id)
            .where(Assignment.wave_id == wave.id)
        ).all()
    )
    sampled = session.exec(
        select(Assignment.id, Assignment.household_id, Assignment.community_id)
        .where(Assignment.wave_id == wave.id, Assignment.released)
        .order_by(Assignment.id)
    ).all()
    if sampled:
        return [tuple(r) for r in sampled if r[1] not in heard and r[0] not in visited], False
    covered = session.exec(
        select(WaveCommunity.community_id).where(WaveCommunity.wave_id == wave.id)
    ).all()
    where = Household.community_id.in_(covered) if covered else Community.active
    frame = session.exec(
        select(Household.id, Household.community_id)
        .join(Community, Household.community_id == Community.id)
        .where(Household.active, where)
        .order_by(Household.id)
    ).all()
    return [(None, hh, c) for hh, c in frame if hh not in heard], True


def remove(*, session: Session, wave: Wave, user_id: int | None = None) -> int:
    """Delete every test interview of ``wave`` (and any revision, review step, flag,
    back-check or feedback item attached to one); returns how many. Real interviews
    and the running totals are untouched (test data never entered them)."""
    ids = list(
        session.exec(
            select(Response.id).where(Response.wave_id == wave.id, Response.is_test == true())
        ).all()
    )
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        items = select(FeedbackItem.id).where(FeedbackItem.response_id.in_(part))
        session.exec(delete(FeedbackEvent).where(FeedbackEvent.item_id.in_(items)))
        for table in (FeedbackItem, ResponseRevision, ReviewEvent, QualityFlag, BackCheck):
            session.exec(delete(table).where(table.response_id.in_(part)))
        session.exec(delete(Response).where(Response.id.in_(part), Response.is_test == true()))
    audit.record(session=session, action="rehearse_remove", entity="wave", entity_id=wave.id,
                 user_id=user_id, detail={"removed": len(ids)})  # fmt: skip
    session.commit()
    return len(ids)


def with_test_totals(
    session: Session, wave: Wave, rows: list, community_ids: list[int] | None
) -> list[tuple]:
    """The running totals' rows (indicator, community, street, building, n, positive)
    with the wave's test interviews added: the rehearsal view's sums. Reads the test
    interviews themselves (a rehearsal holds a few thousand at most)."""
    stmt = (
        select(
            Response.answers,
            Response.instrument_key,
            Response.instrument_version,
            Community.id,
            Community.street_id,
            Household.building_id,
        )
        .join(Household, Response.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .join(Community, Building.community_id == Community.id)
        .where(Response.wave_id == wave.id, review.shown_test_data())
    )
    if community_ids is not None:
        stmt = stmt.where(Community.id.in_(community_ids))
    sums: dict[tuple, list[int]] = {}
    for indicator, cid, sid, bid, n, positive in rows:
        cell = sums.setdefault((indicator, cid, sid, bid), [0, 0])
        cell[0] += n
        cell[1] += positive
    for answers, key, version, cid, sid, bid in session.exec(stmt).all():
        instrument = instrument_registry.get_instrument(key, version)
        if instrument is None:
            continue
        for indicator, value in instruments.indicator_values(instrument, answers or {}).items():
            if value is None:
                continue
            cell = sums.setdefault((indicator, cid, sid, bid), [0, 0])
            cell[0] += 1
            cell[1] += int(value)
    return [(*k, n, positive) for k, (n, positive) in sums.items() if n > 0]


__all__ = ["Generated", "MAX_COUNT", "generate", "remove", "count_test_data", "with_test_totals"]
