"""The household frame (户): import from XLSX or CSV, upserted by (community, household
code), all or nothing.

Columns (English or Chinese headers): ``community_code``/社区编码, ``building``/楼栋,
``household_code``/户编码, optional ``grid``/网格. CSV in UTF-8 (with or without BOM) or
GB18030. The file is the frame of the communities it names: households it adds are added,
households whose building or grid changed are updated (and reactivated), and households
of those communities that the file no longer lists are deactivated (kept with their
history, never deleted). Every error names the line and the column; a file with any
error changes nothing.

How a large file is taken in without stalling canvassers (an ``ImportJob``):

1. *read*: the file is streamed (never whole in memory); each row is checked and written
   to ``household_stage`` in chunks of ``CHUNK`` rows, each its own short transaction.
2. *check*: duplicates and the preview (added / changed / deactivated) are computed in
   SQL over the staging rows. Any error: the job fails, the staging rows are dropped and
   the frame is untouched. A dry run stops here.
3. *apply*: the staging rows are applied in chunks, each a short transaction (SQLite's
   write lock is held for milliseconds, not seconds), then dropped. Every chunk is an
   idempotent upsert, so a job interrupted while applying is finished by running
   ``apply`` again; the whole file is checked before the first row is applied.

The web page runs steps 1–3 in a background thread and shows the job's progress.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, delete, exists, func, insert, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from .. import audit
from ..db import writers_turn
from ..errors import ServiceError
from ..models import Building, Community, Household, HouseholdStage, ImportJob, ImportStatus
from ..models._types import utcnow
from ..tabular import MAX_ERRORS, Column, FileImportError, RowError, Table

log = logging.getLogger(__name__)

COLUMNS = (
    Column("community_code", ("community_code", "社区编码", "社区代码"), max_length=32),
    Column("building", ("building", "楼栋", "楼栋号"), max_length=64),
    Column("household_code", ("household_code", "户编码", "户号"), max_length=64),
    Column("grid", ("grid", "网格"), required=False, max_length=64),
)
CHUNK = 2000  # rows staged (or dropped) per transaction
APPLY_CHUNK = 500  # staged rows applied per transaction: each holds the write lock briefly
PAUSE = 0.005  # seconds between a job's transactions: canvassers' writes go in between
_SUPERSEDED = {"line": 0, "column": "-", "message": "已被之后的导入取代,未写入。"}


class FrameImportError(FileImportError):
    """A frame file refused: nothing was changed."""


# Kept for callers of the first version of this module.
FrameError = RowError


@dataclass(frozen=True)
class FrameImportReport:
    households: int  # rows of the file
    added: int
    changed: int
    deactivated: int
    unchanged: int
    buildings_created: int
    applied: bool

    @classmethod
    def of(cls, job: ImportJob) -> FrameImportReport:
        s = job.summary or {}
        return cls(
            households=job.rows_read,
            added=s.get("added", 0),
            changed=s.get("changed", 0),
            deactivated=s.get("deactivated", 0),
            unchanged=s.get("unchanged", 0),
            buildings_created=s.get("buildings_created", 0),
            applied=job.status == ImportStatus.DONE,
        )

    def summary(self) -> str:
        verb = "已导入" if self.applied else "试导入(未写入)"
        return (
            f"{verb} {self.households} 户:新增 {self.added}、修改 {self.changed}、"
            f"停用 {self.deactivated}、不变 {self.unchanged},新建楼栋 {self.buildings_created} 个。"
        )


BUSY = (ImportStatus.QUEUED, ImportStatus.READING, ImportStatus.APPLYING)


def create_job(
    *, session: Session, filename: str, path: Path, actor_id: int | None, dry_run: bool
) -> ImportJob:
    """A new import job; refused while another one is running. Previews never confirmed
    are dropped (their staging rows with them)."""
    recent = utcnow() - timedelta(minutes=30)
    busy = session.exec(
        select(ImportJob.id).where(
            ImportJob.kind == "households",
            ImportJob.status.in_(BUSY),
            ImportJob.updated_at > recent,
        )
    ).first()
    if busy is not None:
        raise ServiceError("另一个户台账导入正在进行,请等它完成后再导入。")
    stale = session.exec(
        select(ImportJob.id).where(
            ImportJob.kind == "households", ImportJob.status == ImportStatus.PREVIEW
        )
    ).all()
    if stale:
        session.exec(delete(HouseholdStage).where(HouseholdStage.job_id.in_(stale)))
        session.exec(
            update(ImportJob)
            .where(ImportJob.id.in_(stale))
            .values(status=ImportStatus.FAILED, errors=[_SUPERSEDED])
        )
    job = ImportJob(
        kind="households",
        filename=filename[:255],
        path=str(path),
        dry_run=dry_run,
        created_by=actor_id,
    )
    session.add(job)
    session.commit()
    session.refresh(job)
    return job


def _save_job(engine: Engine, job_id: int, **values) -> None:
    with writers_turn(engine), Session(engine) as s:
        s.exec(
            update(ImportJob).where(ImportJob.id == job_id).values(updated_at=utcnow(), **values)
        )
        s.commit()


def _drop_stage(engine: Engine, job_id: int) -> None:
    """Delete a job's staging rows a chunk at a time (one big DELETE holds the lock)."""
    st = HouseholdStage
    with Session(engine) as s:
        low, high = s.exec(
            select(func.min(st.id), func.max(st.id)).where(st.job_id == job_id)
        ).one()
    if low is None:
        return
    for start in range(low, high + 1, CHUNK):
        with writers_turn(engine), Session(engine) as s:
            s.exec(delete(st).where(st.job_id == job_id, st.id >= start, st.id < start + CHUNK))
            s.commit()
        time.sleep(PAUSE)


