"""Simulated fieldwork for the demo city, so `make run` shows living result pages.

Two closed earlier waves (about six and three months ago) and the open current wave get
assignments, visit outcomes and completed interviews at rates between 88% and 100% that
improve from wave to wave (柳岸社区 and 竹溪社区 close to 99%) — each drawn by the
questionnaire's test interview generator (``instruments.generate_interviews``, the one
a rehearsal uses) at those rates — stored through
:func:`.simulate.store_response` — the same Response, Visit, ``aggregates.add_response``
and feedback rows as the sync path — so the running totals agree with the responses.
Residents' 问需/问计 of closed waves are moved along 发现 → 交办 → 整改 → 反馈 by the
secretaries. Population margins (age group, sex) per community allow raking.

In the current wave the canvassers' first building is left unvisited, so their lists
still have work to do. Runs once: an audit row ``seed.simulate`` marks it done.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, select

from .. import audit
from ..fieldwork import assign as wave_assign
from ..fieldwork import draw as wave_draw
from ..fieldwork import plan as wave_plan
from ..models import (
    Assignment,
    AuditLog,
    Building,
    Community,
    FeedbackEvent,
    FeedbackItem,
    FeedbackStatus,
    Household,
    PopulationMargin,
    Role,
    User,
    Visit,
    VisitOutcome,
    Wave,
    WaveStatus,
)
from .simulate import Rates, generated_answers, new_uuid, store_response

MARKER = "seed.simulate"
# (awareness, support, satisfaction) per community, for the waves oldest → current.
RATES = {
    "C0101": ((0.95, 0.95, 0.90), (0.97, 0.97, 0.93), (0.99, 0.985, 0.96)),
    "C0102": ((0.97, 0.97, 0.95), (0.985, 0.985, 0.97), (0.995, 0.995, 0.985)),
    "C0103": ((0.93, 0.94, 0.88), (0.95, 0.95, 0.91), (0.97, 0.96, 0.93)),
    "C0201": ((0.96, 0.96, 0.92), (0.98, 0.975, 0.95), (0.995, 0.99, 0.975)),
    "C0202": ((0.94, 0.93, 0.89), (0.96, 0.95, 0.92), (0.975, 0.97, 0.94)),
    "C0203": ((0.98, 0.98, 0.96), (0.99, 0.99, 0.975), (1.0, 0.995, 0.99)),
}
# Areas that pull satisfaction down (or up), relative to the overall rate.
AREA_SHIFT = {
    "dog_keeping": -0.07,
    "farmers_market": -0.05,
    "illegal_ads": -0.04,
    "traffic_order": -0.03,
    "neighbourhood_property": -0.02,
    "municipal_facilities": 0.0,
    "city_appearance": 0.01,
    "volunteer_service": 0.02,
    "government_service": 0.01,
}
OUTCOMES = (
    (VisitOutcome.NOT_HOME, 6),
    (VisitOutcome.REFUSED, 4),
    (VisitOutcome.VACANT, 3),
    (VisitOutcome.INELIGIBLE, 2),
)
AGE_SHARE = {"a16_29": 0.18, "a30_44": 0.27, "a45_59": 0.25, "a60_plus": 0.30}
SEX_SHARE = {"male": 0.49, "female": 0.51}


def simulate(*, session: Session, instrument, today: date, seed: int = 2026) -> bool:
    """Simulate the demo's fieldwork once; False when it was done before."""
    if session.exec(select(AuditLog.id).where(AuditLog.action == MARKER)).first() is not None:
        return False
    current = session.exec(
        select(Wave).where(Wave.status == WaveStatus.OPEN).order_by(Wave.id)
    ).first()
    if current is None:
        return False

    rng = random.Random(seed + 1)
    year = today.year
    closed = []
    for i, (quarter, start) in enumerate((("第二", 200), ("第三", 110))):
        wave = run_wave(
            session=session,
            instrument=instrument,
            name=f"{year}年{quarter}季度模拟测评",
            starts_on=today - timedelta(days=start),
            ends_on=today - timedelta(days=start - 28),
            seed=seed + 10 + i,
        )
        wave.created_at = _at(today - timedelta(days=start + 3), 9, 0)
        session.add(wave)
        closed.append((i, wave))
    session.commit()
    communities = {c.id: c for c in session.exec(select(Community)).all()}
    canvassers = {
        u.community_id: u
        for u in session.exec(select(User).where(User.role == Role.CANVASSER)).all()
    }
    admin = session.exec(select(User).where(User.role == Role.ADMIN)).first()
    secretaries = {
        u.community_id: u
        for u in session.exec(select(User).where(User.role == Role.SECRETARY)).all()
    }
    secretaries = {c: secretaries.get(c, admin) for c in communities}
    households = session.exec(
        select(Household, Building).join(Building, Household.building_id == Building.id)
    ).all()
    for index, wave in [*closed, (2, current)]:
        _fieldwork(
            session, instrument, rng, wave, index, households, communities, canvassers, today
        )
        session.flush()
        if wave.status == WaveStatus.OPEN and index < 2:
            session.commit()
            wave_plan.close_wave(session=session, wave=wave)  # frozen as a closed wave is
        _follow_up(session, rng, wave, index, secretaries, today)
    _margins(session, households)
    audit.record(session=session, action=MARKER, entity="demo", detail={"waves": 3})
    session.commit()
    return True


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def run_wave(
    *, session: Session, instrument, name: str, starts_on: date, ends_on: date, seed: int
) -> Wave:
    """A demo wave through the services a real city uses: plan, draw every household
    (全覆盖), assign by building to each community's canvassers, open."""
    wave = wave_plan.create_wave(
        session=session,
        plan=wave_plan.WavePlan(
            name=name,
            questionnaire=f"{instrument.key}:{instrument.version}",
            communities="all",
            starts_on=starts_on,
            ends_on=ends_on,
        ),
    )
    wave_draw.sample_wave(
        session=session, wave=wave, choice=wave_draw.DesignChoice("census", seed=seed)
    )
    wave_assign.assign_wave(session=session, wave=wave)
    return wave_plan.open_wave(session=session, wave=wave)


