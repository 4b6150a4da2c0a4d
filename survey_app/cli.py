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
    from .commands import open_session
    from .instrument_registry import all_instruments
    from .setup.questionnaires import publish_packaged

    # The packaged forms marked published in their register are published on upgrade.
    with open_session() as session:
        published = publish_packaged(session=session, forms=all_instruments())
    versions = "、".join(f"{r.key} v{r.version}" for r in published)
    click.echo(f"数据库已迁移到最新版本。标准问卷:{versions or '无'}。")


def init_app(app: Flask) -> None:
    from .demo.cli import seed_demo
    from .fieldwork.cli import waves
    from .fieldwork.review_cli import review_cli
    from .ops_cli import backup_command, purge_command, restore_command
    from .setup.cli import COMMANDS as SETUP_COMMANDS

    for command in (db_upgrade, seed_demo, *SETUP_COMMANDS, waves, review_cli):
        app.cli.add_command(command)
    for command in (backup_command, restore_command, purge_command):
        app.cli.add_command(command)
