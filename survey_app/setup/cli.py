"""``flask`` commands of setup, the same work as the admin pages from files:

    geography import FILE
    users import FILE [--passwords-out FILE]      users deactivate NAME
    users set-password NAME                        create-user (one account)
    households import FILE [--dry-run]             import-households FILE (alias)
    questionnaires publish FILE [--key K --version N for XLSForm]
    questionnaires list

Each prints a one-line summary on success, and on failure one line per error and a
non-zero exit — never a traceback.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from ..commands import fail, open_session
from ..errors import ServiceError
from ..tabular import FileImportError
from . import frame as frame_service
from . import geography as geography_service
from . import questionnaires as questionnaire_service
from . import user_import
from . import users as user_service

FILE = click.Path(dir_okay=False, path_type=Path)


def _readable(path: Path) -> Path:
    try:
        with path.open("rb"):
            pass
    except OSError as err:
        fail(f"无法读取 {path}: {err.strerror}")
    return path


def _report_errors(path: Path, err: FileImportError) -> None:
    for error in err.errors:
        click.echo(f"{path}: {error}", err=True)
    fail(f"{len(err.errors)} 处错误,未导入任何数据。")


def _operator() -> str:
    """Who ran the command (recorded in the audit log)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "?")


@click.command("create-user")
@with_appcontext
@click.option("--username", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["canvasser", "analyst", "secretary", "supervisor", "admin"]),
)
@click.option(
    "--community", "community_code", default=None, help="社区编码 (secretary / canvasser)"
)
@click.option("--name", "display_name", default=None)
@click.password_option()
def create_user(
    username: str, role: str, community_code: str | None, display_name: str | None, password: str
) -> None:
    """Create a user account."""
    with open_session() as session:
        try:
            user = user_service.create_user(
                session=session,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                community_code=community_code,
                operator=f"cli:{_operator()}",
            )
        except ServiceError as err:
            fail(err.message)
    click.echo(f"已创建用户 {user.username}({user.role})。")


# --- geography ---------------------------------------------------------------------------

geography = AppGroup("geography", help="区县、街道、社区。")


@geography.command("import")
@click.argument("file", type=FILE)
def geography_import(file: Path) -> None:
    """Import districts, streets and communities (XLSX or CSV); re-import updates names."""
    with open_session() as session:
        try:
            report = geography_service.import_geography(session=session, source=_readable(file))
        except FileImportError as err:
            _report_errors(file, err)
    click.echo(f"已导入 {report.rows} 行:{report.summary()}")


# --- users -------------------------------------------------------------------------------

users = AppGroup("users", help="用户:批量导入、停用、重设密码。")


