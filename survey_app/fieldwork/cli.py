"""``flask --app wsgi waves …``: a wave from plan to close, scriptable.

One line on success; one line and a non-zero exit on failure (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlmodel import select

from ..commands import fail, open_session
from ..errors import ServiceError
from ..models import Community, User, Wave
from . import assign, draw, monitor, plan, rehearse

ADMIN = "admin"


@click.group("waves")
def waves() -> None:
    """测评轮次:创建、抽样、分配、开启、结束。"""


def _wave(session, wave_id: int) -> Wave:
    return plan.get_wave(session=session, wave_id=wave_id)


def _run(work):
    with open_session() as session:
        try:
            return work(session)
        except ServiceError as err:
            session.rollback()
            fail(err.message)


def _date(value: str | None, what: str):
    try:
        return plan.parse_date(value, what)
    except ServiceError as err:
        fail(err.message)


@waves.command("create")
@click.option("--name", required=True)
@click.option("--questionnaire", required=True, help="KEY:VERSION of a published questionnaire")
@click.option("--communities", required=True, help="all, or community / street codes: C0101,C0102")
@click.option("--target", type=float, default=0.99, show_default=True)
@click.option("--confidence", type=float, default=0.95, show_default=True)
@click.option("--starts")
@click.option("--ends")
@click.option("--max-attempts", type=int, default=3, show_default=True)
@with_appcontext
def create(
    name, questionnaire, communities, target, confidence, starts, ends, max_attempts
) -> None:
    """Create a draft wave; prints its id."""
    p = plan.WavePlan(
        name=name,
        questionnaire=questionnaire,
        communities=communities,
        target=target,
        confidence=confidence,
        starts_on=_date(starts, "开始日期"),
        ends_on=_date(ends, "结束日期"),
        max_attempts=max_attempts,
    )
    wave = _run(lambda s: plan.create_wave(session=s, plan=p))
    click.echo(wave.id)


@waves.command("sample")
@click.argument("wave_id", type=int)
@click.option(
    "--design",
    required=True,
    type=click.Choice(["census", "srs", "systematic", "two-stage", "upload"]),
)
@click.option("--per-community", type=int)
@click.option("--share", type=float)
@click.option("--buildings", type=int)
@click.option("--per-building", type=int)
@click.option(
    "--equal-buildings",
    is_flag=True,
    help="two-stage: buildings with equal probability (default PPS)",
)
@click.option("--reserves", type=int, default=2, show_default=True)
@click.option("--reserve-size", type=int)
@click.option("--file", "file", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, required=True)
@with_appcontext
def sample(wave_id, design, per_community, share, buildings, per_building, equal_buildings, reserves,
           reserve_size, file, seed) -> None:  # fmt: skip
    """Draw the draft wave's sample."""
    data = None
    if file is not None:
        try:
            data = Path(file).read_bytes()
        except OSError as err:
            fail(f"无法读取文件 {file}:{err.strerror}")
    choice = draw.DesignChoice(
        design=design,
        seed=seed,
        per_community=per_community,
        share=share,
        buildings=buildings,
        per_building=per_building,
        pps=not equal_buildings,
        reserves=reserves,
        reserve_size=reserve_size,
    )
    main = _run(
        lambda s: draw.sample_wave(session=s, wave=_wave(s, wave_id), choice=choice, upload=data)
    )
    click.echo(f"轮次 {wave_id}:已按 {design} 抽取 {main} 户(种子 {seed})。")


@waves.command("release")
@click.argument("wave_id", type=int)
@with_appcontext
def release(wave_id) -> None:
    """Release the next reserve replicate."""

    def work(s):
        added = draw.release_next(session=s, wave=_wave(s, wave_id))
        return added, _wave(s, wave_id).released

    added, number = _run(work)
    click.echo(f"轮次 {wave_id}:已启用第 {number} 组样本,新增 {added} 户。")


@waves.command("assign")
@click.argument("wave_id", type=int)
@with_appcontext
def assign_cmd(wave_id) -> None:
    """Assign every unassigned household, balanced by building."""
    result = _run(lambda s: assign.assign_wave(session=s, wave=_wave(s, wave_id)))
    extra = (
        f",{result['communities_without_canvassers']} 个社区没有调查员"
        if result["communities_without_canvassers"]
        else ""
    )
    click.echo(f"轮次 {wave_id}:已分配 {result['assigned']} 户{extra}。")


@waves.command("reassign")
@click.argument("wave_id", type=int)
@click.option("--to", "to", required=True, help="the canvasser's username")
@click.option("--building", "buildings", multiple=True)
@click.option("--from", "from_user", help="the current canvasser's username")
@click.option("--state", type=click.Choice(assign.STATES))
@with_appcontext
def reassign_cmd(wave_id, to, buildings, from_user, state) -> None:
    """Give households (by building, canvasser, state) to another canvasser."""

    def work(s):
        selection = assign.Selection(
            buildings=tuple(buildings), canvasser_id=_user_id(s, from_user), state=state
        )
        return assign.reassign(
            session=s, wave=_wave(s, wave_id), selection=selection, to_username=to
        )

    click.echo(f"轮次 {wave_id}:已改派 {_run(work)} 户给 {to}。")