def _fieldwork(session, instrument, rng, wave, index, households, communities, canvassers, today):
    existing = {
        a.household_id: a
        for a in session.exec(select(Assignment).where(Assignment.wave_id == wave.id)).all()
    }
    is_current = index == 2  # the open wave: the first two are closed after fieldwork
    for hh, building in households:
        community = communities[hh.community_id]
        assignment = existing.get(hh.id)
        if assignment is None:
            continue  # not in the wave's sample
        if is_current and (building.code == "1栋" or rng.random() < 0.15):
            continue  # not visited yet
        day = wave.starts_on + timedelta(days=rng.randint(0, 6 if is_current else 25))
        day = min(day, today)
        at = _at(day, rng.randint(9, 19), rng.randint(0, 59))
        who = assignment.canvasser_id
        if rng.random() < 0.17:
            outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
            session.add(
                Visit(
                    uuid=new_uuid(rng),
                    assignment_id=assignment.id,
                    attempt=1,
                    outcome=outcome,
                    visited_at=at,
                    canvasser_id=who,
                )
            )
            continue
        aware, support, sat = RATES.get(community.code, RATES["C0101"])[index]
        rates = Rates(
            awareness=aware,
            support=support,
            satisfaction=sat,
            areas={a: min(1.0, sat + shift) for a, shift in AREA_SHIFT.items()},
            feedback=0.06,
        )
        store_response(
            session=session,
            instrument=instrument,
            assignment=assignment,
            canvasser_id=who,
            answers=generated_answers(instrument, rng, rates, today=day.isoformat()),
            at=at,
            uuid=new_uuid(rng),
        )


def _follow_up(session, rng, wave, index, secretaries, today):
    """Secretaries move residents' requests along: closed waves mostly 反馈 (answered)."""
    items = session.exec(select(FeedbackItem).where(FeedbackItem.wave_id == wave.id)).all()
    steps = (FeedbackStatus.ASSIGNED, FeedbackStatus.FIXING, FeedbackStatus.ANSWERED)
    notes = {
        FeedbackStatus.ASSIGNED: "已交网格员和物业跟进",
        FeedbackStatus.FIXING: "正在整改,预计两周内完成",
        FeedbackStatus.ANSWERED: "已整改完毕,已向居民反馈",
    }
    for item in items:
        secretary = secretaries.get(item.community_id)
        if secretary is None:
            continue
        if wave.status == WaveStatus.OPEN:
            go = 1 if rng.random() < 0.3 else 0
        else:
            go = 3 if rng.random() < 0.85 else 2
        at = item.created_at if item.created_at.tzinfo else item.created_at.replace(tzinfo=UTC)
        for step in steps[:go]:
            at = min(at + timedelta(days=rng.randint(1, 6)), _at(today, 8, 0))
            session.add(
                FeedbackEvent(
                    item_id=item.id,
                    from_status=item.status,
                    to_status=step,
                    user_id=secretary.id,
                    note=notes[step],
                    at=at,
                )
            )
            item.status = step
            item.updated_at = at
            if step == FeedbackStatus.ASSIGNED:
                item.assignee = "网格员"
        session.add(item)


def _margins(session, households):
    """Residents per community by age group and by sex (about 2.4 adults per household)."""
    sizes: dict[int, int] = {}
    for hh, _ in households:
        sizes[hh.community_id] = sizes.get(hh.community_id, 0) + 1
    have = {
        (m.community_id, m.variable, m.category)
        for m in session.exec(select(PopulationMargin)).all()
    }
    for community_id, n in sorted(sizes.items()):
        people = round(n * 2.4)
        for variable, shares in (("age_group", AGE_SHARE), ("sex", SEX_SHARE)):
            counts = {c: round(people * share) for c, share in shares.items()}
            last = list(counts)[-1]
            counts[last] = people - sum(v for c, v in counts.items() if c != last)  # same total
            for category, count in counts.items():
                if (community_id, variable, category) not in have:
                    session.add(
                        PopulationMargin(
                            community_id=community_id,
                            variable=variable,
                            category=category,
                            count=count,
                        )
                    )
