"""Users: creation, bulk import, search, role and scope edits, deactivation, password
resets. Passwords are hashed with scrypt; generated and reset passwords must be changed
at the next sign-in (``User.must_change_password``).

Scope (``UserScope``): a secretary covers exactly one community; a canvasser one or more
communities; a supervisor (督导) streets and/or communities; analysts and admins the whole
city (no scope rows). ``User.community_id`` is kept as the first community of the scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, delete, select
from werkzeug.security import generate_password_hash

from .. import audit
from ..auth.passwords import generate_password, validate_password
from ..errors import NotFound, ServiceError
from ..models import Community, Role, Street, User, UserScope

ROLE_NAMES = {
    "canvasser": Role.CANVASSER,
    "入户调查员": Role.CANVASSER,
    "调查员": Role.CANVASSER,
    "secretary": Role.SECRETARY,
    "社区书记": Role.SECRETARY,
    "书记": Role.SECRETARY,
    "supervisor": Role.SUPERVISOR,
    "督导": Role.SUPERVISOR,
    "督导员": Role.SUPERVISOR,
    "analyst": Role.ANALYST,
    "分析员": Role.ANALYST,
    "创文办分析员": Role.ANALYST,
    "admin": Role.ADMIN,
    "管理员": Role.ADMIN,
}
SCOPED_ROLES = {Role.SECRETARY, Role.CANVASSER, Role.SUPERVISOR}
PAGE_SIZE = 50


def parse_role(text: str) -> Role:
    role = ROLE_NAMES.get(text.strip().lower()) or ROLE_NAMES.get(text.strip())
    if role is None:
        raise ServiceError(
            f"未知角色 {text!r}:应为 canvasser/入户调查员、secretary/社区书记、"
            "supervisor/督导、analyst/分析员 或 admin/管理员。"
        )
    return role


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


@dataclass(frozen=True)
class Scope:
    """Resolved scope units: community ids and street ids."""

    communities: tuple[int, ...] = ()
    streets: tuple[int, ...] = ()


class ScopeResolver:
    """Turns the codes people type (community or street codes) into a checked Scope."""

    def __init__(self, session: Session):
        self.communities = {c.code: c for c in session.exec(select(Community)).all()}
        self.streets = {s.code: s for s in session.exec(select(Street)).all()}

    def resolve(self, role: Role, codes: Sequence[str]) -> Scope:
        communities: list[int] = []
        streets: list[int] = []
        for code in codes:
            if code in self.communities:
                communities.append(self.communities[code].id)
            elif code in self.streets:
                if role != Role.SUPERVISOR:
                    raise ServiceError(f"街道编码 {code} 只能作为督导的范围;该角色请填写社区编码。")
                streets.append(self.streets[code].id)
            else:
                raise ServiceError(f"找不到社区或街道编码 {code}。")
        if role in (Role.ANALYST, Role.ADMIN):
            if codes:
                raise ServiceError("分析员和管理员看全市数据,范围请留空。")
        elif not codes:
            raise ServiceError(
                "该角色需要填写范围(社区编码,命令行用 --community;督导也可填街道编码)。"
            )
        if role == Role.SECRETARY and (len(communities) != 1 or streets):
            raise ServiceError("社区书记的范围应是一个社区编码。")
        return Scope(tuple(dict.fromkeys(communities)), tuple(dict.fromkeys(streets)))


def write_scope(session: Session, user: User, scope: Scope) -> None:
    session.exec(delete(UserScope).where(UserScope.user_id == user.id))
    for community_id in scope.communities:
        session.add(UserScope(user_id=user.id, community_id=community_id))
    for street_id in scope.streets:
        session.add(UserScope(user_id=user.id, street_id=street_id))
    user.community_id = scope.communities[0] if scope.communities else None


def _check_username(username: str) -> str:
    username = username.strip()
    if not username:
        raise ServiceError("用户名不能为空。")
    if len(username) > 64:
        raise ServiceError("用户名最多 64 个字符。")
    return username


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    community_code: str | None = None,
    scope_codes: Sequence[str] | None = None,
    actor_id: int | None = None,
    must_change_password: bool = False,
    enforce_policy: bool = True,
    operator: str | None = None,
) -> User:
    """Create a user; secretaries, canvassers and supervisors need a scope. ``operator``
    names who ran a command-line creation (there is no signed-in actor then)."""
    username = _check_username(username)
    role = parse_role(role)
    if enforce_policy and (problem := validate_password(password, username=username)):
        raise ServiceError(problem)
    if session.exec(select(User).where(User.username == username)).first():
        raise ServiceError(f"用户名 {username} 已存在。")
    codes = list(scope_codes or ([community_code] if community_code else []))
    scope = ScopeResolver(session).resolve(role, codes)
    user = User(
        username=username,
        display_name=(display_name or username)[:100],
        password_hash=hash_password(password),
        role=role,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    write_scope(session, user, scope)
    session.add(user)
    audit.record(
        session=session,
        action="create",
        entity="user",
        entity_id=user.id,
        user_id=actor_id,
        detail={"username": username, "role": role.value, "scope": codes}
        | ({"operator": operator} if operator else {}),
    )
    session.commit()
    return user


def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("找不到该用户。")
    return user


def find_user(*, session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None:
        raise NotFound(f"找不到用户 {username}。")
    return user


def scope_codes(*, session: Session, user: User) -> list[str]:
    """The codes of a user's scope, communities first (as typed in the edit form)."""
    communities = session.exec(
        select(Community.code)
        .join(UserScope, UserScope.community_id == Community.id)
        .where(UserScope.user_id == user.id)
        .order_by(UserScope.id)
    ).all()
    streets = session.exec(
        select(Street.code)
        .join(UserScope, UserScope.street_id == Street.id)
        .where(UserScope.user_id == user.id)
        .order_by(UserScope.id)
    ).all()
    if not communities and not streets and user.community_id is not None:
        community = session.get(Community, user.community_id)
        return [community.code] if community else []
    return list(communities) + list(streets)


