"""Responses, the instrument versions they answered, weighting margins and feedback."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

import instruments

from ._types import json_column, timestamp


class ReviewState(StrEnum):
    """An interview's review state (docs/quality.md has the transitions)."""

    PENDING = "pending"  # 待审核: submitted or resubmitted, not yet reviewed
    ACCEPTED = "accepted"  # 督导已通过: approved by a supervisor
    APPROVED_HQ = "approved_hq"  # 创文办已通过: approved at headquarters level
    REJECTED = "rejected"  # 已退回: back on the canvasser's tablet for correction


class FeedbackStatus(StrEnum):
    FOUND = "found"  # 发现
    ASSIGNED = "assigned"  # 交办
    FIXING = "fixing"  # 整改
    ANSWERED = "answered"  # 反馈


class InstrumentVersion(SQLModel, table=True):
    """A published questionnaire version. Its content never changes (content_hash).

    ``source`` is the full questionnaire file (YAML) as published: the app rebuilds the
    instrument from it (``instrument_registry.get_instrument(key, version)``), so every
    version a wave uses stays served whatever files are on disk. ``content`` is its JSON
    for the tablet.
    """

    __table_args__ = (UniqueConstraint("key", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    version: str = Field(max_length=32)
    content_hash: str = Field(max_length=80)  # "sha256:" + 64 hex digits
    content: dict[str, Any] = json_column()
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    title: str | None = Field(default=None, max_length=200)
    published_by: int | None = Field(default=None, foreign_key="app_user.id")
    published_at: datetime = timestamp()


class Response(SQLModel, table=True):
    """One completed interview. ``uuid`` is made on the device and is the idempotency key.

    The respondent profile (age group, sex, years of residence) is kept for weighting;
    no names, phone numbers or ID numbers are ever stored.
    """

    # One community's responses in one wave (result pages), whatever the planner's stats.
    __table_args__ = (
        Index("ix_response_community_wave", "community_id", "wave_id"),
        # Covering the whole-wave counts per community and review state (respondents,
        # review states): an index scan instead of reading 1M rows with their answers.
        Index("ix_response_wave_counted", "wave_id", "is_test", "community_id", "review_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    household_id: int | None = Field(default=None, foreign_key="household.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", index=True)
    canvasser_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    instrument_key: str = Field(max_length=64)
    instrument_version: str = Field(max_length=32)
    answers: dict[str, Any] = json_column()
    content_hash: str = Field(max_length=64)  # of the submission, to tell replay from conflict
    started_at: datetime | None = timestamp(nullable=True, default=False)
    submitted_at: datetime | None = timestamp(nullable=True, default=False)
    received_at: datetime = timestamp()
    timings: dict[str, Any] | None = json_column(nullable=True)
    device: str | None = Field(default=None, max_length=255)
    quality_flags: list[str] | None = json_column(nullable=True)
    review_state: str = Field(default=ReviewState.PENDING, max_length=16)
    revision: int = 1  # the latest revision's number (see ResponseRevision)
    age_group: str | None = Field(default=None, max_length=32)
    sex: str | None = Field(default=None, max_length=16)
    residence_years: str | None = Field(default=None, max_length=32)
    # 测试数据: a rehearsal's generated interview (fieldwork/rehearse.py). Never in the
    # running totals nor in any counted figure; shown only in the rehearsal view.
    is_test: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})

    @classmethod
    def generated(
        cls,
        *,
        instrument,
        answers: dict[str, Any],
        at: datetime,
        content_hash: str,
        device: str,
        **place: Any,
    ) -> "Response":
        """An interview made by the product itself (the demo's, a rehearsal's), stored as the
        sync path would store a tablet's: started, submitted and received at ``at``, the
        respondent profile read from the answers. ``place`` is uuid, wave, community,
        household, assignment and canvasser ids, review_state, is_test."""
        profile = instruments.profile_values(instrument, answers)
        return cls(
            instrument_key=instrument.key,
            instrument_version=str(instrument.version),
            answers=answers,
            content_hash=content_hash,
            started_at=at,
            submitted_at=at,
            received_at=at,
            device=device,
            quality_flags=[],
            age_group=profile.get("age_group"),
            sex=profile.get("sex"),
            residence_years=profile.get("residence_years"),
            **place,
        )


class IndicatorTotal(SQLModel, table=True):
    """Running sums per wave × indicator × community × building (PSU), kept as responses
    arrive, so result pages never re-read every response (unweighted, design weight 1)."""

    __table_args__ = (
        UniqueConstraint("wave_id", "indicator", "building_id"),
        # Covering index for counting each street's sampled PSUs (n_h) per wave.
        Index("ix_indicatortotal_wave_street_psu", "wave_id", "street_id", "building_id", "n"),
    )

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    indicator: str = Field(max_length=64)
    community_id: int = Field(foreign_key="community.id", index=True)
    street_id: int = Field(foreign_key="street.id")
    building_id: int = Field(foreign_key="building.id")
    n: int = 0
    positive: int = 0


class PopulationMargin(SQLModel, table=True):
    """Population count of one cell (e.g. age group 35-59 × 女) of a community, from 社区台账."""

    __table_args__ = (UniqueConstraint("community_id", "variable", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    variable: str = Field(max_length=64)  # e.g. "age_group", "sex" or "age_group*sex"
    category: str = Field(max_length=64)
    count: float


class FeedbackItem(SQLModel, table=True):
    """问需/问计 raised in a visit, followed through 发现 → 交办 → 整改 → 反馈."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    wave_id: int | None = Field(default=None, foreign_key="wave.id", index=True)
    response_id: int | None = Field(default=None, foreign_key="response.id", index=True)
    kind: str = Field(max_length=16)  # 问需 / 问计 / 问效
    category: str | None = Field(default=None, max_length=64)
    text: str = Field(max_length=2000)
    status: str = Field(default=FeedbackStatus.FOUND, max_length=16, index=True)
    assignee: str | None = Field(default=None, max_length=100)
    created_at: datetime = timestamp(index=True)
    updated_at: datetime = timestamp()


class FeedbackEvent(SQLModel, table=True):
    """One step of a feedback item's closed loop, with who and when."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="feedbackitem.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    note: str | None = Field(default=None, max_length=1000)
    at: datetime = timestamp()