def _read(engine: Engine, job: ImportJob) -> int:
    """Stream the file into the staging table; raise FrameImportError on any bad row."""
    with Session(engine) as s:
        communities = dict(s.exec(select(Community.code, Community.id)).all())
    table = Table(Path(job.path), COLUMNS)
    errors: list[RowError] = []
    chunk: list[dict] = []
    read = 0

    def flush() -> None:
        with writers_turn(engine), Session(engine) as s:
            s.exec(insert(HouseholdStage), params=chunk)
            s.commit()
        time.sleep(PAUSE)
        chunk.clear()
        _save_job(engine, job.id, rows_read=read)

    for line, values in table.rows():
        row_errors = table.check(line, values)
        community_id = communities.get(values["community_code"])
        if values["community_code"] and community_id is None and not row_errors:
            row_errors.append(
                RowError(
                    line,
                    table.label("community_code"),
                    f"未知社区编码 {values['community_code']!r}",
                )
            )
        if row_errors:
            errors.extend(row_errors)
            if len(errors) >= MAX_ERRORS:
                break
            continue
        read += 1
        chunk.append(
            {
                "job_id": job.id,
                "line": line,
                "community_id": community_id,
                "building": values["building"],
                "code": values["household_code"],
                "grid": values.get("grid") or None,
            }
        )
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    # Rows are staged even when others have errors, so duplicates are found in one pass.
    errors += _duplicates(engine, job, table.label("household_code"))
    if errors:
        raise FrameImportError(sorted(errors, key=lambda e: e.line)[:MAX_ERRORS])
    if read == 0:
        raise FrameImportError([RowError(2, "-", "文件中没有户数据")])
    return read


def _duplicates(engine: Engine, job: ImportJob, label: str) -> list[RowError]:
    st = HouseholdStage
    with Session(engine) as s:
        rows = s.exec(
            select(func.min(st.line), func.max(st.line))
            .where(st.job_id == job.id)
            .group_by(st.community_id, st.code)
            .having(func.count() > 1)
            .limit(MAX_ERRORS)
        ).all()
    return [RowError(last, label, f"与第 {first} 行重复") for first, last in rows]


def _same_household():
    st, h = HouseholdStage, Household
    return and_(h.community_id == st.community_id, h.code == st.code)


def _preview(engine: Engine, job_id: int) -> dict[str, int]:
    """What applying the staged rows would do, counted in SQL."""
    st, h, b = HouseholdStage, Household, Building
    mine = st.job_id == job_id
    with Session(engine) as s:
        staged_communities = select(st.community_id).where(mine).distinct()
        added = s.exec(
            select(func.count()).select_from(st).where(mine, ~exists().where(_same_household()))
        ).one()
        changed = s.exec(
            select(func.count())
            .select_from(st)
            .join(h, _same_household())
            .join(b, b.id == h.building_id)
            .where(
                mine,
                or_(
                    b.code != st.building,
                    ~h.active,
                    func.coalesce(h.grid, "") != func.coalesce(st.grid, ""),
                ),
            )
        ).one()
        deactivated = s.exec(
            select(func.count())
            .select_from(h)
            .where(
                h.community_id.in_(staged_communities),
                h.active,
                ~exists().where(mine, st.community_id == h.community_id, st.code == h.code),
            )
        ).one()
        new_buildings = s.exec(
            select(func.count()).select_from(
                select(st.community_id, st.building)
                .where(
                    mine,
                    ~exists().where(b.community_id == st.community_id, b.code == st.building),
                )
                .distinct()
                .subquery()
            )
        ).one()
        total = s.exec(select(func.count()).select_from(st).where(mine)).one()
    return {
        "added": added,
        "changed": changed,
        "deactivated": deactivated,
        "unchanged": total - added - changed,
        "buildings_created": new_buildings,
        "communities": None,
    }


