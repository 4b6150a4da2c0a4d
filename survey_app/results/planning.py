"""Plan a wave by simulation (创文办 analysts): the household frame and last wave's rates
through :func:`analysis.simulate_wave` and :func:`analysis.smallest_design`.

A simulation of 60 communities takes seconds, so it runs in a background thread; the
thread writes its progress and result to a small JSON file under the instance folder
(``plan_jobs/<id>.json``), which any worker process can read — the page polls it and
shows a progress bar while the request threads stay free.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from analysis.errors import AnalysisInputError
from analysis.simulate import WaveDesign, simulate_wave, smallest_design

from ..errors import ServiceError
from ..models import Community, Household, Street, User, Wave
from .pages import overview

JOB_DIR = "plan_jobs"
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class PlanRequest:
    """What the analyst asked for (rates as proportions)."""

    design: str
    n: int | None
    buildings: int | None
    per_building: int | None
    expected_source: str  # "last" (last wave's estimates) or "typed"
    expected: float
    indicator: str
    response_rate: float
    icc: float
    goal: float
    replicates: int
    street_id: int | None
    method: str = "korn-graubard"
    level: float = 0.95
    target: float = 0.99


def frame_for(*, session: Session, street_id: int | None) -> tuple[pd.DataFrame, dict]:
    """Households per community and building (the frame), and community names."""
    stmt = (
        sa_select(Household.community_id, Household.building_id, func.count(Household.id))
        .join(Community, Community.id == Household.community_id)
        .group_by(Household.community_id, Household.building_id)
    )
    if street_id is not None:
        stmt = stmt.where(Community.street_id == street_id)
    rows = session.connection().execute(stmt).all()
    if not rows:
        raise ServiceError("户籍台账中没有住户,无法模拟。请先导入住户。", status=422)
    frame = pd.DataFrame(rows, columns=["community", "building", "households"])
    ids = frame["community"].unique().tolist()
    names = dict(
        session.exec(select(Community.id, Community.name).where(Community.id.in_(ids))).all()
    )
    return frame, names


def expected_rates(
    *, session: Session, request: PlanRequest, wave: Wave | None, instrument, communities
) -> tuple[dict, dict]:
    """Per community the rate to simulate, and where it came from ("last" / "typed")."""
    rates = {c: request.expected for c in communities}
    source = {c: "typed" for c in communities}
    if request.expected_source == "last" and wave is not None:
        data = overview(session=session, wave=wave, indicator=request.indicator,
                        instrument=instrument, street_id=request.street_id)  # fmt: skip
        for row in data.rows:
            if row.community_id in rates and row.rate.estimate is not None:
                rates[row.community_id] = float(row.rate.estimate)
                source[row.community_id] = "last"
    return rates, source


def start_plan(
    *, session: Session, user: User, request: PlanRequest, wave: Wave | None, instrument,
    instance_path: Path,
) -> str:  # fmt: skip
    """Check the request, read its inputs and start the simulation; returns the job id."""
    frame, names = frame_for(session=session, street_id=request.street_id)
    expected, source = expected_rates(
        session=session, request=request, wave=wave, instrument=instrument,
        communities=frame["community"].unique().tolist(),
    )  # fmt: skip
    try:
        design = WaveDesign(request.design, n=request.n, buildings=request.buildings,
                            per_building=request.per_building)  # fmt: skip
    except AnalysisInputError as err:
        raise ServiceError(str(err), status=400) from None
    street = session.get(Street, request.street_id) if request.street_id else None
    job_id = secrets.token_hex(8)
    job = _JobFile(instance_path, job_id)
    job.write({
        "state": "running", "progress": 0.0, "user_id": user.id, "started": time.time(),
        "request": asdict(request), "scope": street.name if street else None,
        "wave": wave.name if wave else None,
    })  # fmt: skip
    thread = threading.Thread(
        target=_run, args=(job, frame, names, expected, source, design, request), daemon=True
    )
    thread.start()
    _forget_old(instance_path)
    return job_id


def job_status(*, instance_path: Path, job_id: str, user: User) -> dict:
    """The job's state: ``running`` with ``progress`` (0–1), ``done`` with ``rows``, or
    ``failed`` with ``error``. Only the analyst who started it (or an admin) sees it."""
    if not job_id.isalnum() or len(job_id) > 32:
        raise ServiceError("找不到该模拟。", status=404)
    data = _JobFile(instance_path, job_id).read()
    if data is None:
        raise ServiceError("找不到该模拟(可能已过期)。", status=404)
    if data.get("user_id") != user.id and user.role != "admin":
        raise ServiceError("找不到该模拟。", status=404)
    return data


def _run(job, frame, names, expected, source, design, request: PlanRequest) -> None:
    options = dict(
        response_rate=request.response_rate, icc=request.icc, method=request.method,
        level=request.level, target=request.target, replicates=request.replicates, seed=20261130,
    )  # fmt: skip
    state = job.read() or {}
    last = [0.0]

    def progress(share: float, start: float, span: float) -> None:
        value = start + span * share
        if value - last[0] >= 0.02 or share >= 1.0:
            last[0] = value
            job.write({**state, "progress": round(value, 3)})

    try:
        result = simulate_wave(frame, expected=expected, design=design,
                               progress=lambda s: progress(s, 0.0, 0.3), **options)  # fmt: skip
        found = {}
        if design.kind != "census":
            found = {
                s.community: s
                for s in smallest_design(frame, expected=expected, design=design,
                                         goal=request.goal,
                                         progress=lambda s: progress(s, 0.3, 0.7), **options)
            }  # fmt: skip
        rows = [_row(p, names, source, found.get(p.community)) for p in result.communities]
        rows.sort(key=lambda r: (r["p_settled"], r["name"]))
        job.write({**state, "state": "done", "progress": 1.0, "rows": rows,
                   "finished": time.time()})  # fmt: skip
    except Exception as err:  # noqa: BLE001 - the page says it failed, in one line
        job.write({**state, "state": "failed", "error": f"{type(err).__name__}: {err}"})


def _row(plan, names, source, found) -> dict:
    return {
        "community": int(plan.community),
        "name": names.get(plan.community, str(plan.community)),
        "households": plan.households,
        "buildings": plan.buildings,
        "expected": plan.expected,
        "expected_source": source.get(plan.community, "typed"),
        "sample": plan.sample,
        "completes": round(plan.completes, 1),
        "p_met": plan.p_met,
        "p_not_met": plan.p_not_met,
        "p_undetermined": plan.p_undetermined,
        "p_settled": plan.p_settled,
        "width": plan.width,
        "smallest": None if found is None else found.sample,
        "searched": found is not None,
    }


class _JobFile:
    """One job's state as JSON, replaced atomically (readers never see half a file)."""

    def __init__(self, instance_path: Path, job_id: str):
        self.path = Path(instance_path) / JOB_DIR / f"{job_id}.json"

    def write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False))
        os.replace(tmp, self.path)

    def read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None


def _forget_old(instance_path: Path) -> None:
    folder = Path(instance_path) / JOB_DIR
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass
