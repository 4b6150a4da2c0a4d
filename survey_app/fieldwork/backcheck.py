"""回访核查 (back-checks): a reproducible random share of each canvasser's completed
interviews is re-contacted — by another canvasser of the community, or by phone when
there is none — with a short questionnaire: did someone interview this household, and
3–5 key questions asked again. Agreement is reported per canvasser and per item; a
back-check that contradicts the interview flags it for review. Method: docs/quality.md.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from .. import audit, instrument_registry, scope
from ..errors import Forbidden, NotFound, ServiceError
from ..models import (
    Assignment,
    BackCheck,
    QualityFlag,
    Response,
    ReviewState,
    Role,
    User,
    Wave,
    WaveQuality,
)
from ..models._types import utcnow
from . import review

MAX_ITEMS = 5
CONTRADICTION_MIN = 2  # re-asked answers that differ before a back-check contradicts
CODE = "backcheck_contradiction"


def key_items(instrument) -> list[str]:
    """The items asked again: the headline indicators' items (知晓/支持/满意), then the
    profile's age group and sex (stable facts a household member can confirm), ≤ 5."""
    names = [i.item for i in instrument.indicators if i.kind == "headline"]
    names += [instrument.profile[k] for k in ("age_group", "sex") if k in instrument.profile]
    out: list[str] = []
    for name in names:
        if name not in out and instrument.has_item(name):
            out.append(name)
    return out[:MAX_ITEMS]


def draw_sample(
    ids_by_canvasser: Mapping[int, list[int]], share: float, seed: int
) -> dict[int, list[int]]:
    """Pure: for each canvasser, ``ceil(share × n)`` of their interview ids, drawn at
    random with a generator seeded by (seed, canvasser): the same data and seed give the
    same draw, and one canvasser's draw does not depend on another's."""
    out = {}
    for canvasser, ids in sorted(ids_by_canvasser.items()):
        k = min(len(ids), math.ceil(share * len(ids) - 1e-9))
        rng = random.Random(f"{seed}:{canvasser}")
        out[canvasser] = sorted(rng.sample(sorted(ids), k))
    return out


def _reviewer(user: User) -> review.Level:
    return review.level_of(user)


def draw(
    *,
    session: Session,
    user: User,
    wave_id: int,
    share: float | None = None,
    seed: int | None = None,
) -> list[BackCheck]:
    """Draw the wave's back-checks (supervisors for their scope, analysts for all):
    ``share`` (default the wave's, 10%) of each canvasser's completed interviews that are
    not rejected. Interviews drawn before stay drawn; returns the new back-checks."""
    _reviewer(user)
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound("找不到该测评轮次。")
    settings = session.get(WaveQuality, wave_id) or review.settings_for(
        session=session, wave_id=wave_id
    )
    if share is not None:
        if not 0 < share <= 1:
            raise ServiceError("抽查比例应在 0 到 100% 之间(不含 0)。", status=422)
        settings.backcheck_share = share
    if seed is not None:
        settings.backcheck_seed = seed
    session.add(settings)
    instrument = instrument_registry.get_instrument(wave.instrument_key, wave.instrument_version)
    items = key_items(instrument) if instrument else []
    rows = session.exec(
        select(Response.id, Response.canvasser_id, Response.community_id).where(
            Response.wave_id == wave_id,
            Response.review_state != ReviewState.REJECTED,
            scope.community_filter(user, Response.community_id),
            review.not_test_data(),
        )
    ).all()
    ids: dict[int, list[int]] = defaultdict(list)
    community_of: dict[int, int] = {}
    for response_id, canvasser_id, community_id in rows:
        if canvasser_id is not None:
            ids[canvasser_id].append(response_id)
            community_of[response_id] = community_id
    drawn = draw_sample(ids, settings.backcheck_share, settings.backcheck_seed)
    existing = set(
        session.exec(select(BackCheck.response_id).where(BackCheck.wave_id == wave_id)).all()
    )
    checkers = _checkers(session, wave_id)
    new = []
    for canvasser_id, chosen in drawn.items():
        for n, response_id in enumerate(chosen):
            if response_id in existing:
                continue
            others = [c for c in checkers.get(community_of[response_id], []) if c != canvasser_id]
            checker = others[(canvasser_id + n) % len(others)] if others else None
            bc = BackCheck(wave_id=wave_id, response_id=response_id, canvasser_id=canvasser_id,
                           checker_id=checker, mode="visit" if checker else "phone",
                           items=items, drawn_at=utcnow())  # fmt: skip
            session.add(bc)
            new.append(bc)
    audit.record(session=session, action="draw_backchecks", entity="wave", entity_id=wave_id,
                 user_id=user.id, detail={"share": settings.backcheck_share,
                                          "seed": settings.backcheck_seed, "drawn": len(new)})  # fmt: skip
    session.commit()
    return new


