"""``flask`` commands: db-upgrade here; each job adds its own (``setup.cli``, ``demo.cli``).

Errors print one line and exit non-zero; never a traceback.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import migrate


@click.command("db-upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Migrate the database to the newest schema (Alembic)."""
    url = current_app.config["SETTINGS"].database_url
    migrate.upgrade(url)
    click.echo("数据库已迁移到最新版本。")


def init_app(app: Flask) -> None:
    from .demo.cli import seed_demo
    from .fieldwork.cli import waves
    from .setup.cli import create_user, import_households

    for command in (db_upgrade, seed_demo, create_user, import_households, waves):
        app.cli.add_command(command)
