"""A wave's life: create and edit while draft, open, close (frozen), archive.

Several waves may be open at once (two streets on different questionnaires). A draft is
edited freely; an open wave accepts visits and interviews between its dates; a closed
wave is read-only and its estimation inputs are frozen (:mod:`.design`); an archived
wave is closed and hidden from the default lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from .. import audit, instrument_registry
from ..errors import NotFound, ServiceError
from ..models import Community, InstrumentVersion, Street, Wave, WaveCommunity, WaveStatus
from ..models._types import utcnow
from . import design as wave_design
from . import draw as wave_draw


@dataclass(frozen=True)
class WavePlan:
    """What an analyst fills in for a wave (every field checked by :func:`check_plan`)."""

    name: str
    questionnaire: str  # "key:version"
    communities: str  # "all" or "CODE,CODE" (community or street codes)
    target: float = 0.99
    confidence: float = 0.95
    starts_on: date | None = None
    ends_on: date | None = None
    max_attempts: int = 3


def get_wave(*, session: Session, wave_id: int) -> Wave:
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(f"找不到测评轮次 {wave_id}。")
    return wave


def parse_questionnaire(text: str) -> tuple[str, str]:
    """``key:version`` of a published questionnaire (the version is required)."""
    key, sep, version = (text or "").strip().partition(":")
    if not sep or not key or not version:
        raise ServiceError(f"问卷应写作“编号:版本”,例如 household:1,而不是“{text}”。")
    if instrument_registry.get_instrument(key, version) is None:
        raise ServiceError(f"找不到已发布的问卷 {key} 第 {version} 版。")
    return key, version


def published_questionnaires(*, session: Session) -> list[str]:
    """Every published ``key:version`` the app can serve, newest first."""
    found = {
        f"{k}:{v}"
        for k, v in session.exec(select(InstrumentVersion.key, InstrumentVersion.version))
    }
    for key, inst in instrument_registry.all_instruments().items():
        found.add(f"{key}:{inst.version}")
    usable = [q for q in found if instrument_registry.get_instrument(*q.split(":", 1)) is not None]
    return sorted(usable, reverse=True)


def resolve_communities(*, session: Session, codes: str) -> list[Community]:
    """``all`` or community / street codes separated by commas → the active communities
    (a deactivated community named by its code is refused)."""
    text = (codes or "").strip()
    if not text:
        raise ServiceError("请选择本轮覆盖的社区或街道(或 all 表示全部)。")
    if text.lower() == "all":
        found = list(
            session.exec(select(Community).where(Community.active).order_by(Community.code)).all()
        )
        if not found:
            raise ServiceError("还没有在用的社区:请先导入地理信息。")
        return found
    out: dict[int, Community] = {}
    for code in [c.strip() for c in text.replace(",", ",").split(",") if c.strip()]:
        community = session.exec(select(Community).where(Community.code == code)).first()
        if community is not None:
            if not community.active:
                raise ServiceError(f"社区“{code}”已停用,不能纳入新的轮次。")
            out[community.id] = community
            continue
        street = session.exec(select(Street).where(Street.code == code)).first()
        if street is None:
            raise ServiceError(f"找不到社区或街道“{code}”。")
        # A deactivated community keeps its history but drops out of new waves.
        for c in session.exec(
            select(Community).where(Community.street_id == street.id, Community.active)
        ):
            out[c.id] = c
    return sorted(out.values(), key=lambda c: c.code)


def check_plan(plan: WavePlan) -> None:
    if not plan.name.strip():
        raise ServiceError("请填写轮次名称。")
    if len(plan.name) > 100:
        raise ServiceError("轮次名称最多 100 个字。")
    if not 0.5 <= plan.target < 1:
        raise ServiceError("目标值应在 50% 与 100% 之间(例如 0.99)。")
    if not 0.5 <= plan.confidence < 1:
        raise ServiceError("置信水平应在 50% 与 100% 之间(例如 0.95)。")
    if plan.starts_on and plan.ends_on and plan.ends_on < plan.starts_on:
        raise ServiceError("结束日期早于开始日期。")
    if not 1 <= plan.max_attempts <= 10:
        raise ServiceError("最多走访次数应在 1 到 10 之间。")


def create_wave(*, session: Session, plan: WavePlan, user_id: int | None = None) -> Wave:
    """A new draft wave covering the plan's communities."""
    check_plan(plan)
    key, version = parse_questionnaire(plan.questionnaire)
    communities = resolve_communities(session=session, codes=plan.communities)
    wave = Wave(
        name=plan.name.strip(),
        instrument_key=key,
        instrument_version=version,
        target=plan.target,
        confidence=plan.confidence,
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        max_attempts=plan.max_attempts,
        status=WaveStatus.DRAFT,
    )
    session.add(wave)
    session.flush()
    for c in communities:
        session.add(WaveCommunity(wave_id=wave.id, community_id=c.id))
    audit.record(session=session, action="wave.create", entity="wave", entity_id=wave.id,
                 user_id=user_id, detail={"name": wave.name, "communities": len(communities)})  # fmt: skip
    session.commit()
    return wave


