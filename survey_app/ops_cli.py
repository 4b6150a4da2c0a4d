"""``flask`` commands of operations: backup, restore, purge-personal-data.

See docs/operations.md ("Backups and a tested restore", "Retention of personal data").
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from . import backup as backups
from . import retention
from .commands import fail, open_session

FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("backup")
@with_appcontext
@click.argument("dest", type=FILE)
def backup_command(dest: Path) -> None:
    """Back up the database to DEST (SQLite online backup, or pg_dump -Fc)."""
    url = current_app.config["SETTINGS"].database_url
    try:
        backups.backup(url, dest)
    except (backups.BackupError, OSError) as err:
        fail(f"备份失败:{err}")
    summary = ",".join(f"{k} {v}" for k, v in backups.counts(url).items())
    click.echo(f"已备份到 {dest}({summary})。密钥不在备份中:请另行保管 SECRET_KEY。")


@click.command("restore")
@with_appcontext
@click.argument("src", type=FILE)
@click.option("--yes", is_flag=True, help="确认用备份替换当前数据库(请先停止应用服务)。")
def restore_command(src: Path, yes: bool) -> None:
    """Replace the database with the backup SRC (stop the app servers first)."""
    if not yes:
        fail("恢复会替换当前数据库的全部内容:确认后加 --yes 再运行(请先停止应用服务)。")
    url = current_app.config["SETTINGS"].database_url
    try:
        backups.restore(url, src)
    except (backups.BackupError, OSError) as err:
        fail(f"恢复失败:{err}")
    summary = ",".join(f"{k} {v}" for k, v in backups.counts(url).items())
    click.echo(f"已从 {src} 恢复({summary})。")


@click.command("purge-personal-data")
@with_appcontext
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="保存期限(天),默认 RETENTION_DAYS(365)。")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="只统计,不删除。")
def purge_command(days: int | None, dry_run: bool) -> None:
    """Delete positions and free text older than the retention period."""
    days = days or current_app.config["SETTINGS"].retention_days
    with open_session() as session:
        result = retention.purge(session=session, days=days, dry_run=dry_run)
    what = ",".join(f"{k} {v}" for k, v in result.counts.items())
    verb = "将删除" if dry_run else "已删除"
    click.echo(f"{verb} {result.cutoff:%Y-%m-%d} 之前的位置与自由文本:{what}。")
