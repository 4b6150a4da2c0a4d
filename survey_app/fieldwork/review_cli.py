"""``flask --app wsgi review …``: the quality pass, back-check draws and the inclusion rule
from a terminal (cron, scripts). One line on success; one line and a non-zero exit on
failure (never a traceback)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import select

from ..commands import fail, open_session
from ..errors import ServiceError
from ..models import Role, User, Wave
from . import backcheck, quality, review


@click.group("review")
def review_cli() -> None:
    """督导审核:质量标记、回访抽样、计入规则。"""


def _analyst(session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.role not in (Role.ANALYST, Role.ADMIN):
        fail(f"找不到创文办分析员或管理员账号 {username}。")
    return user


def _wave(session, wave_id: int) -> Wave:
    wave = session.get(Wave, wave_id)
    if wave is None:
        fail(f"找不到测评轮次 {wave_id}。")
    return wave


@review_cli.command("flags")
@click.option("--wave", "wave_id", type=int, required=True, help="测评轮次 id")
@with_appcontext
def flags(wave_id: int) -> None:
    """Recompute the wave's quality flags with its thresholds."""
    with open_session() as session:
        _wave(session, wave_id)
        n = quality.refresh_flags(session=session, wave_id=wave_id,
                                  tz=current_app.config["SETTINGS"].timezone)  # fmt: skip
    click.echo(f"测评轮次 {wave_id}:质量标记 {n} 条。")


@review_cli.command("draw-backchecks")
@click.option("--wave", "wave_id", type=int, required=True, help="测评轮次 id")
@click.option("--share", type=float, default=None, help="每名调查员的抽查比例,如 0.1")
@click.option("--seed", type=int, default=None, help="随机种子(同一种子结果相同)")
@click.option("--as", "username", default="admin", show_default=True, help="以哪个账号操作")
@with_appcontext
def draw_backchecks(wave_id: int, share: float | None, seed: int | None, username: str) -> None:
    """Draw the wave's back-check sample."""
    with open_session() as session:
        _wave(session, wave_id)
        try:
            new = backcheck.draw(session=session, user=_analyst(session, username), wave_id=wave_id,
                                 share=share, seed=seed)  # fmt: skip
        except ServiceError as err:
            fail(err.message)
    click.echo(f"测评轮次 {wave_id}:新抽取回访核查 {len(new)} 户。")


@review_cli.command("counts")
@click.option("--wave", "wave_id", type=int, required=True, help="测评轮次 id")
@click.argument("rule", type=click.Choice([r.value for r in review.Counts]))
@click.option("--as", "username", default="admin", show_default=True, help="以哪个账号操作")
@with_appcontext
def counts(wave_id: int, rule: str, username: str) -> None:
    """Which interviews the wave's results count: approved_pending or approved."""
    with open_session() as session:
        _wave(session, wave_id)
        try:
            review.set_counts(session=session, user=_analyst(session, username), wave_id=wave_id,
                              counts=rule)  # fmt: skip
            ex = review.excluded(session=session, wave_id=wave_id)
        except ServiceError as err:
            fail(err.message)
    click.echo(
        f"测评轮次 {wave_id}:计入 {ex.counted} 份,退回未计入 {ex.rejected} 份,待审核未计入 {ex.pending} 份。"
    )
