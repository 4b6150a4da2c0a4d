"""测评轮次 (waves), assignments of households to canvassers, and visit attempts."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._types import json_column, timestamp


class WaveStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Design(StrEnum):
    """How a wave's sample is drawn (see analysis/sampling.py)."""

    CENSUS = "census"  # 全覆盖入户
    SRS = "srs"
    SYSTEMATIC = "systematic"
    TWO_STAGE = "two-stage"
    UPLOAD = "upload"


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
    # The sampling design, its options (sizes, reserves, PPS), the seed and how many
    # replicates are released (0: not drawn yet). None: a wave from before designs
    # (every assigned household, weight 1).
    design: str | None = Field(default=None, max_length=16)
    design_options: dict[str, Any] | None = json_column(nullable=True)
    seed: int | None = None
    released: int = 0
    # sha256 of the frame drawn from (household id, building id, code, sorted).
    frame_hash: str | None = Field(default=None, max_length=64)
    sampled_at: datetime | None = timestamp(nullable=True, default=False)
    opened_at: datetime | None = timestamp(nullable=True, default=False)
    closed_at: datetime | None = timestamp(nullable=True, default=False)
    # A closed wave's estimation inputs, frozen at close (see fieldwork/design.py).
    frozen: dict[str, Any] | None = json_column(nullable=True)
    # When ``frozen`` was last written (closing, recomputing): what the result pages' cache
    # of the parsed snapshot is keyed on, so the megabytes of JSON are not read to check.
    frozen_at: datetime | None = timestamp(nullable=True, default=False)


class WaveCommunity(SQLModel, table=True):
    """A community a wave covers, with its frame at the draw: N households, B buildings
    (the population sizes of the finite-population correction)."""

    __table_args__ = (UniqueConstraint("wave_id", "community_id"),)

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    households: int = 0
    buildings: int = 0


class Assignment(SQLModel, table=True):
    """A household given to a canvasser for one wave."""

    __table_args__ = (
        UniqueConstraint("wave_id", "household_id"),
        # One community's assignments in one wave (result pages), whatever the planner's stats.
        Index("ix_assignment_community_wave", "community_id", "wave_id"),
        # A whole wave's sampled households per community counted from the index alone
        # (the first result page after a restart), not from the table's rows.
        Index("ix_assignment_wave_community", "wave_id", "community_id", "released"),
    )

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    canvasser_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    assigned_on: date | None = None
    created_at: datetime = timestamp()
    # How the household was drawn: replicate 1 is the main sample, 2, 3… reserves
    # (shown to canvassers only once released); π its inclusion probability, psu_prob
    # the first-stage π of its building (two-stage), pool_size the households it was
    # drawn among (N of the community, or M of the building for two-stage).
    replicate: int = 1
    released: bool = True
    inclusion_prob: float | None = None
    psu_prob: float | None = None
    pool_size: int | None = None
    stratum: str | None = Field(default=None, max_length=64)
    psu: str | None = Field(default=None, max_length=64)


class Visit(SQLModel, table=True):
    """One attempt at a household's door and its outcome (完成/不在家/拒访/空置/不符合条件)."""

    __table_args__ = (
        UniqueConstraint("assignment_id", "attempt"),
        # The few vacant/ineligible visits found without reading every visit of the wave.
        Index("ix_visit_outcome", "outcome", "assignment_id"),
    )

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
    # 预约: when the resident asked to be visited again (不在家 / 婉拒), shown first that day.
    appointment_at: datetime | None = timestamp(nullable=True, default=False)
    # A refusal's kind: soft (婉拒, may be visited again) or hard (坚决拒访, never again).
    refusal: str | None = Field(default=None, max_length=8)


class HeldSubmission(SQLModel, table=True):
    """A visit or interview refused because its household was reassigned (or its wave's
    dates had passed) while the tablet held it: kept whole, so an analyst can accept it
    into the wave or dismiss it — nothing sent is silently lost."""

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    kind: str = Field(max_length=16)  # visit / response
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", index=True)
    wave_id: int | None = Field(default=None, foreign_key="wave.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    reason: str = Field(max_length=32)  # reassigned / unassigned / outside_dates
    payload: dict[str, Any] = json_column()
    received_at: datetime = timestamp()
    resolution: str | None = Field(default=None, max_length=16)  # accepted / dismissed
    resolved_by: int | None = Field(default=None, foreign_key="app_user.id")
    resolved_at: datetime | None = timestamp(nullable=True, default=False)