@users.command("import")
@click.argument("file", type=FILE)
@click.option(
    "--passwords-out",
    type=FILE,
    default=None,
    help="写出一次性密码的 CSV 文件(文件中没有密码的用户会自动生成)。",
)
def users_import(file: Path, passwords_out: Path | None) -> None:
    """Import users (XLSX or CSV): username, display_name, role, scope, password."""
    if passwords_out is not None and passwords_out.exists():
        fail(f"{passwords_out} 已存在,请换一个文件名(不覆盖已有文件)。")
    with open_session() as session:
        try:
            report = user_import.import_users(session=session, source=_readable(file))
        except FileImportError as err:
            _report_errors(file, err)
    generated = len(report.passwords)
    if passwords_out is not None:
        fd = os.open(passwords_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(user_import.passwords_csv(report))
        where = f",{generated} 个一次性密码已写入 {passwords_out}"
    elif generated:
        where = f";{generated} 个一次性密码未保存(请用 --passwords-out 写出,或在管理页重设)"
    else:
        where = ""
    click.echo(f"已新建 {report.created} 个用户,更新 {report.updated} 个{where}。")


@users.command("deactivate")
@click.argument("username")
def users_deactivate(username: str) -> None:
    """Deactivate a user: sign-in refused, open sessions end."""
    with open_session() as session:
        try:
            user = user_service.find_user(session=session, username=username)
            user_service.set_active(session=session, user=user, active=False, actor_id=None)
        except ServiceError as err:
            fail(err.message)
    click.echo(f"已停用用户 {username}(操作者 {_operator()})。")


@users.command("activate")
@click.argument("username")
def users_activate(username: str) -> None:
    """Reactivate a deactivated user."""
    with open_session() as session:
        try:
            user = user_service.find_user(session=session, username=username)
            user_service.set_active(session=session, user=user, active=True, actor_id=None)
        except ServiceError as err:
            fail(err.message)
    click.echo(f"已启用用户 {username}。")


@users.command("set-password")
@click.argument("username")
@click.option("--generate", is_flag=True, help="生成一次性密码并打印(用户首次登录后须修改)。")
def users_set_password(username: str, generate: bool) -> None:
    """Set a user's password (asked twice, or --generate); they change it at next sign-in."""
    with open_session() as session:
        try:
            user = user_service.find_user(session=session, username=username)
        except ServiceError as err:
            fail(err.message)
        password = None
        if not generate:
            password = click.prompt("新密码", hide_input=True, confirmation_prompt=True)
        try:
            password = user_service.set_password(
                session=session, user=user, password=password, actor_id=None
            )
        except ServiceError as err:
            fail(err.message)
    shown = f":{password}" if generate else ""
    click.echo(f"已为 {username} 设置密码{shown}(下次登录须修改)。")


# --- households --------------------------------------------------------------------------

households = AppGroup("households", help="户台账。")


def _import_households(file: Path, dry_run: bool) -> None:
    with open_session() as session:
        try:
            report = frame_service.import_households(
                session=session, source=_readable(file), dry_run=dry_run, filename=file.name
            )
        except FileImportError as err:
            _report_errors(file, err)
        except ServiceError as err:
            fail(err.message)
    click.echo(report.summary())


@households.command("import")
@click.argument("file", type=FILE)
@click.option("--dry-run", is_flag=True, help="只检查并预览新增/修改/停用,不写入。")
def households_import(file: Path, dry_run: bool) -> None:
    """Import or update the household frame (XLSX or CSV): community_code, building,
    household_code[, grid]. Households of the file's communities that it no longer lists
    are deactivated."""
    _import_households(file, dry_run)


@click.command("import-households")
@with_appcontext
@click.argument("csv_file", type=FILE)
@click.option("--dry-run", is_flag=True, help="只检查并预览,不写入。")
def import_households(csv_file: Path, dry_run: bool) -> None:
    """Import the household frame (alias of ``households import``)."""
    _import_households(csv_file, dry_run)


# --- questionnaires ----------------------------------------------------------------------

questionnaires = AppGroup("questionnaires", help="问卷:发布与列表。")


@questionnaires.command("publish")
@click.argument("file", type=FILE)
@click.option("--key", default=None, help="XLSForm 的问卷标识(YAML 文件自带)。")
@click.option("--version", "version", default=None, help="XLSForm 的版本号(YAML 文件自带)。")
def questionnaires_publish(file: Path, key: str | None, version: str | None) -> None:
    """Check and publish a questionnaire (YAML, or XLSForm .xlsx) as an immutable version."""
    data = _readable(file).read_bytes()
    with open_session() as session:
        try:
            draft = questionnaire_service.parse_upload(
                data=data, filename=file.name, key=key, version=version
            )
            row, created = questionnaire_service.publish(session=session, draft=draft)
        except questionnaire_service.QuestionnaireError as err:
            for problem in err.problems:
                click.echo(problem, err=True)
            fail(f"{len(err.problems)} 处问题,未发布。")
        except ServiceError as err:
            fail(err.message)
    state = "已发布" if created else "该版本已发布过(内容相同),未重复发布"
    click.echo(f"{state}:{row.key} 第 {row.version} 版「{row.title}」({row.content_hash[:19]}…)。")


@questionnaires.command("list")
def questionnaires_list() -> None:
    """List the published questionnaire versions."""
    with open_session() as session:
        rows = questionnaire_service.list_versions(session=session)
    if not rows:
        click.echo("还没有发布任何问卷。")
        return
    for row in rows:
        click.echo(
            f"{row.key:<16} v{row.version:<4} {row.published_at:%Y-%m-%d}  {row.title or ''}"
        )


COMMANDS = (create_user, import_households, geography, users, households, questionnaires)
