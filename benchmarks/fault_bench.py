"""Fault script: submissions under load while the server is hurt — nothing acknowledged is
lost, nothing is stored twice, and what fails fails with a 503 the tablet retries.

    .venv/bin/python benchmarks/fault_bench.py --fault kill-worker        # SQLite
    .venv/bin/python benchmarks/fault_bench.py --fault restart-postgres   # PostgreSQL
        [--requests 3000] [--clients 16] [--workers 2]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--pg-restart "pg_ctlcluster --skip-systemctl-redirect 15 main restart"]

Not part of ``make test`` (it takes about a minute and restarts PostgreSQL, which other
test runs on the machine may be using). Figures in docs/operations.md.

1. Seeds a wave as benchmarks/sync_bench.py does (one canvasser per client), in a SQLite
   file, or in a fresh PostgreSQL database for ``restart-postgres``.
2. Starts gunicorn (``--workers``), and ``--clients`` tablets submit ``--requests``
   interviews, each like the tablet's outbox: a 2xx is an acknowledgement (the tablet
   deletes its copy), a 4xx a refusal, a 5xx or a broken connection is retried (up to
   30 times, 0.2 s apart).
3. When a third of the interviews are acknowledged, the fault: ``kill-worker`` sends
   SIGKILL to one gunicorn worker (the master starts another); ``restart-postgres`` runs
   ``--pg-restart``.
4. Counts: acknowledged, lost (acknowledged but not stored), doubled (a household with two
   responses, or a UUID twice), 5xx answers by status, broken connections, given up.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sync_bench  # noqa: E402 - the seed, payloads, gunicorn and client of the sync bench

RETRIES = 30
PAUSE = 0.2


def stored(url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    one = {
        "uuids": "SELECT uuid FROM response",
        "rows": "SELECT count(*) FROM response",
        "distinct": "SELECT count(DISTINCT uuid) FROM response",
        "households_twice": "SELECT count(*) FROM (SELECT assignment_id FROM response"
        " GROUP BY assignment_id HAVING count(*) > 1) AS t",
    }
    with engine.connect() as conn:
        out = {k: conn.execute(text(v)).fetchall() for k, v in one.items()}
    engine.dispose()
    return {
        "uuids": {r[0] for r in out["uuids"]},
        "rows": out["rows"][0][0],
        "distinct": out["distinct"][0][0],
        "households_twice": out["households_twice"][0][0],
    }


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged: set[str] = set()
        self.refused = Counter()
        self.server_errors = Counter()
        self.broken = 0
        self.gave_up = 0

    def add(self, **changes) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, getattr(self, key) + value)


def submit(client, payload: dict, tally: Tally) -> None:
    body = json.dumps(payload).encode()
    for _ in range(RETRIES):
        try:
            status, _ = client.post_json("/api/responses", body)
        except OSError:
            tally.add(broken=1)
            client.conn.close()
            time.sleep(PAUSE)
            continue
        if status < 300:
            with tally.lock:
                tally.acknowledged.add(payload["uuid"])
            return
        if status >= 500:
            with tally.lock:
                tally.server_errors[status] += 1
            time.sleep(PAUSE)
            continue
        with tally.lock:
            tally.refused[status] += 1
        return
    tally.add(gave_up=1)


def fault(kind: str, server, command: str) -> str:
    if kind == "kill-worker":
        children = subprocess.run(
            ["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True
        ).stdout.split()
        if not children:
            return "no worker found"
        os.kill(int(children[0]), signal.SIGKILL)
        return f"SIGKILL to worker {children[0]}"
    started = time.monotonic()
    done = subprocess.run(shlex.split(command), capture_output=True, text=True)
    took = time.monotonic() - started
    return f"{command!r} exited {done.returncode} after {took:.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fault", choices=("kill-worker", "restart-postgres"), required=True)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--pg-restart", default="pg_ctlcluster --skip-systemctl-redirect 15 main restart"
    )
    args = parser.parse_args(argv)
    per_client = -(-args.requests // args.clients)
    with tempfile.TemporaryDirectory(prefix="fault-bench-") as tmp_name:
        tmp = Path(tmp_name)
        db = sync_bench.Database(
            args.pg_url if args.fault == "restart-postgres" else "sqlite://", tmp
        )
        assignments = sync_bench.seed(db, args.clients, per_client)
        url = db.url
        server = sync_bench.Gunicorn(tmp, url, args.workers, "sync", 1)
        try:
            payloads = sync_bench.Payloads()
            clients = []
            for username in sorted(assignments):
                client = sync_bench.Client(server.port)
                client.sign_in(username)
                clients.append((client, assignments[username][:per_client]))
            tally = Tally()
            total = sum(len(ids) for _, ids in clients)
            note: list[str] = []

            def trigger() -> None:
                while len(tally.acknowledged) < total // 3:
                    time.sleep(0.01)
                note.append(fault(args.fault, server, args.pg_restart))

            watcher = threading.Thread(target=trigger, daemon=True)
            watcher.start()
            started = time.monotonic()
            threads = [
                threading.Thread(
                    target=lambda c=c, ids=ids: [
                        submit(c, payloads.response(a), tally) for a in ids
                    ]
                )
                for c, ids in clients
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.monotonic() - started
            watcher.join(timeout=1)
            result = stored(url)
        finally:
            server.stop()
            db.drop()
    lost = len(tally.acknowledged - result["uuids"])
    doubled = result["households_twice"] + (result["rows"] - result["distinct"])
    print(f"fault: {args.fault} — {note[0] if note else 'not triggered'}")
    print(f"interviews sent: {total} by {args.clients} tablets in {wall:.1f} s")
    print(f"acknowledged: {len(tally.acknowledged)}; stored: {result['rows']}")
    print(f"lost (acknowledged, not stored): {lost}")
    print(f"doubled: {doubled}")
    print(f"5xx answers (each retried): {dict(tally.server_errors) or 0}")
    print(f"broken connections (retried): {tally.broken}; gave up: {tally.gave_up}")
    print(f"refused (4xx): {dict(tally.refused) or 0}")
    ok = lost == 0 and doubled == 0 and tally.gave_up == 0 and 500 not in tally.server_errors
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
