"""A sign-in attempt: password check, lockout and the audit of every attempt (13.5, 13.14)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlmodel import Session, select
from werkzeug.security import check_password_hash

from .. import audit
from ..models import User
from . import throttle
from .services import _DUMMY_HASH
from .sessions import end_sessions


@dataclass(frozen=True)
class Attempt:
    user: User | None  # signed in, or None
    locked_minutes: int = 0  # > 0: the account is locked (now or already)


def attempt(*, session: Session, username: str, password: str, address: str | None) -> Attempt:
    """Check a sign-in; count failures, lock at the threshold, audit every attempt."""
    settings = current_app.config["SETTINGS"]
    name = username.strip()
    user = session.exec(select(User).where(User.username == name)).first()
    detail = {"username": name[:64], "address": address}
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)  # same time: usernames cannot be probed
        reason = "unknown" if user is None else "inactive"
        return _failed(session, user, detail, reason)
    if throttle.locked(user):
        return _failed(session, user, detail, "locked", locked=settings.lockout_minutes)
    if not check_password_hash(user.password_hash, password):
        now_locked = throttle.record_failure(
            user, failures=settings.lockout_failures, minutes=settings.lockout_minutes
        )
        if now_locked:
            audit.record(session=session, action="lock", entity="user", entity_id=user.id,
                         user_id=None, detail=detail)  # fmt: skip
        return _failed(
            session, user, detail, "password", locked=settings.lockout_minutes if now_locked else 0
        )
    throttle.record_success(user)
    audit.record(session=session, action="sign-in", entity="user", entity_id=user.id,
                 user_id=user.id, detail={"address": address})  # fmt: skip
    session.add(user)
    session.commit()
    return Attempt(user)


def _failed(session: Session, user: User | None, detail: dict, reason: str, *, locked: int = 0):
    if user is not None:
        session.add(user)
    audit.record(
        session=session,
        action="sign-in-failed",
        entity="user",
        entity_id=None if user is None else user.id,
        user_id=None,
        detail={**detail, "reason": reason},
    )
    session.commit()
    return Attempt(None, locked_minutes=locked)


def sign_out(*, session: Session, user: User, address: str | None) -> None:
    """End every session of ``user`` and audit it."""
    stored = session.get(User, user.id)
    end_sessions(stored)
    session.add(stored)
    audit.record(session=session, action="sign-out", entity="user", entity_id=stored.id,
                 user_id=stored.id, detail={"address": address})  # fmt: skip
    session.commit()
