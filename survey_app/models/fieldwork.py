"""测评轮次 (waves), assignments of households to canvassers, and visit attempts."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._types import timestamp


class WaveStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class VisitOutcome(StrEnum):
    COMPLETED = "completed"  # 完成
    NOT_HOME = "not_home"  # 不在家
    REFUSED = "refused"  # 拒访
    VACANT = "vacant"  # 空置
    INELIGIBLE = "ineligible"  # 不符合条件


class Wave(SQLModel, table=True):
    """测评轮次: one round of the mock survey, answering one instrument version."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    instrument_key: str = Field(max_length=64)
    instrument_version: str = Field(max_length=32)
    target: float = 0.99
    confidence: float = 0.95
    max_attempts: int = 3
    starts_on: date | None = None
    ends_on: date | None = None
    status: str = Field(default=WaveStatus.OPEN, max_length=16, index=True)
    created_at: datetime = timestamp()


class Assignment(SQLModel, table=True):
    """A household given to a canvasser for one wave."""

    __table_args__ = (
        UniqueConstraint("wave_id", "household_id"),
        # One community's assignments in one wave (result pages), whatever the planner's stats.
        Index("ix_assignment_community_wave", "community_id", "wave_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    canvasser_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    assigned_on: date | None = None
    created_at: datetime = timestamp()


class Visit(SQLModel, table=True):
    """One attempt at a household's door and its outcome (完成/不在家/拒访/空置/不符合条件)."""

    __table_args__ = (UniqueConstraint("assignment_id", "attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)  # made on the device: idempotency key
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    attempt: int
    outcome: str = Field(max_length=16)
    visited_at: datetime = timestamp()
    latitude: float | None = None
    longitude: float | None = None
    note: str | None = Field(default=None, max_length=500)
    canvasser_id: int | None = Field(default=None, foreign_key="app_user.id")
