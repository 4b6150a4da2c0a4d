"""Users: creation with a hashed password (scrypt), listing."""

from __future__ import annotations

from sqlmodel import Session, select
from werkzeug.security import generate_password_hash

from .. import audit
from ..errors import ServiceError
from ..models import Community, Role, User, UserScope

SCOPED_ROLES = {Role.SECRETARY, Role.CANVASSER}


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    community_code: str | None = None,
    actor_id: int | None = None,
) -> User:
    """Create a user; secretaries and canvassers must belong to a community."""
    username = username.strip()
    if not username:
        raise ServiceError("用户名不能为空。")
    if role not in {r.value for r in Role}:
        raise ServiceError(f"未知角色 {role!r}:应为 canvasser、analyst、secretary 或 admin。")
    if len(password) < 8:
        raise ServiceError("密码至少需要 8 个字符。")
    if session.exec(select(User).where(User.username == username)).first():
        raise ServiceError(f"用户名 {username} 已存在。")
    community_id = None
    if community_code:
        community = session.exec(select(Community).where(Community.code == community_code)).first()
        if community is None:
            raise ServiceError(f"找不到社区编码 {community_code}。")
        community_id = community.id
    elif role in SCOPED_ROLES:
        raise ServiceError(f"角色 {role} 需要指定所属社区(--community)。")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password, method="scrypt"),
        role=role,
        community_id=community_id,
    )
    session.add(user)
    session.flush()
    if community_id is not None:
        session.add(UserScope(user_id=user.id, community_id=community_id))
    audit.record(
        session=session,
        action="create",
        entity="user",
        entity_id=user.id,
        user_id=actor_id,
        detail={"username": username, "role": role},
    )
    session.commit()
    return user


def list_users(*, session: Session) -> list[tuple[User, Community | None]]:
    rows = session.exec(
        select(User, Community)
        .join(Community, User.community_id == Community.id, isouter=True)
        .order_by(User.role, User.username)
    )
    return list(rows.all())
