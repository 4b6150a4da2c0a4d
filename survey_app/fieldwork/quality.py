"""Quality flags over a wave, stored for review, and the canvasser quality page.

Flags are computed twice: when an interview arrives (``arrival_flags``: from the
submission alone, in the sync path — too fast, straight-lined) and by the wave pass
(``refresh_flags``), which reads every interview of the wave with the wave's thresholds and
adds what only shows across interviews: a canvasser's day (bursts, odd hours), repeated
answer patterns, positions, shared tablets, and canvassers whose 满意率 or 说不清 share
differs from their community's others beyond chance. The pass runs when a reviewer opens
the queue after new interviews or revisions arrived, and from ``flask review flags``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, false, func, insert
from sqlmodel import Session, select

from .. import audit, instrument_registry, scope
from ..errors import ServiceError
from ..models import (
    BackCheck,
    Household,
    QualityFlag,
    Response,
    ResponseRevision,
    ReviewEvent,
    ReviewState,
    User,
    Visit,
    Wave,
    WaveQuality,
)
from ..models._types import utcnow
from . import review
from .quality_rules import (
    FLAG_LABELS,
    Interview,
    Thresholds,
    bursts,
    interview_flags,
    outliers,
    positions,
    repeated_patterns,
    shared_devices,
    straight_lined,
    too_fast,  # noqa: F401 (re-exported)
)

KEPT_CODES = ("clock_skew",)  # set on arrival from the server's clock; the pass keeps them
BACKCHECK_CODE = "backcheck_contradiction"  # set by back-checks (backcheck.py)


def thresholds_for(*, session: Session, wave_id: int) -> Thresholds:
    settings = review.settings_for(session=session, wave_id=wave_id)
    try:
        return Thresholds.from_settings(settings.thresholds)
    except ValueError:
        return Thresholds()  # stored overrides were checked when saved; never fail a page


def save_thresholds(
    *, session: Session, user: User, wave_id: int, overrides: dict[str, Any]
) -> Thresholds:
    """Set a wave's threshold overrides (analysts and admins); 422 naming a bad one."""
    if review.level_of(user) is not review.Level.HQ:
        raise ServiceError("只有创文办分析员和管理员可以修改阈值。", status=403)
    if session.get(Wave, wave_id) is None:
        raise ServiceError("找不到该测评轮次。", status=404)
    defaults = Thresholds().to_dict()
    cleaned = {k: v for k, v in overrides.items() if v not in (None, "")}
    try:
        thresholds = Thresholds.from_settings(cleaned)
    except ValueError as err:
        raise ServiceError(str(err), status=422) from None
    changed = {k: v for k, v in thresholds.to_dict().items() if v != defaults[k]}
    settings = session.get(WaveQuality, wave_id) or review.settings_for(
        session=session, wave_id=wave_id
    )
    settings.thresholds = {k: list(v) if isinstance(v, tuple) else v for k, v in changed.items()}
    settings.flags_at = None  # recompute with the new thresholds
    session.add(settings)
    audit.record(session=session, action="set_thresholds", entity="wave", entity_id=wave_id,
                 user_id=user.id, detail=settings.thresholds)  # fmt: skip
    session.commit()
    return thresholds


def arrival_flags(instrument, answers) -> list[str]:
    """Flags a submission's answers earn on their own (default thresholds), set in the
    sync path next to ``too_fast`` and ``clock_skew`` (canvass/sync.py); the wave pass
    re-decides them all with the wave's thresholds."""
    if instrument is not None and straight_lined(instrument, answers, _DEFAULTS):
        return ["straight_line"]
    return []


_DEFAULTS = Thresholds()  # frozen: one for every arrival


# --- the wave pass ---------------------------------------------------------------------------


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _latest_arrival(session: Session, wave_id: int) -> datetime | None:
    latest = session.exec(
        select(func.max(Response.received_at)).where(Response.wave_id == wave_id)
    ).one()
    revised = session.exec(
        select(func.max(ResponseRevision.received_at))
        .join(Response, ResponseRevision.response_id == Response.id)
        .where(Response.wave_id == wave_id)
    ).one()
    moments = [_aware(m) for m in (latest, revised) if m is not None]
    return max(moments) if moments else None


def is_stale(*, session: Session, wave_id: int) -> bool:
    settings = review.settings_for(session=session, wave_id=wave_id)
    latest = _latest_arrival(session, wave_id)
    if latest is None:
        return False
    return settings.flags_at is None or _aware(settings.flags_at) < latest


