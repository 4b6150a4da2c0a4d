"""Background imports (the household frame) and their staging rows; app-wide settings.

A large frame is read into ``HouseholdStage`` in short chunks, checked there as a whole
(duplicates, the preview of what will change), and only then applied to ``Household`` —
so a bad file changes nothing, and no transaction holds SQLite's write lock for long.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from ._types import json_column, timestamp


class ImportStatus(StrEnum):
    QUEUED = "queued"  # 排队中
    READING = "reading"  # 读取与检查中
    FAILED = "failed"  # 有错误,未导入
    PREVIEW = "preview"  # 检查完毕,等待确认(试导入)
    CHECKED = "checked"  # 命令行试导入:检查完毕,未写入
    APPLYING = "applying"  # 写入中
    DONE = "done"  # 已导入


class ImportJob(SQLModel, table=True):
    """One upload of a file, followed from reading to applying."""

    __tablename__ = "import_job"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # "households"
    filename: str = Field(max_length=255)
    path: str | None = Field(default=None, max_length=500)  # the uploaded file, until read
    status: str = Field(default=ImportStatus.QUEUED, max_length=16, index=True)
    dry_run: bool = False  # stop at the preview
    rows_read: int = 0
    rows_applied: int = 0
    rows_total: int | None = None
    errors: list[dict[str, Any]] | None = json_column(nullable=True)
    summary: dict[str, Any] | None = json_column(nullable=True)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class HouseholdStage(SQLModel, table=True):
    """One checked row of a household frame file, waiting to be applied."""

    __tablename__ = "household_stage"
    __table_args__ = (Index("ix_household_stage_job_key", "job_id", "community_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="import_job.id")
    line: int
    community_id: int = Field(foreign_key="community.id")
    building: str = Field(max_length=64)
    code: str = Field(max_length=64)
    grid: str | None = Field(default=None, max_length=64)


class AppSetting(SQLModel, table=True):
    """A fact about this installation, e.g. ``demo`` when the database began as the demo."""

    __tablename__ = "app_setting"

    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(max_length=500)
    updated_at: datetime = timestamp()
