"""``flask seed-demo``: the simulated demo city and its accounts."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..commands import fail, open_session
from ..errors import ServiceError
from . import seed as seed_service

DEMO_MARKER = "demo_accounts.json"


@click.command("seed-demo")
@with_appcontext
@click.option(
    "--only-if-empty",
    is_flag=True,
    help="数据库已有非演示数据时只提示、不报错(make run 用):演示城市只写入空数据库。",
)
def seed_demo(only_if_empty: bool) -> None:
    """Seed the simulated demo city and demo accounts (once, only into an empty or demo
    database: a database with a real city's data is refused)."""
    from ..instrument_registry import get_instrument

    instrument = get_instrument("household")
    if instrument is None:
        fail("没有找到标准问卷 household。")
    with open_session() as session:
        try:
            report = seed_service.seed_demo(session=session, instrument=instrument)
        except seed_service.NotADemoDatabase as err:
            if only_if_empty:
                click.echo("数据库已有本市数据,不写入演示城市。")
                return
            fail(err.message)
        except ServiceError as err:
            fail(err.message)
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