def _interviews(session: Session, wave_id: int) -> tuple[list[Interview], dict[int, list]]:
    rows = session.exec(
        select(Response.id, Response.canvasser_id, Response.community_id,
               Response.household_id, Household.building_id, Response.answers,
               Response.started_at, Response.submitted_at, Response.device,
               Visit.latitude, Visit.longitude, Response.quality_flags)
        .outerjoin(Household, Response.household_id == Household.id)
        .outerjoin(Visit, Visit.uuid == Response.uuid)
        .where(Response.wave_id == wave_id, Response.is_test == false())  # never test data
        .order_by(Response.id)
    ).all()  # fmt: skip
    interviews, stored = [], {}
    for row in rows:
        interviews.append(
            Interview(
                *row[:5],
                answers=row[5] or {},
                started_at=_aware(row[6]),
                submitted_at=_aware(row[7]),
                device=row[8],
                latitude=row[9],
                longitude=row[10],
            )  # fmt: skip
        )
        stored[row[0]] = list(row[11] or [])
    return interviews, stored


def refresh_flags(*, session: Session, wave_id: int, tz: str = "Asia/Shanghai") -> int:
    """Recompute the wave's flags with its thresholds; store them (replacing the previous
    pass's, keeping back-check flags) and each interview's list of codes. Returns the
    number of flags stored."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise ServiceError("找不到该测评轮次。", status=404)
    zone = ZoneInfo(tz)
    t = thresholds_for(session=session, wave_id=wave_id)
    instrument = instrument_registry.get_instrument(wave.instrument_key, wave.instrument_version)
    interviews, stored = _interviews(session, wave_id)
    flags: dict[int, dict[str, dict]] = defaultdict(dict)
    for iv in interviews:
        flags[iv.id].update(interview_flags(iv, instrument, t, tz=zone, starts_on=wave.starts_on,
                                            ends_on=wave.ends_on))  # fmt: skip
    for found in (repeated_patterns(interviews, instrument, t), bursts(interviews, t),
                  positions(interviews, t), shared_devices(interviews)):  # fmt: skip
        for interview_id, codes in found.items():
            flags[interview_id].update(codes)
    now = utcnow()
    by_id = {iv.id: iv for iv in interviews}
    rows = []
    for interview_id, codes in flags.items():
        iv = by_id[interview_id]
        moment = iv.started_at or iv.submitted_at
        day = moment.astimezone(zone).date() if moment else None
        for code, detail in codes.items():
            rows.append({"wave_id": wave_id, "response_id": interview_id,
                         "canvasser_id": iv.canvasser_id, "code": code, "detail": detail,
                         "day": day, "computed_at": now})  # fmt: skip
    for o in outliers(interviews, instrument, t):
        rows.append({"wave_id": wave_id, "response_id": None, "canvasser_id": o.canvasser_id,
                     "code": o.code, "detail": {**o.detail(), "community_id": o.community_id},
                     "day": None, "computed_at": now})  # fmt: skip
    session.exec(
        delete(QualityFlag).where(
            QualityFlag.wave_id == wave_id, QualityFlag.code != BACKCHECK_CODE
        )
    )
    if rows:
        session.connection().execute(insert(QualityFlag.__table__), rows)
    backchecked = set(
        session.exec(
            select(QualityFlag.response_id).where(
                QualityFlag.wave_id == wave_id, QualityFlag.code == BACKCHECK_CODE
            )
        ).all()
    )
    for iv in interviews:
        codes = set(flags.get(iv.id, {})) | {c for c in stored[iv.id] if c in KEPT_CODES}
        if iv.id in backchecked:
            codes.add(BACKCHECK_CODE)
        if sorted(codes) != sorted(stored[iv.id]):
            session.get(Response, iv.id).quality_flags = sorted(codes)
    settings = session.get(WaveQuality, wave_id) or review.settings_for(
        session=session, wave_id=wave_id
    )
    settings.flags_at = now
    session.add(settings)
    session.commit()
    return len(rows)


def ensure_fresh(*, session: Session, wave_id: int, tz: str = "Asia/Shanghai") -> None:
    if is_stale(session=session, wave_id=wave_id):
        refresh_flags(session=session, wave_id=wave_id, tz=tz)


def flags_of(*, session: Session, response_id: int) -> list[QualityFlag]:
    return list(
        session.exec(
            select(QualityFlag)
            .where(QualityFlag.response_id == response_id)
            .order_by(QualityFlag.code)
        ).all()
    )


def canvasser_flags(*, session: Session, wave_id: int, canvasser_id: int) -> list[QualityFlag]:
    return list(
        session.exec(
            select(QualityFlag).where(
                QualityFlag.wave_id == wave_id,
                QualityFlag.canvasser_id == canvasser_id,
                QualityFlag.response_id.is_(None),
            )
        ).all()
    )


# --- the canvasser quality page -----------------------------------------------------------------


@dataclass(frozen=True)
class CanvasserQuality:
    canvasser_id: int
    name: str
    interviews: int
    flagged: int
    flags: dict[str, int]
    canvasser_flags: list[QualityFlag]
    rejections: int
    rejected_now: int
    approved: int
    backchecks_done: int
    backcheck_agreement: float | None  # share of re-asked items that agreed
    backcheck_contradictions: int

    @property
    def flagged_share(self) -> float | None:
        return self.flagged / self.interviews if self.interviews else None


def canvasser_quality(
    *, session: Session, user: User, wave_id: int, tz: str = "Asia/Shanghai"
) -> list[CanvasserQuality]:
    """Per canvasser in the user's scope: interviews, flags, rejections, back-check
    agreement (supervisors and analysts)."""
    review.level_of(user)
    ensure_fresh(session=session, wave_id=wave_id, tz=tz)
    visible = and_(scope.community_filter(user, Response.community_id), review.not_test_data())
    rows = session.exec(
        select(
            Response.id, Response.canvasser_id, Response.review_state, Response.quality_flags
        ).where(Response.wave_id == wave_id, visible)
    ).all()
    per: dict[int, dict[str, Any]] = {}
    for response_id, canvasser_id, state, codes in rows:
        if canvasser_id is None:
            continue
        cell = per.setdefault(canvasser_id, {"n": 0, "flagged": 0, "flags": defaultdict(int),
                                             "rejected_now": 0, "approved": 0, "ids": []})  # fmt: skip
        cell["n"] += 1
        cell["ids"].append(response_id)
        cell["flagged"] += bool(codes)
        for code in codes or []:
            cell["flags"][code] += 1
        cell["rejected_now"] += state == ReviewState.REJECTED
        cell["approved"] += state in review.APPROVED
    rejections = dict(
        session.exec(
            select(Response.canvasser_id, func.count())
            .join(ReviewEvent, ReviewEvent.response_id == Response.id)
            .where(Response.wave_id == wave_id, ReviewEvent.action == review.Action.REJECT, visible)
            .group_by(Response.canvasser_id)
        ).all()
    )
    checks: dict[int, list[BackCheck]] = defaultdict(list)
    for bc in session.exec(
        select(BackCheck).where(BackCheck.wave_id == wave_id, BackCheck.state == "done")
    ).all():
        checks[bc.canvasser_id].append(bc)
    names = dict(
        session.exec(select(User.id, User.display_name).where(User.id.in_(list(per)))).all()
    )
    out = []
    for canvasser_id, cell in sorted(per.items(), key=lambda kv: names.get(kv[0], "")):
        done = checks.get(canvasser_id, [])
        agreed = [ok for bc in done for ok in (bc.agreement or {}).values()]
        out.append(
            CanvasserQuality(
                canvasser_id=canvasser_id,
                name=names.get(canvasser_id, str(canvasser_id)),
                interviews=cell["n"],
                flagged=cell["flagged"],
                flags=dict(cell["flags"]),
                canvasser_flags=canvasser_flags(
                    session=session, wave_id=wave_id, canvasser_id=canvasser_id
                ),  # fmt: skip
                rejections=rejections.get(canvasser_id, 0),
                rejected_now=cell["rejected_now"],
                approved=cell["approved"],
                backchecks_done=len(done),
                backcheck_agreement=sum(agreed) / len(agreed) if agreed else None,
                backcheck_contradictions=sum(bc.contradicts for bc in done),
            )
        )
    return out


__all__ = ["FLAG_LABELS", "CanvasserQuality", "Thresholds", "arrival_flags", "canvasser_quality",
           "ensure_fresh", "refresh_flags", "save_thresholds", "thresholds_for"]  # fmt: skip
