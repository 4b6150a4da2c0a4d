"""``flask`` commands: db-upgrade, seed-demo, create-user, import-households.

Errors print one line and exit non-zero; never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from . import migrate
from .services import ServiceError
from .services import frame as frame_service
from .services import seed as seed_service
from .services import users as user_service

DEMO_MARKER = "demo_accounts.json"


def _session() -> Session:
    return Session(current_app.extensions["engine"], expire_on_commit=False)


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.command("db-upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Migrate the database to the newest schema (Alembic)."""
    url = current_app.config["SETTINGS"].database_url
    migrate.upgrade(url)
    click.echo("数据库已迁移到最新版本。")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Seed the simulated demo city and demo accounts (once)."""
    from .instrument_registry import get_instrument

    instrument = get_instrument("household")
    if instrument is None:
        _fail("没有找到标准问卷 household。")
    with _session() as session:
        try:
            report = seed_service.seed_demo(session=session, instrument=instrument)
        except ServiceError as err:
            _fail(err.message)
    click.echo("演示数据已创建。" if report.created else "演示数据已存在,未重复创建。")
    click.echo(f"户数: {report.households}")
    _write_demo_marker(report.accounts)
    click.echo(f"演示账号(密码均为 {seed_service.DEMO_PASSWORD}):")
    for username, role, community in report.accounts:
        click.echo(f"  {username:<12} {role:<10} {community}")


def _write_demo_marker(accounts) -> None:
    """Let the sign-in page list the demo accounts (delete the file to hide them)."""
    path = Path(current_app.instance_path) / DEMO_MARKER
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"username": u, "role": r, "community": c} for u, r, c in accounts]
    path.write_text(
        json.dumps({"password": seed_service.DEMO_PASSWORD, "accounts": rows}, ensure_ascii=False)
    )


@click.command("create-user")
@with_appcontext
@click.option("--username", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["canvasser", "analyst", "secretary", "admin"])
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
    with _session() as session:
        try:
            user = user_service.create_user(
                session=session,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                community_code=community_code,
            )
        except ServiceError as err:
            _fail(err.message)
    click.echo(f"已创建用户 {user.username}({user.role})。")


@click.command("import-households")
@with_appcontext
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
def import_households(csv_file: Path) -> None:
    """Import a household frame CSV (community_code, building, household_code[, grid])."""
    try:
        data = csv_file.read_bytes()
    except OSError as err:
        _fail(f"无法读取 {csv_file}: {err.strerror}")
    with _session() as session:
        try:
            report = frame_service.import_households(session=session, data=data)
        except frame_service.FrameImportError as err:
            for error in err.errors:
                click.echo(f"{csv_file}: {error}", err=True)
            _fail(f"{len(err.errors)} 处错误,未导入任何数据。")
    click.echo(f"已导入 {report.households} 户,新建楼栋 {report.buildings_created} 个。")


def init_app(app: Flask) -> None:
    for command in (db_upgrade, seed_demo, create_user, import_households):
        app.cli.add_command(command)
