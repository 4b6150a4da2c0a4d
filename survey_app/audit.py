"""The audit log: every change to data is recorded with who and when."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from .models import AuditLog


def record(
    *,
    session: Session,
    action: str,
    entity: str,
    entity_id: object = None,
    user_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to the session's current transaction (the caller commits)."""
    session.add(
        AuditLog(
            user_id=user_id,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=detail,
        )
    )
