"""Bulk import of users from XLSX or CSV, all or nothing.

Columns ``username,display_name,role,scope,password`` (or 用户名,姓名,角色,范围,密码).
Role as ``canvasser/secretary/supervisor/analyst/admin`` or 入户调查员/社区书记/督导/
分析员/管理员; scope one or more community (or, for 督导, street) codes separated by
``,`` ``，`` ``;`` ``；`` or ``、``. When the password is empty, a one-time password is
generated; every imported password must be changed at first sign-in.

A username already present is updated (name, role, scope; its password only when the file
gives one). Any error in any row: nothing is stored, every error names its row and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from .. import audit
from ..auth.passwords import generate_password, validate_password
from ..errors import ServiceError
from ..models import User
from ..tabular import MAX_ERRORS, Column, FileImportError, RowError, Table, split_codes
from . import users as user_service

COLUMNS = (
    Column("username", ("username", "用户名", "账号"), max_length=64),
    Column("display_name", ("display_name", "姓名", "name"), required=False, max_length=100),
    Column("role", ("role", "角色"), max_length=32),
    Column("scope", ("scope", "范围", "社区编码", "所属社区"), required=False, max_length=2000),
    Column("password", ("password", "密码", "初始密码"), required=False, max_length=128),
)


@dataclass
class UserImportReport:
    created: int = 0
    updated: int = 0
    # (username, display name, password) of every generated or given password, for the
    # file handed to the admin once.
    passwords: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    username: str
    display_name: str
    role: user_service.Role
    scope: user_service.Scope
    codes: list[str]
    password: str | None


def _check_rows(session: Session, table: Table) -> list[_Row]:
    resolver = user_service.ScopeResolver(session)
    errors: list[RowError] = []
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for line, values in table.rows():
        row_errors = table.check(line, values)
        username = values["username"]
        if username and username.lower() in seen:
            row_errors.append(
                RowError(line, table.label("username"), f"与第 {seen[username.lower()]} 行重复")
            )
        seen.setdefault(username.lower(), line)
        role = scope = None
        codes = split_codes(values.get("scope", ""))
        if values["role"]:
            try:
                role = user_service.parse_role(values["role"])
                scope = resolver.resolve(role, codes)
            except ServiceError as err:
                column = "role" if role is None else "scope"
                row_errors.append(RowError(line, table.label(column), err.message))
        password = values.get("password") or None
        if password and username and (problem := validate_password(password, username=username)):
            row_errors.append(RowError(line, table.label("password"), problem))
        if row_errors:
            errors.extend(row_errors)
            if len(errors) >= MAX_ERRORS:
                break
            continue
        display = values.get("display_name") or username
        rows.append(_Row(line, username, display, role, scope, codes, password))
    if errors:
        raise FileImportError(errors)
    if not rows:
        raise FileImportError([RowError(2, "-", "文件中没有用户")])
    return rows


def import_users(
    *, session: Session, source: bytes | Path, actor_id: int | None = None
) -> UserImportReport:
    """Import users from a file; raise ``FileImportError`` (nothing stored) on any error."""
    rows = _check_rows(session, Table(source, COLUMNS))
    existing = {
        u.username.lower(): u
        for u in session.exec(select(User).where(User.username.in_([r.username for r in rows])))
    }
    report = UserImportReport()
    new_passwords = [r.password or generate_password() for r in rows]
    hashes = {
        i: (user_service.hash_password if r.password else user_service.hash_one_time)(
            new_passwords[i]
        )
        for i, r in enumerate(rows)
        if r.username.lower() not in existing or r.password
    }
    for i, row in enumerate(rows):
        user = existing.get(row.username.lower())
        if user is None:
            user = User(
                username=row.username,
                display_name=row.display_name,
                password_hash=hashes[i],
                role=row.role,
                must_change_password=True,
            )
            session.add(user)
            session.flush()
            report.created += 1
            report.passwords.append((row.username, row.display_name, new_passwords[i]))
        else:
            user.display_name = row.display_name
            user.role = row.role
            if i in hashes:
                user.password_hash = hashes[i]
                user.must_change_password = True
                report.passwords.append((row.username, row.display_name, new_passwords[i]))
            report.updated += 1
        user_service.write_scope(session, user, row.scope)
        session.add(user)
    audit.record(
        session=session,
        action="import",
        entity="user",
        user_id=actor_id,
        detail={"created": report.created, "updated": report.updated},
    )
    session.commit()
    return report


def passwords_csv(report: UserImportReport) -> bytes:
    """The one-time passwords as a CSV Excel opens in Chinese (UTF-8 with BOM)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["用户名", "姓名", "一次性密码(首次登录后须修改)"])
    writer.writerows(report.passwords)
    return out.getvalue().encode("utf-8-sig")
