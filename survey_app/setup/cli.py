"""``flask`` commands of setup: create-user, import-households."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..commands import fail, open_session
from ..errors import ServiceError
from . import frame as frame_service
from . import users as user_service


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
    with open_session() as session:
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
            fail(err.message)
    click.echo(f"已创建用户 {user.username}({user.role})。")


@click.command("import-households")
@with_appcontext
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
def import_households(csv_file: Path) -> None:
    """Import a household frame CSV (community_code, building, household_code[, grid])."""
    try:
        data = csv_file.read_bytes()
    except OSError as err:
        fail(f"无法读取 {csv_file}: {err.strerror}")
    with open_session() as session:
        try:
            report = frame_service.import_households(session=session, data=data)
        except frame_service.FrameImportError as err:
            for error in err.errors:
                click.echo(f"{csv_file}: {error}", err=True)
            fail(f"{len(err.errors)} 处错误,未导入任何数据。")
    click.echo(f"已导入 {report.households} 户,新建楼栋 {report.buildings_created} 个。")
