"""Sign-in checks against the stored scrypt hashes."""

from __future__ import annotations

from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..errors import ServiceError
from ..models import User
from .passwords import validate_password
from .sessions import end_sessions


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


def change_password(*, session: Session, user: User, current: str, new: str, confirm: str) -> None:
    """The user's own password change (also the forced one after a reset or import)."""
    if not check_password_hash(user.password_hash, current):
        raise ServiceError("当前密码不正确。")
    if new != confirm:
        raise ServiceError("两次输入的新密码不一致。")
    if new == current:
        raise ServiceError("新密码不能与当前密码相同。")
    if problem := validate_password(new, username=user.username):
        raise ServiceError(problem)
    user.password_hash = generate_password_hash(new, method="scrypt")
    user.must_change_password = False
    end_sessions(user)  # a stolen cookie stops working with the old password
    session.add(user)
    audit.record(
        session=session, action="change-password", entity="user", entity_id=user.id, user_id=user.id
    )
    session.commit()
