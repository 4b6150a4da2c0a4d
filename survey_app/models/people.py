"""Users, their roles and community scope, and the audit log."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from ._types import json_column, timestamp


class Role(StrEnum):
    CANVASSER = "canvasser"  # 入户调查员
    ANALYST = "analyst"  # 创文办分析员
    SECRETARY = "secretary"  # 社区书记
    SUPERVISOR = "supervisor"  # 督导
    ADMIN = "admin"  # 管理员


class User(SQLModel, table=True):
    """A person who signs in. What they may see is in ``UserScope`` (see ``scope.py``).

    ``community_id`` is the first community of the user's scope (a secretary's only one),
    kept in step with ``UserScope`` by ``setup.users`` for code that reads one community.
    ``must_change_password``: set for generated and reset passwords; the user is sent to
    the change-password page until they choose their own.
    """

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    locale: str | None = Field(default=None, max_length=8)
    active: bool = True
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = timestamp()
    # Sessions (auth/sessions.py): every session and remember cookie names the epoch it
    # was signed in under; sign-out, deactivation and password changes bump it.
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Lockout (auth/throttle.py): failures in a row, and until when sign-in is refused.
    failed_logins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = timestamp(nullable=True, default=False)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """``<id>.<session epoch>``: what the session and the remember cookie carry."""
        return f"{self.id}.{self.session_epoch or 0}"


class UserScope(SQLModel, table=True):
    """One unit a user may see: a community (社区) or a whole street (街道).

    Secretaries have one community row; canvassers one or more communities; supervisors
    (督导) streets or communities; analysts and admins none (they see the whole city).
    """

    __tablename__ = "user_scope"
    __table_args__ = (
        UniqueConstraint("user_id", "community_id", "street_id"),
        CheckConstraint(
            "(community_id IS NULL) <> (street_id IS NULL)", name="ck_user_scope_one_unit"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    street_id: int | None = Field(default=None, foreign_key="street.id", index=True)


class AuditLog(SQLModel, table=True):
    """One row per change to data: who, when, what."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp(index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] | None = json_column(nullable=True)
