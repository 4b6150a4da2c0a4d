"""Supervision (督导) and quality control: revisions of an interview, review decisions,
quality flags, back-checks and each wave's quality settings.

Nothing here is ever overwritten: a correction after a rejection is a new
``ResponseRevision``, every review decision a new ``ReviewEvent``. See docs/quality.md.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from ._types import json_column, timestamp


class ResponseRevision(SQLModel, table=True):
    """One submitted version of an interview, kept as it came.

    Revision 1 is the first submission (its ``uuid`` is the response's); a canvasser's
    correction after a rejection is revision 2, 3, … with a UUID of its own (the
    idempotency key of that resubmission). ``Response`` always holds the latest
    revision's answers; revision 1 is copied here before the first correction replaces
    them, so every version stays readable."""

    __tablename__ = "response_revision"
    __table_args__ = (UniqueConstraint("response_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    number: int
    uuid: str = Field(max_length=36, unique=True)
    answers: dict[str, Any] = json_column()
    content_hash: str = Field(max_length=64)
    started_at: datetime | None = timestamp(nullable=True, default=False)
    submitted_at: datetime | None = timestamp(nullable=True, default=False)
    received_at: datetime = timestamp()
    timings: dict[str, Any] | None = json_column(nullable=True)
    device: str | None = Field(default=None, max_length=255)
    latitude: float | None = None
    longitude: float | None = None
    note: str | None = Field(default=None, max_length=1000)  # the canvasser's explanation
    canvasser_id: int | None = Field(default=None, foreign_key="app_user.id")


class ReviewEvent(SQLModel, table=True):
    """One step of an interview's review: approve, reject (with comments), reopen, or
    the canvasser's resubmission. ``level`` is 督导 (supervisor) or 创文办 (hq)."""

    __tablename__ = "review_event"

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    revision: int = 1
    action: str = Field(max_length=16)
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    level: str | None = Field(default=None, max_length=16)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    comment: str | None = Field(default=None, max_length=2000)
    item_comments: dict[str, str] | None = json_column(nullable=True)
    at: datetime = timestamp()


class QualityFlag(SQLModel, table=True):
    """A quality signal on one interview (``response_id``) or on a canvasser's work
    (``response_id`` NULL: e.g. a shared device, a 满意率 far from the community's)."""

    __tablename__ = "quality_flag"

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    response_id: int | None = Field(default=None, foreign_key="response.id", index=True)
    canvasser_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    code: str = Field(max_length=32)
    detail: dict[str, Any] | None = json_column(nullable=True)
    day: date | None = None
    computed_at: datetime = timestamp()


class BackCheck(SQLModel, table=True):
    """回访核查: a completed interview drawn for re-contact by another canvasser or by
    phone, with the short back-check questionnaire's answers and their agreement."""

    __tablename__ = "back_check"

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    response_id: int = Field(foreign_key="response.id", unique=True)
    canvasser_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    checker_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    mode: str = Field(default="visit", max_length=16)  # visit (another canvasser) / phone
    state: str = Field(default="drawn", max_length=16)  # drawn / done
    items: list[str] = json_column()
    visited: bool | None = None  # did the household confirm the interview took place?
    answers: dict[str, Any] | None = json_column(nullable=True)
    agreement: dict[str, bool] | None = json_column(nullable=True)
    contradicts: bool = False
    note: str | None = Field(default=None, max_length=1000)
    drawn_at: datetime = timestamp()
    done_at: datetime | None = timestamp(nullable=True, default=False)
    done_by: int | None = Field(default=None, foreign_key="app_user.id")


class WaveQuality(SQLModel, table=True):
    """A wave's quality settings: which interviews count, flag thresholds (overrides of
    the documented defaults), the back-check share and seed."""

    __tablename__ = "wave_quality"

    wave_id: int = Field(foreign_key="wave.id", primary_key=True)
    counts: str = Field(default="approved_pending", max_length=24)  # or "approved"
    thresholds: dict[str, Any] | None = json_column(nullable=True)
    backcheck_share: float = 0.1
    backcheck_seed: int = 0
    flags_at: datetime | None = timestamp(nullable=True, default=False)
