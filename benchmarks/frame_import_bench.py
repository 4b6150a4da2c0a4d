"""Benchmark: a large household frame imported while canvassers keep writing (issue 13.11).

Before: a 546,000-row frame uploaded through the page ran into gunicorn's 30 s timeout
(nothing imported) while holding SQLite's write lock — canvassers' visits waited 27 s —
and a 50 MB bad file used 1.3 GB before stopping.

    .venv/bin/python benchmarks/frame_import_bench.py [--rows 546000] [--communities 500]

What it does, on a fresh SQLite database (WAL, as served) in a temporary directory:

1. Writes the frame as CSV (社区编码,楼栋,户编码,网格) over ``--communities`` communities.
2. Runs the import job (``setup.frame.run``: stream → staging table in chunks → checks →
   apply in chunks) while another thread plays a canvasser: a short write transaction
   (one audit row, as a visit's) every 20 ms, taking its turn on the writers' file lock as
   the tablet sync does, timed from the lock to the commit.
3. Imports a bad file of the same size (every row's community unknown): it stops at the
   first 50 errors.
4. Prints rows/s, the peak memory of the process over the start (``ru_maxrss``) for each
   file, and the canvasser's write latency during the import: p50, p99 and the longest.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from survey_app import migrate  # noqa: E402
from survey_app.db import make_engine, writers_turn  # noqa: E402
from survey_app.models import AuditLog, Community, District, Household, Street  # noqa: E402
from survey_app.setup import frame  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write_frame(path: Path, rows: int, codes: list[str], bad: bool = False) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("社区编码,楼栋,户编码,网格\n")
        for i in range(rows):
            community = "NOPE" if bad else codes[i % len(codes)]
            building = i // len(codes) // 40 + 1
            f.write(f"{community},{building}栋,{i // len(codes):06},网格{building // 5 + 1}\n")


class Canvasser(threading.Thread):
    """Short write transactions, as visits are, timed while the import runs."""

    def __init__(self, engine):
        super().__init__(daemon=True)
        self.engine, self.stop, self.waits = engine, threading.Event(), []

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            with writers_turn(self.engine), Session(self.engine) as s:
                s.add(AuditLog(action="visit", entity="bench"))
                s.commit()
            self.waits.append(time.perf_counter() - start)
            time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=546_000)
    parser.add_argument("--communities", type=int, default=500)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="frame_bench_"))
    try:
        url = f"sqlite:///{work / 'survey.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        with Session(engine) as s:
            d = District(code="D1", name="区")
            s.add(d)
            s.flush()
            st = Street(code="S1", name="街道", district_id=d.id)
            s.add(st)
            s.flush()
            codes = [f"C{i:04}" for i in range(args.communities)]
            s.add_all(Community(code=c, name=c, street_id=st.id) for c in codes)
            s.commit()
        good, bad = work / "frame.csv", work / "bad.csv"
        _write_frame(good, args.rows, codes)
        _write_frame(bad, args.rows, codes, bad=True)
        size = good.stat().st_size / 1e6
        print(f"frame: {args.rows:,} rows, {size:.1f} MB CSV, {args.communities} communities")
        base = _rss_mb()

        canvasser = Canvasser(engine)
        canvasser.start()
        start = time.perf_counter()
        with Session(engine) as s:
            job = frame.create_job(
                session=s, filename="frame.csv", path=good, actor_id=None, dry_run=False
            )
        job = frame.run(engine, job.id)
        seconds = time.perf_counter() - start
        canvasser.stop.set()
        canvasser.join()
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(Household)).scalar_one()
        waits = sorted(canvasser.waits)
        p = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))] * 1000  # noqa: E731
        print(
            f"import: {job.status}, {stored:,} households stored, {seconds:.1f} s "
            f"({args.rows / seconds:,.0f} rows/s); peak memory {_rss_mb():.0f} MB "
            f"(+{_rss_mb() - base:.0f} MB over the start)"
        )
        print(
            f"canvasser's writes meanwhile: {len(waits)}, p50 {statistics.median(waits) * 1000:.0f} ms, "
            f"p99 {p(0.99):.0f} ms, longest {waits[-1] * 1000:.0f} ms (before: 27 s)"
        )
        before_bad, bad_size = _rss_mb(), bad.stat().st_size / 1e6
        start = time.perf_counter()
        with Session(engine) as s:
            job = frame.create_job(
                session=s, filename="bad.csv", path=bad, actor_id=None, dry_run=False
            )
        job = frame.run(engine, job.id)
        print(
            f"bad file of {bad_size:.1f} MB: {job.status} with "
            f"{len(job.errors or [])} errors in {time.perf_counter() - start:.2f} s; peak memory "
            f"+{_rss_mb() - before_bad:.0f} MB (before: 1.3 GB)"
        )
        engine.dispose()
        return 0 if stored == args.rows else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
