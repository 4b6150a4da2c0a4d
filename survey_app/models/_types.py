"""Column helpers shared by the model modules."""

from datetime import UTC, datetime

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(*, nullable: bool = False, index: bool = False, default: bool = True):
    """A timezone-aware UTC timestamp column."""
    return Field(
        default_factory=utcnow if default else None,
        sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index),
    )


def json_column(*, nullable: bool = False):
    """A JSON column (JSON on SQLite, JSON on PostgreSQL)."""
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))
