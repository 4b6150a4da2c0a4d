"""Waves (测评轮次): the open one and the list."""

from __future__ import annotations

from sqlalchemy.orm import defer
from sqlmodel import Session, select

from ..models import Wave, WaveCommunity, WaveStatus


def current_wave(*, session: Session, community_id: int | None = None) -> Wave | None:
    """The newest open wave (covering ``community_id`` when given and one does), or None."""
    stmt = (  # not the frozen inputs of closed waves: megabytes at city scale
        select(Wave)
        .where(Wave.status == WaveStatus.OPEN)
        .order_by(Wave.id.desc())
        .options(defer(Wave.frozen))
    )
    if community_id is not None:
        covering = session.exec(
            stmt.join(WaveCommunity, WaveCommunity.wave_id == Wave.id).where(
                WaveCommunity.community_id == community_id
            )
        ).first()
        if covering is not None:
            return covering
    return session.exec(stmt).first()


def covering(*, session: Session, waves: list[Wave], community_id: int) -> list[Wave]:
    """The waves that cover the community (waves from before designs cover every one)."""
    ids = set(
        session.exec(
            select(WaveCommunity.wave_id).where(WaveCommunity.community_id == community_id)
        ).all()
    )
    return [w for w in waves if w.design is None or w.id in ids]


def list_waves(*, session: Session) -> list[Wave]:
    return list(session.exec(select(Wave).order_by(Wave.id.desc()).options(defer(Wave.frozen))))


def open_waves(*, session: Session) -> list[Wave]:
    """Every open wave, newest first (several may be open: e.g. two streets)."""
    return list(
        session.exec(
            select(Wave).where(Wave.status == WaveStatus.OPEN).order_by(Wave.id.desc())
        ).all()
    )