@waves.command("unassign")
@click.argument("wave_id", type=int)
@click.option("--building", "buildings", multiple=True)
@click.option("--from", "from_user")
@click.option("--state", type=click.Choice(assign.STATES))
@with_appcontext
def unassign_cmd(wave_id, buildings, from_user, state) -> None:
    """Take households back from their canvassers."""

    def work(s):
        selection = assign.Selection(
            buildings=tuple(buildings), canvasser_id=_user_id(s, from_user), state=state
        )
        return assign.unassign(session=s, wave=_wave(s, wave_id), selection=selection)

    click.echo(f"轮次 {wave_id}:已收回 {_run(work)} 户。")


def _community_id(session, code: str | None) -> int | None:
    if code is None:
        return None
    found = session.exec(select(Community.id).where(Community.code == code)).first()
    if found is None:
        raise ServiceError(f"找不到社区“{code}”。")
    return found


def _user_id(session, username: str | None) -> int | None:
    if username is None:
        return None
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise ServiceError(f"找不到用户“{username}”。")
    return user.id


def _transition(name: str, verb: str, done: str):
    @waves.command(name)
    @click.argument("wave_id", type=int)
    @with_appcontext
    def command(wave_id) -> None:
        wave = _run(lambda s: getattr(plan, verb)(session=s, wave=_wave(s, wave_id)))
        click.echo(f"轮次 {wave.id}“{wave.name}”{done}。")

    command.__doc__ = f"{done} ({name} the wave)."
    return command


_transition("open", "open_wave", "已开启")
_transition("close", "close_wave", "已结束,数据已冻结")
_transition("archive", "archive_wave", "已归档")


@waves.command("rehearse")
@click.argument("wave_id", type=int)
@click.option("--count", type=int, help="how many test interviews to generate")
@click.option("--seed", type=int, help="random seed (default: a new one, printed)")
@click.option("--remove", is_flag=True, help="delete every test interview of the wave")
@with_appcontext
def rehearse_cmd(wave_id, count, seed, remove) -> None:
    """演练:生成测试问卷(标记为测试数据,不计入结果),或用 --remove 全部删除。"""
    if remove == (count is not None):
        fail("请给出 --count N(生成测试问卷)或 --remove(删除测试问卷),二者选一。")
    if remove:
        removed = _run(lambda s: rehearse.remove(session=s, wave=_wave(s, wave_id)))
        click.echo(f"轮次 {wave_id}:已删除 {removed} 份测试问卷(演练数据)。")
        return
    done = _run(
        lambda s: rehearse.generate(session=s, wave=_wave(s, wave_id), count=count, seed=seed)
    )
    where = "覆盖社区的住户(尚未抽样)" if done.synthetic else "本轮样本住户"
    click.echo(
        f"轮次 {wave_id}:已为{where}生成 {done.count} 份测试问卷(种子 {done.seed};"
        f"共 {done.total} 份测试数据,不计入结果)。"
    )


@waves.command("recompute")
@click.argument("wave_id", type=int)
@click.option("--reason", required=True)
@with_appcontext
def recompute(wave_id, reason) -> None:
    """Recompute a closed wave's frozen figures (audited)."""
    wave = _run(lambda s: plan.refreeze(session=s, wave=_wave(s, wave_id), reason=reason))
    click.echo(f"轮次 {wave.id}:已重新计算并冻结。")


@waves.command("list")
@with_appcontext
def list_cmd() -> None:
    """Every wave: id, status, design, dates, name."""
    with open_session() as s:
        for w in s.exec(select(Wave).order_by(Wave.id)).all():
            dates = f"{w.starts_on or '—'}~{w.ends_on or '—'}"
            click.echo(
                f"{w.id}\t{w.status}\t{w.design or '—'}\t{w.instrument_key}:{w.instrument_version}\t{dates}\t{w.name}"
            )


@waves.command("progress")
@click.argument("wave_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@with_appcontext
def progress(wave_id, fmt) -> None:
    """Dispositions and response rates per community and canvasser."""

    def work(s):
        admin = User(username="cli", display_name="cli", password_hash="", role=ADMIN)
        return monitor.monitor(session=s, user=admin, wave=_wave(s, wave_id))

    m = _run(work)
    if fmt == "csv":
        click.echo(monitor.progress_csv(m), nl=False)
    elif fmt == "json":
        rows = [dict(zip(monitor.HEADER, r, strict=True)) for r in monitor.table_rows(m)]
        click.echo(json.dumps({"wave": wave_id, "rows": rows}, ensure_ascii=False))
    else:
        for r in [monitor.HEADER, *monitor.table_rows(m)]:
            click.echo("\t".join("" if v is None else str(v) for v in r))