def update_wave(
    *, session: Session, wave: Wave, plan: WavePlan, user_id: int | None = None
) -> Wave:
    """Change a draft. Changing the communities of a drawn draft discards its sample."""
    require_status(wave, WaveStatus.DRAFT, "只有草稿状态的轮次可以修改。")
    check_plan(plan)
    key, version = parse_questionnaire(plan.questionnaire)
    communities = resolve_communities(session=session, codes=plan.communities)
    wave.name, wave.instrument_key, wave.instrument_version = plan.name.strip(), key, version
    wave.target, wave.confidence, wave.max_attempts = (
        plan.target,
        plan.confidence,
        plan.max_attempts,
    )
    wave.starts_on, wave.ends_on = plan.starts_on, plan.ends_on
    have = {wc.community_id: wc for wc in covered(session=session, wave=wave)}
    want = {c.id for c in communities}
    if set(have) != want:
        wave_draw.discard_sample(session=session, wave=wave)  # it no longer fits the frame
        for cid, wc in have.items():
            if cid not in want:
                session.delete(wc)
        for cid in want - set(have):
            session.add(WaveCommunity(wave_id=wave.id, community_id=cid))
    session.add(wave)
    audit.record(session=session, action="wave.update", entity="wave", entity_id=wave.id,
                 user_id=user_id, detail={"name": wave.name})  # fmt: skip
    session.commit()
    return wave


def covered(*, session: Session, wave: Wave) -> list[WaveCommunity]:
    return list(
        session.exec(
            select(WaveCommunity)
            .where(WaveCommunity.wave_id == wave.id)
            .order_by(WaveCommunity.community_id)
        ).all()
    )


def require_status(wave: Wave, status: str, message: str) -> None:
    if wave.status != status:
        raise ServiceError(message, status=409)


def open_wave(*, session: Session, wave: Wave, user_id: int | None = None) -> Wave:
    """Draft → open: canvassers' tablets now show its released, assigned households."""
    require_status(wave, WaveStatus.DRAFT, f"轮次“{wave.name}”不是草稿,不能开启。")
    if wave.released < 1:
        raise ServiceError("请先抽取样本(或选择全覆盖),再开启轮次。", status=409)
    wave.status = WaveStatus.OPEN
    wave.opened_at = utcnow()
    session.add(wave)
    audit.record(
        session=session, action="wave.open", entity="wave", entity_id=wave.id, user_id=user_id
    )
    session.commit()
    return wave


def close_wave(*, session: Session, wave: Wave, user_id: int | None = None) -> Wave:
    """Open → closed: no more data; the estimation inputs are frozen as they stand."""
    require_status(wave, WaveStatus.OPEN, f"轮次“{wave.name}”不在进行中,不能结束。")
    wave.status = WaveStatus.CLOSED
    wave.closed_at = utcnow()
    wave.frozen = wave_design.snapshot(session=session, wave=wave)
    wave.frozen_at = wave.closed_at
    session.add(wave)
    audit.record(
        session=session, action="wave.close", entity="wave", entity_id=wave.id, user_id=user_id
    )
    session.commit()
    return wave


def refreeze(*, session: Session, wave: Wave, user_id: int | None = None, reason: str = "") -> Wave:
    """Recompute a closed wave's frozen figures (e.g. after reviews); audited."""
    if wave.status not in (WaveStatus.CLOSED, WaveStatus.ARCHIVED):
        raise ServiceError("只有已结束的轮次需要重新计算。", status=409)
    before = (wave.frozen or {}).get("responses")
    wave.frozen = wave_design.snapshot(session=session, wave=wave)
    wave.frozen_at = utcnow()
    session.add(wave)
    audit.record(session=session, action="wave.recompute", entity="wave", entity_id=wave.id,
                 user_id=user_id, detail={"reason": reason[:200], "responses_before": before,
                                          "responses_after": wave.frozen.get("responses")})  # fmt: skip
    session.commit()
    return wave


def archive_wave(*, session: Session, wave: Wave, user_id: int | None = None) -> Wave:
    require_status(wave, WaveStatus.CLOSED, "只有已结束的轮次可以归档。")
    wave.status = WaveStatus.ARCHIVED
    session.add(wave)
    audit.record(
        session=session, action="wave.archive", entity="wave", entity_id=wave.id, user_id=user_id
    )
    session.commit()
    return wave


def parse_date(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ServiceError(f"{what}应写作 2026-11-24 的形式,而不是“{text}”。") from None