def _apply_chunk(s: Session, job_id: int, low: int, high: int) -> None:
    """Upsert the staged rows with ids in [low, high): idempotent."""
    st, h, b = HouseholdStage, Household, Building
    in_chunk = and_(st.job_id == job_id, st.id >= low, st.id < high)
    new_buildings = (
        select(st.community_id, st.building, func.min(st.grid))
        .where(in_chunk, ~exists().where(b.community_id == st.community_id, b.code == st.building))
        .group_by(st.community_id, st.building)
    )
    s.exec(insert(b).from_select(["community_id", "code", "grid"], new_buildings))
    h2 = aliased(Household)
    targets = (
        select(h2.id)
        .join(st, and_(h2.community_id == st.community_id, h2.code == st.code))
        .where(in_chunk)
    )
    if s.exec(targets.limit(1)).first() is None:  # a fresh frame: nothing to update
        _insert_new(s, in_chunk)
        return

    def staged_value(column):
        return (
            select(column)
            .where(in_chunk, st.community_id == h.community_id, st.code == h.code)
            .limit(1)
            .scalar_subquery()
        )

    new_building = (
        select(b.id)
        .join(st, and_(b.community_id == st.community_id, b.code == st.building))
        .where(in_chunk, st.community_id == h.community_id, st.code == h.code)
        .limit(1)
        .scalar_subquery()
    )
    s.exec(
        update(h)
        .where(h.id.in_(targets))
        .where(
            or_(
                ~h.active,
                h.building_id != new_building,
                func.coalesce(h.grid, "") != func.coalesce(staged_value(st.grid), ""),
            )
        )
        .values(building_id=new_building, grid=staged_value(st.grid), active=True)
        .execution_options(synchronize_session=False)
    )
    # New households last: the update above then only looks at those already there.
    _insert_new(s, in_chunk)


def _insert_new(s: Session, in_chunk) -> None:
    st, h, b = HouseholdStage, Household, Building
    new_households = (
        select(st.community_id, b.id, st.code, st.grid, True)
        .join(b, and_(b.community_id == st.community_id, b.code == st.building))
        .where(in_chunk, ~exists().where(_same_household()))
    )
    s.exec(
        insert(h).from_select(
            ["community_id", "building_id", "code", "grid", "active"], new_households
        )
    )


def _deactivate_missing(s: Session, job_id: int, community_id: int) -> None:
    st, h = HouseholdStage, Household
    s.exec(
        update(h)
        .where(
            h.community_id == community_id,
            h.active,
            ~exists().where(
                st.job_id == job_id, st.community_id == h.community_id, st.code == h.code
            ),
        )
        .values(active=False)
        .execution_options(synchronize_session=False)
    )


def apply(engine: Engine, job_id: int) -> None:
    """Apply a checked job's staging rows in short transactions, then drop them."""
    st = HouseholdStage
    _save_job(engine, job_id, status=ImportStatus.APPLYING)
    with Session(engine) as s:
        low, high = s.exec(
            select(func.min(st.id), func.max(st.id)).where(st.job_id == job_id)
        ).one()
        communities = s.exec(select(st.community_id).where(st.job_id == job_id).distinct()).all()
    applied = 0
    if low is not None:
        for start in range(low, high + 1, APPLY_CHUNK):
            with writers_turn(engine), Session(engine) as s:
                _apply_chunk(s, job_id, start, start + APPLY_CHUNK)
                s.commit()
            time.sleep(PAUSE)
            if (start - low) // APPLY_CHUNK % 4 == 3 or start + APPLY_CHUNK > high:
                with Session(engine) as s:  # progress for the page, read outside the lock
                    applied = s.exec(
                        select(func.count())
                        .select_from(st)
                        .where(st.job_id == job_id, st.id < start + APPLY_CHUNK)
                    ).one()
                _save_job(engine, job_id, rows_applied=applied)
    for community_id in communities:
        with writers_turn(engine), Session(engine) as s:
            _deactivate_missing(s, job_id, community_id)
            s.commit()
    with Session(engine) as s:
        job = s.get(ImportJob, job_id)
        audit.record(
            session=s,
            action="import",
            entity="household",
            user_id=job.created_by,
            detail={"file": job.filename, "rows": job.rows_read, **(job.summary or {})},
        )
        s.commit()
    _drop_stage(engine, job_id)
    _save_job(engine, job_id, status=ImportStatus.DONE, rows_applied=applied)