def _checkers(session: Session, wave_id: int) -> dict[int, list[int]]:
    """The canvassers working in each community of the wave (who may re-visit)."""
    rows = session.exec(
        select(Assignment.community_id, Assignment.canvasser_id)
        .where(Assignment.wave_id == wave_id, Assignment.canvasser_id.is_not(None))
        .distinct()
    ).all()
    out: dict[int, list[int]] = defaultdict(list)
    for community_id, canvasser_id in rows:
        out[community_id].append(canvasser_id)
    return {k: sorted(v) for k, v in out.items()}


def visible_checks(*, session: Session, user: User, wave_id: int) -> list[BackCheck]:
    """Reviewers: the back-checks in their scope; a canvasser: those assigned to them."""
    query = select(BackCheck).where(BackCheck.wave_id == wave_id).order_by(BackCheck.id)
    if user.role == Role.CANVASSER:
        query = query.where(BackCheck.checker_id == user.id)
    else:
        _reviewer(user)
        query = query.join(Response, BackCheck.response_id == Response.id).where(
            scope.community_filter(user, Response.community_id)
        )
    return list(session.exec(query).all())


def get_check(*, session: Session, user: User, check_id: int) -> BackCheck:
    bc = session.get(BackCheck, check_id)
    if bc is None:
        raise NotFound("找不到该回访核查。")
    if user.role == Role.CANVASSER:
        if bc.checker_id != user.id:
            raise NotFound("找不到该回访核查。")
        return bc
    _reviewer(user)
    scope.require_community(
        user, session.get(Response, bc.response_id).community_id, session=session
    )
    return bc


def compare(
    original: Mapping[str, Any], again: Mapping[str, Any], items: list[str]
) -> dict[str, bool]:
    """Pure: for each re-asked item answered in both, whether the answers agree."""
    return {
        name: original.get(name) == again.get(name)
        for name in items
        if again.get(name) not in (None, "") and original.get(name) not in (None, "")
    }


def contradicts(visited: bool | None, agreement: Mapping[str, bool]) -> bool:
    """The household says nobody interviewed it, or CONTRADICTION_MIN re-asked answers
    differ (one alone is within the usual test–retest difference)."""
    return visited is False or sum(not ok for ok in agreement.values()) >= CONTRADICTION_MIN


