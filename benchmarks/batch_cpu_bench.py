"""Benchmark: CPU per batched response in process — one tablet's 500-response outbox
through the Flask test client, on SQLite or PostgreSQL (issue 16 item 2).

    .venv/bin/python benchmarks/batch_cpu_bench.py [--database-url URL] [--batches 6]
        [--batch-size 500] [--profile FILE]

Builds its database and payloads as ``sync_bench.py`` does (one canvasser, the household
form, ``services/simulate.py`` answers), signs in, posts one warm-up batch, then
``--batches`` new batches to ``POST /api/sync``, each timed by ``time.process_time`` —
the worker's CPU per response, the figure that bounds one tablet's sync on one core
(1 / 0.2 ms = 5,000 responses/s). On PostgreSQL it also prints the backends' CPU per
response (from /proc, this database's connections). ``--profile`` writes a cProfile of
the timed batches. Prints the load average with the figures: compare alternating runs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import sync_bench  # noqa: E402


def backend_cpu(db) -> float:
    """CPU seconds of the PostgreSQL backends connected to the benchmark's database."""
    if db.backend != "postgresql":
        return 0.0
    from sqlalchemy import text

    with db._admin.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": db.name}
        ).scalars()
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # not on this machine, or gone
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite://")
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--profile", default="")
    args = parser.parse_args()
    if args.batches < 1 or not 1 <= args.batch_size <= 500:
        parser.error("--batches ≥ 1 and --batch-size 1–500")
    tmp = Path(tempfile.mkdtemp(prefix="batch_cpu_bench"))
    db = sync_bench.Database(args.database_url, tmp)
    try:
        ids = sync_bench.seed(db, 1, (args.batches + 1) * args.batch_size)["bench1"]
        os.environ.update(DATABASE_URL=db.url, SECRET_KEY="batch-cpu-bench",
                          INSTANCE_PATH=str(tmp / "instance"), LOG_LEVEL="WARNING")  # fmt: skip
        from survey_app import create_app

        app = create_app()
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        signed_in = client.post(
            "/login", data={"username": "bench1", "password": sync_bench.PASSWORD}
        )
        if signed_in.status_code != 302:
            raise SystemExit(f"signing in answered {signed_in.status_code}")
        payloads = sync_bench.Payloads()
        size = args.batch_size
        bodies = [
            json.dumps(
                {"visits": [], "responses": [payloads.response(i) for i in ids[k : k + size]]}
            ).encode()
            for k in range(0, (args.batches + 1) * size, size)
        ]

        def post(body: bytes) -> None:
            answer = client.post("/api/sync", data=body, content_type="application/json")
            statuses = {r["status"] for r in answer.get_json()["responses"]}
            if answer.status_code != 200 or statuses != {201}:
                raise SystemExit(f"POST /api/sync answered {answer.status_code}, {statuses}")

        post(bodies[0])
        profile = cProfile.Profile() if args.profile else None
        worker, backend = [], []
        for body in bodies[1:]:
            before = backend_cpu(db)
            if profile:
                profile.enable()
            start = time.process_time()
            post(body)
            worker.append((time.process_time() - start) / size * 1000)
            if profile:
                profile.disable()
            backend.append((backend_cpu(db) - before) / size * 1000)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{db.backend}, load {load}: CPU ms per response, worker "
              + " ".join(f"{x:.3f}" for x in worker)
              + f" (median {statistics.median(worker):.3f})"
              + (f", database median {statistics.median(backend):.3f}"
                 if db.backend == "postgresql" else ""))  # fmt: skip
        if profile:
            profile.dump_stats(args.profile)
    finally:
        db.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