def run(engine: Engine, job_id: int, *, apply_after_check: bool | None = None) -> ImportJob:
    """Read and check a job's file; apply it unless it is a dry run. Never raises for a
    bad file: the job ends ``failed`` with its errors (nothing changed)."""
    with Session(engine, expire_on_commit=False) as s:
        job = s.get(ImportJob, job_id)
    path = Path(job.path) if job.path else None
    try:
        _save_job(engine, job_id, status=ImportStatus.READING)
        read = _read(engine, job)
        summary = _preview(engine, job_id)
        summary["communities"] = _staged_communities(engine, job_id)
        _save_job(engine, job_id, status=ImportStatus.PREVIEW, rows_read=read, summary=summary)
        if apply_after_check if apply_after_check is not None else not job.dry_run:
            apply(engine, job_id)
    except FileImportError as err:
        _drop_stage(engine, job_id)
        _save_job(
            engine, job_id, status=ImportStatus.FAILED, errors=[e.to_dict() for e in err.errors]
        )
    except Exception:
        log.exception("household import job %s failed", job_id)
        _drop_stage(engine, job_id)
        _save_job(
            engine,
            job_id,
            status=ImportStatus.FAILED,
            errors=[{"line": 0, "column": "-", "message": "导入出错,未写入任何数据;请重试。"}],
        )
    finally:
        if path is not None:
            path.unlink(missing_ok=True)
            _save_job(engine, job_id, path=None)
    with Session(engine, expire_on_commit=False) as s:
        return s.get(ImportJob, job_id)


def _staged_communities(engine: Engine, job_id: int) -> int:
    st = HouseholdStage
    with Session(engine) as s:
        return s.exec(
            select(func.count(func.distinct(st.community_id))).where(st.job_id == job_id)
        ).one()


def run_in_background(engine: Engine, job_id: int) -> threading.Thread:
    """Run a job outside the request (a daemon thread of this worker)."""
    thread = threading.Thread(
        target=run, args=(engine, job_id), name=f"import-{job_id}", daemon=True
    )
    thread.start()
    return thread


def confirm(engine: Engine, job_id: int) -> threading.Thread:
    """Apply a previewed (dry-run) job in the background."""
    thread = threading.Thread(
        target=apply, args=(engine, job_id), name=f"apply-{job_id}", daemon=True
    )
    thread.start()
    return thread


def get_job(*, session: Session, job_id: int) -> ImportJob | None:
    job = session.get(ImportJob, job_id)
    return job if job is not None and job.kind == "households" else None


def errors_of(job: ImportJob) -> list[RowError]:
    return [RowError(e["line"], e["column"], e["message"]) for e in job.errors or []]


def import_households(
    *,
    session: Session,
    source: bytes | Path,
    actor_id: int | None = None,
    dry_run: bool = False,
    filename: str = "frame",
    upload_dir: Path | None = None,
) -> FrameImportReport:
    """Import a household frame file now (command line, tests); raise FrameImportError
    (nothing changed) on any error."""
    engine = session.get_bind()
    if isinstance(source, bytes):
        import tempfile

        handle = tempfile.NamedTemporaryFile(delete=False, dir=upload_dir, suffix=".upload")  # noqa: SIM115
        with handle:
            handle.write(source)
        path = Path(handle.name)
    else:
        # The job deletes its file when done: work on a copy of the caller's.
        import shutil
        import tempfile

        handle = tempfile.NamedTemporaryFile(delete=False, dir=upload_dir, suffix=".upload")  # noqa: SIM115
        handle.close()
        path = Path(handle.name)
        shutil.copyfile(source, path)
    job = create_job(
        session=session, filename=filename, path=path, actor_id=actor_id, dry_run=dry_run
    )
    job = run(engine, job.id)
    if job.status == ImportStatus.FAILED:
        raise FrameImportError(errors_of(job))
    if job.status == ImportStatus.PREVIEW:  # a dry run here has no confirm step
        _drop_stage(engine, job.id)
        _save_job(engine, job.id, status=ImportStatus.CHECKED)
    return FrameImportReport.of(job)
