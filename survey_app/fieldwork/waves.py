"""Waves (测评轮次): the open one and the list."""

from __future__ import annotations

from sqlmodel import Session, select

from ..models import Wave, WaveStatus


def current_wave(*, session: Session) -> Wave | None:
    """The newest open wave, or None."""
    return session.exec(
        select(Wave).where(Wave.status == WaveStatus.OPEN).order_by(Wave.id.desc())
    ).first()


def list_waves(*, session: Session) -> list[Wave]:
    return list(session.exec(select(Wave).order_by(Wave.id.desc())).all())


def open_waves(*, session: Session) -> list[Wave]:
    """Every open wave, newest first (several may be open: e.g. two streets)."""
    return list(
        session.exec(
            select(Wave).where(Wave.status == WaveStatus.OPEN).order_by(Wave.id.desc())
        ).all()
    )