def update_user(
    *,
    session: Session,
    user: User,
    display_name: str,
    role: str,
    codes: Sequence[str],
    actor_id: int | None,
) -> User:
    """Change a user's name, role and scope (effective on their next request)."""
    role = parse_role(role)
    scope = ScopeResolver(session).resolve(role, codes)
    if user.id == actor_id and role != Role.ADMIN:
        raise ServiceError("不能取消自己的管理员角色。")
    before = {"role": user.role, "scope": scope_codes(session=session, user=user)}
    user.display_name = display_name.strip()[:100] or user.username
    user.role = role
    write_scope(session, user, scope)
    session.add(user)
    audit.record(
        session=session,
        action="update",
        entity="user",
        entity_id=user.id,
        user_id=actor_id,
        detail={"before": before, "after": {"role": role.value, "scope": list(codes)}},
    )
    session.commit()
    return user


def _end_sessions(user: User) -> None:
    """Bump the session epoch when the model has one (sessions then end at once)."""
    if hasattr(user, "session_epoch"):
        user.session_epoch = (user.session_epoch or 0) + 1


def set_active(*, session: Session, user: User, active: bool, actor_id: int | None) -> User:
    """Deactivate (sign-in refused, open sessions end) or reactivate a user."""
    if user.id == actor_id and not active:
        raise ServiceError("不能停用自己的账号。")
    user.active = active
    _end_sessions(user)
    session.add(user)
    audit.record(
        session=session,
        action="activate" if active else "deactivate",
        entity="user",
        entity_id=user.id,
        user_id=actor_id,
        detail={"username": user.username},
    )
    session.commit()
    return user


def set_password(
    *,
    session: Session,
    user: User,
    password: str | None,
    actor_id: int | None,
    must_change: bool = True,
) -> str:
    """Set (or generate, when ``password`` is None) a password; the user must change it
    at the next sign-in. Returns the password so it can be handed over once."""
    if password is None:
        password = generate_password()
        user.password_hash = hash_one_time(password)
    elif problem := validate_password(password, username=user.username):
        raise ServiceError(problem)
    else:
        user.password_hash = hash_password(password)
    user.must_change_password = must_change
    _end_sessions(user)
    session.add(user)
    audit.record(
        session=session,
        action="reset-password",
        entity="user",
        entity_id=user.id,
        user_id=actor_id,
        detail={"username": user.username},
    )
    session.commit()
    return password


@dataclass(frozen=True)
class UserPage:
    rows: list[tuple[User, Community | None]]
    total: int
    page: int
    pages: int


def search_users(
    *,
    session: Session,
    query: str = "",
    role: str = "",
    community_id: int | None = None,
    active: bool | None = None,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> UserPage:
    """Users matching a search (username or name), role, community and state, one page."""
    where = []
    if query.strip():
        like = f"%{query.strip()}%"
        where.append(or_(User.username.ilike(like), User.display_name.ilike(like)))
    if role:
        where.append(User.role == role)
    if community_id is not None:
        in_scope = select(UserScope.user_id).where(UserScope.community_id == community_id)
        by_street = (
            select(UserScope.user_id)
            .join(Community, Community.street_id == UserScope.street_id)
            .where(Community.id == community_id)
        )
        where.append(
            or_(User.id.in_(in_scope), User.id.in_(by_street), User.community_id == community_id)
        )
    if active is not None:
        where.append(User.active == active)
    total = session.exec(select(func.count()).select_from(User).where(*where)).one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.exec(
        select(User, Community)
        .join(Community, User.community_id == Community.id, isouter=True)
        .where(*where)
        .order_by(User.role, User.username)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return UserPage(rows=[(u, c) for u, c in rows], total=total, page=page, pages=pages)


def list_users(*, session: Session) -> list[tuple[User, Community | None]]:
    rows = session.exec(
        select(User, Community)
        .join(Community, User.community_id == Community.id, isouter=True)
        .order_by(User.role, User.username)
    )
    return list(rows.all())


def hash_one_time(password: str) -> str:
    """The hash of a generated one-time password: PBKDF2 (fast) rather than scrypt. A
    generated password is 12 random characters from 54 (about 69 bits), which no hash
    cost adds to; it is replaced by the user's own, scrypt-hashed, at first sign-in. scrypt
    takes ~0.5 s a hash here, which made 200 users a 100-second import."""
    return generate_password_hash(password, method="pbkdf2:sha256:1000")