def record(
    *,
    session: Session,
    user: User,
    check_id: int,
    visited: bool | None,
    answers: Mapping[str, Any],
    note: str | None = None,
) -> BackCheck:
    """Record a back-check's answers; flag the interview when they contradict it."""
    bc = get_check(session=session, user=user, check_id=check_id)
    if bc.state == "done":
        raise ServiceError("该回访核查已记录。", status=409)
    if visited is None:
        raise ServiceError("请选择住户是否接受过本轮访问。", status=422)
    response = session.get(Response, bc.response_id)
    instrument = instrument_registry.get_instrument(
        response.instrument_key, response.instrument_version
    )
    again: dict[str, Any] = {}
    for name in bc.items:
        value = answers.get(name)
        if value in (None, ""):
            continue
        if instrument is not None and not instrument.is_code(instrument.item(name), value):
            raise ServiceError(f"第“{name}”题的答案 {value!r} 不在选项中。", status=422)
        again[name] = value
    if visited and not again:
        raise ServiceError("请至少重新询问一道核查题。", status=422)
    bc.visited = visited
    bc.answers = again
    bc.agreement = compare(response.answers or {}, again, bc.items) if visited else {}
    bc.contradicts = contradicts(visited, bc.agreement)
    bc.note = (note or "").strip()[:1000] or None
    bc.state = "done"
    bc.done_at = utcnow()
    bc.done_by = user.id
    session.add(bc)
    if bc.contradicts:
        session.add(QualityFlag(wave_id=bc.wave_id, response_id=response.id,
                                canvasser_id=response.canvasser_id, code=CODE,
                                detail={"visited": visited, "agreement": bc.agreement,
                                        "backcheck_id": bc.id}))  # fmt: skip
        response.quality_flags = sorted(set(response.quality_flags or []) | {CODE})
        session.add(response)
    audit.record(session=session, action="record_backcheck", entity="response",
                 entity_id=response.uuid, user_id=user.id,
                 detail={"visited": visited, "agreement": bc.agreement,
                         "contradicts": bc.contradicts})  # fmt: skip
    session.commit()
    return bc


@dataclass(frozen=True)
class Agreement:
    """Share of re-asked answers that agreed, and contradictions, per canvasser / item."""

    key: Any
    checks: int
    compared: int
    agreed: int
    contradictions: int

    @property
    def share(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


def agreement(checks: list[BackCheck]) -> tuple[list[Agreement], list[Agreement]]:
    """Pure: (per canvasser, per item) agreement of the done back-checks."""
    per_canvasser: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    per_item: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for bc in checks:
        if bc.state != "done":
            continue
        cell = per_canvasser[bc.canvasser_id]
        cell[0] += 1
        cell[3] += bc.contradicts
        for name, ok in (bc.agreement or {}).items():
            cell[1] += 1
            cell[2] += ok
            item = per_item[name]
            item[0] += 1
            item[1] += 1
            item[2] += ok
            item[3] += bc.contradicts and not ok
    return (
        [Agreement(k, *v) for k, v in sorted(per_canvasser.items(), key=lambda kv: str(kv[0]))],
        [Agreement(k, *v) for k, v in per_item.items()],
    )


def summary(*, session: Session, user: User, wave_id: int) -> dict[str, Any]:
    """The back-check page: the checks in scope, agreement per canvasser and per item."""
    if user.role == Role.CANVASSER:
        raise Forbidden("只有督导和创文办可以查看核查汇总。")
    checks = visible_checks(session=session, user=user, wave_id=wave_id)
    per_canvasser, per_item = agreement(checks)
    names = dict(session.exec(select(User.id, User.display_name)).all())
    settings = review.settings_for(session=session, wave_id=wave_id)
    return {
        "checks": checks,
        "per_canvasser": per_canvasser,
        "per_item": per_item,
        "names": names,
        "share": settings.backcheck_share,
        "seed": settings.backcheck_seed,
    }


def form_data(*, session: Session, check: BackCheck, lang: str = "zh") -> dict[str, Any]:
    """The back-check questionnaire: the household and the re-asked questions with their
    choices — never the original answers (the checker asks blind)."""
    from ..models import Building, Household

    response = session.get(Response, check.response_id)
    household = session.get(Household, response.household_id) if response.household_id else None
    building = session.get(Building, household.building_id) if household else None
    instrument = instrument_registry.get_instrument(
        response.instrument_key, response.instrument_version
    )
    questions = []
    for name in check.items:
        if instrument is None or not instrument.has_item(name):
            continue
        item = instrument.item(name)
        if item.choices:
            options = [(c.code, c.label.get(lang)) for c in instrument.choice_lists[item.choices]]
        else:
            yes, no = item.yes_label, item.no_label
            options = [
                ("yes", yes.get(lang) if yes else "是"),
                ("no", no.get(lang) if no else "否"),
            ]
        questions.append({"name": name, "label": item.label.get(lang), "options": options})
    return {
        "household": f"{building.code if building else ''} · {household.code if household else ''}",
        "questions": questions,
        "response": response,
    }
