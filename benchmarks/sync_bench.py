"""Benchmark: submissions through HTTP — gunicorn on SQLite (WAL) or PostgreSQL, many tablets.

Budgets (DESIGN.md, "Budgets"):

- single submissions (``POST /api/responses``), 32 concurrent clients: ≥ 500/s,
  p99 ≤ 100 ms, none lost or doubled;
- offline batch sync (``POST /api/sync``, up to 500 responses a request): ≥ 5,000
  responses/s.

    .venv/bin/python benchmarks/sync_bench.py [--requests 5000] [--clients 32]
        [--batches 20] [--batch-size 500] [--batch-clients 1,2] [--workers N]
        [--worker-class sync|gthread] [--threads 1] [--database-url URL | --compare]

``--database-url``: ``sqlite://`` (the default: a fresh file in the temporary directory) or
a PostgreSQL admin URL such as ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` —
the script creates its own database there (``sync_bench_<pid>``) and drops it at the end.
``--compare`` runs SQLite, then PostgreSQL (``--pg-url``), with the same rounds and prints
the two side by side with the load average before and after each run.

Needs only what the project installs (gunicorn is a dependency); the load generator is
this script — Python threads with ``http.client`` and keep-alive where the server allows
it — so nothing else is installed. It runs on the same machine as the server, and so
takes CPU from it: the figures are for server and clients sharing the machine's cores.

What it does, all under a temporary directory removed at the end (even on error):

1. Creates a fresh database (Alembic migrations, then SQLAlchemy Core bulk inserts on the
   migrated schema, the same on both databases): one wave
   open on the standard household questionnaire, ``--canvassers`` canvasser accounts,
   each with their own community and enough assigned households for the whole run.
2. Starts gunicorn on 127.0.0.1 with a free port (``--workers``, default one sync worker
   per core, which measured best) and the project's ``wsgi:app``. All traffic goes to
   127.0.0.1.
3. Signs in one client per connection (session cookie, then the CSRF token of the
   page's ``<meta name="csrf-token">``, sent as ``X-CSRFToken``).
4. Single submissions: ``--clients`` threads post ``--requests`` completed interviews
   (answers from ``services/simulate.py``), each to its own household, as fast as the
   server answers. Throughput, p50/p95/p99 latency. Then counts the database's rows —
   responses, 完成 visits, distinct UUIDs — against the 201s, and replays a sample: every
   replay must answer 200 and add nothing.
5. Batch sync: ``--batches`` outboxes of ``--batch-size`` new responses (each batch count
   in ``--batch-clients`` — 1 is one tablet after another, 2 two tablets at once), then
   one outbox replayed; responses/s, and the rows counted again.
6. Stops gunicorn (its process group, started by this script), drops the PostgreSQL
   database if it made one and removes the directory.

Prints its figures next to the budgets, one batch line per ``--batch-clients`` count;
exits 1 when a row is lost or doubled, when single submissions miss their budget, or when
every batch run misses 5,000/s (the best one counts: with ``1,2``, two tablets at once).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_SINGLE_PER_S = 500
BUDGET_P99_MS = 100.0
BUDGET_BATCH_PER_S = 5000
PASSWORD = "bench-password"
STAMP = "2026-11-20 10:00:00.000000"
HOUSEHOLDS_PER_BUILDING = 50
REQUEST_TIMEOUT = 60.0  # seconds, per HTTP request
PHASE_TIMEOUT = 600.0  # seconds, per phase: a stuck server ends the run, not the machine


# --- the database ------------------------------------------------------------------------


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Database:
    """The benchmark's own database: a fresh SQLite file in the temporary directory, or a
    fresh PostgreSQL database created through ``url`` (an admin URL, e.g. the server's
    ``postgres`` database) and dropped (with its connections) by :meth:`drop`."""

    def __init__(self, url: str, tmp: Path):
        from sqlalchemy.engine import make_url

        try:
            parsed = make_url(url)
        except Exception:
            raise SystemExit(f"--database-url {url!r}: not a database URL") from None
        self.backend = parsed.get_backend_name()
        self._admin = None
        if self.backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'bench.db'}"
        elif self.backend == "postgresql":
            from sqlalchemy import create_engine, text

            self.name = f"sync_bench_{os.getpid()}"
            # pre-ping: the fault script restarts PostgreSQL under this pooled connection.
            self._admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
            try:
                with self._admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
                    conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            except Exception as err:
                self._admin.dispose()
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err)
                raise SystemExit(f"PostgreSQL at {parsed.render_as_string()}: {first}") from None
            self.url = parsed.set(database=self.name).render_as_string(hide_password=False)
        else:
            raise SystemExit(f"--database-url {url!r}: sqlite or postgresql only")
        self.engine = None

    def connect(self):
        from sqlalchemy import create_engine

        if self.engine is None:
            self.engine = create_engine(self.url)
        return self.engine

    def drop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self._admin is not None:
            from sqlalchemy import text

            with self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self._admin.dispose()


SEEDED = ("district", "street", "community", "app_user", "building", "household", "wave",
          "assignment")  # fmt: skip


def seed(db: Database, canvassers: int, per_canvasser: int) -> dict:
    """Migrate the fresh database and fill it (SQLAlchemy Core inserts on the migrated
    schema, so the same on SQLite and PostgreSQL); returns {username: [assignment ids]}."""
    from datetime import date

    from sqlalchemy import text
    from sqlmodel import Session, SQLModel
    from werkzeug.security import generate_password_hash

    import instruments
    from survey_app import migrate
    from survey_app.setup.questionnaires import ensure_published

    migrate.upgrade(db.url)
    instrument = instruments.load_directory(instruments.FORMS_DIR)["household"]
    engine = db.connect()
    with Session(engine) as session:
        ensure_published(session=session, instrument=instrument)
        session.commit()
    t = SQLModel.metadata.tables
    stamp = datetime.fromisoformat(STAMP).replace(tzinfo=UTC)
    buildings = -(-per_canvasser // HOUSEHOLDS_PER_BUILDING)
    password_hash = generate_password_hash(PASSWORD, method="scrypt")
    assignments: dict[str, list[int]] = {}
    communities, users, building_rows, households, assignment_rows = [], [], [], [], []
    household = building = 0
    for c in range(1, canvassers + 1):
        communities.append({"id": c, "code": f"C{c:03d}", "name": f"压测社区{c}", "street_id": 1})
        username = f"bench{c}"
        users.append(
            {"id": c, "username": username, "display_name": f"压测调查员{c}",
             "password_hash": password_hash, "role": "canvasser", "community_id": c,
             "active": True, "must_change_password": False, "created_at": stamp}
        )  # fmt: skip
        ids = []
        for b in range(buildings):
            building += 1
            building_rows.append({"id": building, "community_id": c, "code": f"{b + 1}栋"})
            for h in range(HOUSEHOLDS_PER_BUILDING):
                household += 1
                households.append(
                    {"id": household, "community_id": c, "building_id": building,
                     "code": f"{b + 1}-{h + 1}", "active": True}
                )  # fmt: skip
                ids.append(household)
        assignment_rows += [
            {"id": h, "wave_id": 1, "household_id": h, "canvasser_id": c, "community_id": c,
             "assigned_on": date(2026, 11, 1), "created_at": stamp}
            for h in ids
        ]  # fmt: skip
        assignments[username] = ids  # assignment id = household id
    with engine.begin() as conn:
        if db.backend == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.execute(t["district"].insert(), [{"id": 1, "code": "D01", "name": "压测区"}])
        conn.execute(
            t["street"].insert(),
            [{"id": 1, "code": "S01", "name": "压测街道", "district_id": 1}],
        )
        conn.execute(t["community"].insert(), communities)
        conn.execute(t["app_user"].insert(), users)
        conn.execute(
            t["wave"].insert(),
            [{"id": 1, "name": "压测轮次", "instrument_key": "household",
              "instrument_version": str(instrument.version), "target": 0.99,
              "confidence": 0.95, "max_attempts": 3, "starts_on": date(2026, 11, 1),
              "ends_on": date(2026, 11, 30), "status": "open", "created_at": stamp}],
        )  # fmt: skip
        for table, rows in (("building", building_rows), ("household", households),
                            ("assignment", assignment_rows)):  # fmt: skip
            for i in range(0, len(rows), 5000):
                conn.execute(t[table].insert(), rows[i : i + 5000])
        if db.backend == "postgresql":  # explicit ids: move the sequences past them
            for table in SEEDED:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
                )
    return assignments


COUNTS = {
    "responses": "SELECT count(*) FROM response",
    "distinct_uuids": "SELECT count(DISTINCT uuid) FROM response",
    "completed_visits": "SELECT count(*) FROM visit WHERE outcome = 'completed'",
    "households_twice": "SELECT count(*) FROM (SELECT assignment_id FROM response"
    " GROUP BY assignment_id HAVING count(*) > 1) AS twice",
    "indicator_n": "SELECT coalesce(sum(n), 0) FROM indicatortotal"
    " WHERE indicator = 'satisfaction'",
}


def count_rows(db: Database) -> dict[str, int]:
    from sqlalchemy import text

    with db.connect().connect() as conn:
        return {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in COUNTS.items()}


# --- the payloads ------------------------------------------------------------------------


class Payloads:
    """Valid completed interviews for the household form, one per assignment id."""

    def __init__(self, seed_value: int = 20261124):
        import instruments
        from survey_app.demo.simulate import Rates, new_uuid, simulated_answers

        self._answers, self._uuid = simulated_answers, new_uuid
        self.rng = random.Random(seed_value)
        self.rates = Rates(awareness=0.97, support=0.96, satisfaction=0.93)
        self.version = str(instruments.load_directory(instruments.FORMS_DIR)["household"].version)
        self.now = datetime.now(UTC)

    def response(self, assignment_id: int) -> dict:
        answers = self._answers(self.rng, self.rates)
        started = self.now - timedelta(minutes=6, seconds=self.rng.randint(0, 600))
        submitted = started + timedelta(seconds=self.rng.randint(180, 420))
        return {
            "uuid": self._uuid(self.rng),
            "assignment_id": assignment_id,
            "instrument_key": "household",
            "instrument_version": self.version,
            "answers": answers,
            "started_at": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "submitted_at": submitted.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "timings": {name: self.rng.randint(3000, 20000) for name in answers},
            "device": "Mozilla/5.0 (Linux; Android 13) sync_bench 800x1280",
            "latitude": 30.27415,
            "longitude": 120.15515,
        }


# --- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn in its own process group, stopped (group and all) by :meth:`stop`."""

    def __init__(self, tmp: Path, url: str | Path, workers: int, worker_class: str, threads: int):
        # url: a database URL, or the path of a SQLite file (page_weight.py, tablet_bench.py)
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url if isinstance(url, str) else f"sqlite:///{url}",
            SECRET_KEY="sync-bench",
            INSTANCE_PATH=str(tmp / "instance"),
            LOG_LEVEL="WARNING",
        )
        cmd = [
            sys.executable, "-m", "gunicorn", "--chdir", str(ROOT),
            "-b", f"127.0.0.1:{self.port}", "-w", str(workers), "-k", worker_class,
            "--threads", str(threads), "--backlog", "2048", "--timeout", "120",
            "--graceful-timeout", "10", "--log-level", "warning", "wsgi:app",
        ]  # fmt: skip
        self.log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}): see its log")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this script started
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


# --- the clients -------------------------------------------------------------------------


class Client:
    """One tablet: a signed-in session over one (keep-alive where allowed) connection."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.reconnects = 0

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: send again on a new one.
                # (Safe for submissions too: the UUID makes a resend a replay at worst.)
                self.conn.close()
                self.reconnects += 1
                if attempt:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.conn.close()
        return response.status, data

    def sign_in(self, username: str) -> None:
        status, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or token is None:
            raise SystemExit(f"GET /login answered {status} without a CSRF token")
        form = urlencode(
            {"username": username, "password": PASSWORD, "csrf_token": token.group(1).decode()}
        )
        status, _ = self.request(
            "POST",
            "/login",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise SystemExit(f"signing in as {username} answered {status}")
        status, page = self.request("GET", "/canvass/")
        meta = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page)
        if status != 200 or meta is None:
            raise SystemExit(f"GET /canvass/ answered {status} without a csrf-token meta tag")
        self.csrf = meta.group(1).decode()

    def post_json(self, path: str, payload: bytes) -> tuple[int, bytes]:
        return self.request(
            "POST",
            path,
            payload,
            {"Content-Type": "application/json", "X-CSRFToken": self.csrf},
        )


def run_threads(work, count: int) -> float:
    """Run ``work(i)`` in ``count`` threads released together; wall seconds."""
    barrier = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as err:  # reported below, after every thread ended
            errors.append(err)

    threads = [threading.Thread(target=wrapped, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    deadline = time.monotonic() + PHASE_TIMEOUT
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    wall = time.perf_counter() - start
    if any(t.is_alive() for t in threads):
        raise SystemExit(f"a phase ran longer than {PHASE_TIMEOUT:.0f} s: stopped")
    if errors:
        raise errors[0]
    return wall


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# --- the phases --------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds (user + system) spent by the server's processes (gunicorn's process
    group), by this run's PostgreSQL backends and by this process (the clients): the
    figures the load average does not move, where wall times do (Linux /proc)."""

    def __init__(self, server_pgid: int, db: Database):
        self.pgid, self.db = server_pgid, db
        self.tick = os.sysconf("SC_CLK_TCK")

    def _stat(self, pid: str) -> list[str] | None:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None

    def snapshot(self) -> dict:
        server = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                fields = self._stat(entry.name)  # state ppid pgrp … utime(11) stime(12)
                if fields is not None and int(fields[2]) == self.pgid:
                    server += (int(fields[11]) + int(fields[12])) / self.tick
        backends = {}
        if self.db.backend == "postgresql":
            from sqlalchemy import text

            with self.db.connect().connect() as conn:
                pids = conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                         " AND pid <> pg_backend_pid()")
                ).scalars().all()  # fmt: skip
            for pid in pids:
                fields = self._stat(str(pid))
                if fields is not None:
                    backends[pid] = (int(fields[11]) + int(fields[12])) / self.tick
        times = os.times()
        return {"server": server, "backends": backends, "clients": times.user + times.system}

    @staticmethod
    def used(start: dict, end: dict) -> dict[str, float]:
        """Seconds between two snapshots (a backend started in between counts from 0)."""
        return {
            "server": end["server"] - start["server"],
            "database": sum(
                v - start["backends"].get(pid, 0.0) for pid, v in end["backends"].items()
            ),  # fmt: skip
            "clients": end["clients"] - start["clients"],
        }


def fmt_cpu(cpu: dict[str, float] | None, n: int) -> str:
    if not cpu:
        return ""
    return (
        f"CPU per response: server {cpu['server'] / n * 1000:.2f} ms, database "
        f"{cpu['database'] / n * 1000:.2f} ms, clients {cpu['clients'] / n * 1000:.2f} ms"
    )


def single_phase(clients, queues, db: Database, sample: int, meter=None) -> dict:
    """Each client posts its queue of single responses; then counts and replays."""
    before = count_rows(db)
    latencies: list[list[float]] = [[] for _ in clients]
    statuses: list[dict[int, int]] = [{} for _ in clients]

    def work(i: int) -> None:
        client, mine = clients[i], queues[i]
        for body in mine:
            t0 = time.perf_counter()
            status, _ = client.post_json("/api/responses", body)
            latencies[i].append(time.perf_counter() - t0)
            statuses[i][status] = statuses[i].get(status, 0) + 1

    cpu_start = meter.snapshot() if meter else None
    wall = run_threads(work, len(clients))
    cpu = meter.used(cpu_start, meter.snapshot()) if meter else None
    all_ms = [x * 1000 for lat in latencies for x in lat]
    total: dict[int, int] = {}
    for s in statuses:
        for k, v in s.items():
            total[k] = total.get(k, 0) + v
    after = count_rows(db)
    # Replay a sample (every client resends some of its own): all 200, nothing added.
    replay_status: dict[int, int] = {}
    per_client = max(1, sample // len(clients))
    for i, client in enumerate(clients):
        for body in queues[i][:per_client]:
            status, _ = client.post_json("/api/responses", body)
            replay_status[status] = replay_status.get(status, 0) + 1
    replayed = count_rows(db)
    sent = sum(len(q) for q in queues)
    return {
        "sent": sent,
        "wall": wall,
        "per_s": sent / wall,
        "cpu": cpu,
        "p50": percentile(all_ms, 50),
        "p95": percentile(all_ms, 95),
        "p99": percentile(all_ms, 99),
        "max": max(all_ms),
        "mean": statistics.fmean(all_ms),
        "statuses": total,
        "new_rows": after["responses"] - before["responses"],
        "new_visits": after["completed_visits"] - before["completed_visits"],
        "distinct_ok": after["distinct_uuids"] == after["responses"],
        "households_twice": after["households_twice"],
        "replay_statuses": replay_status,
        "replay_added": replayed["responses"] - after["responses"],
        "replay_visits_added": replayed["completed_visits"] - after["completed_visits"],
        "indicator_n": after["indicator_n"] - before["indicator_n"],
        "rows": after,
    }


def batch_phase(tablets: list[list[tuple[Client, bytes]]], db: Database, meter=None) -> dict:
    """Each tablet posts its outboxes one after another (each outbox with the session of
    the canvasser whose households it holds)."""
    before = count_rows(db)
    times: list[float] = []
    statuses: dict[int, int] = {}
    items = 0
    lock = threading.Lock()

    def work(i: int) -> None:
        nonlocal items
        for client, body in tablets[i]:
            t0 = time.perf_counter()
            status, data = client.post_json("/api/sync", body)
            elapsed = time.perf_counter() - t0
            if status != 200:
                raise SystemExit(f"POST /api/sync answered {status}: {data[:200]!r}")
            results = json.loads(data)["responses"]
            with lock:
                times.append(elapsed)
                items += len(results)
                for r in results:
                    statuses[r["status"]] = statuses.get(r["status"], 0) + 1

    cpu_start = meter.snapshot() if meter else None
    wall = run_threads(work, len(tablets))
    cpu = meter.used(cpu_start, meter.snapshot()) if meter else None
    after = count_rows(db)
    return {
        "items": items,
        "wall": wall,
        "per_s": items / wall,
        "cpu": cpu,
        "batch_median": statistics.median(times),
        "batch_max": max(times),
        "statuses": statuses,
        "new_rows": after["responses"] - before["responses"],
        "distinct_ok": after["distinct_uuids"] == after["responses"],
        "households_twice": after["households_twice"],
        "rows": after,
    }


def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="single submissions")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--replay-sample", type=int, default=320)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--batch-clients", default="1,2", help="tablets syncing at once, one run each"
    )
    parser.add_argument("--canvassers", type=int, default=8)
    # One sync worker per core measured best on the 2-core machine: 2 × cores + 1 and
    # gthread workers only add processes and threads that take turns on SQLite's one
    # write lock and on the same cores (benchmarks/README.md).
    parser.add_argument("--workers", type=int, default=cores)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--database-url",
        default="sqlite://",
        help="sqlite:// (default; any SQLite URL means a fresh file in a temporary directory) or a PostgreSQL "
        "admin URL, e.g. " + PG_ADMIN_URL + " (the script creates its own database "
        "there and drops it at the end)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run SQLite, then PostgreSQL (--pg-url) with the same rounds; print both "
        "side by side with each run's load average",
    )
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL admin URL for --compare")
    args = parser.parse_args(argv)
    if not (1 <= args.batch_size <= 500) or args.clients < 1 or args.requests < args.clients:
        parser.error("--batch-size 1..500, --clients ≥ 1, --requests ≥ --clients")
    if args.batches < 1 or args.canvassers < 1 or args.workers < 1:
        parser.error("--batches, --canvassers and --workers ≥ 1")
    try:
        batch_clients = [int(n) for n in args.batch_clients.split(",") if n.strip()]
    except ValueError:
        parser.error("--batch-clients: whole numbers separated by commas, e.g. 1,2")
    if not batch_clients or min(batch_clients) < 1:
        parser.error("--batch-clients: whole numbers ≥ 1, e.g. 1,2")
    urls = [("SQLite", "sqlite://"), ("PostgreSQL", args.pg_url)] if args.compare else [
        (None, args.database_url)
    ]  # fmt: skip
    runs = []
    for label, url in urls:
        if label:
            print(f"=== {label} ===", flush=True)
        run = run_once(args, url, batch_clients, cores)
        run["label"] = label or run["backend"]
        print(report(args, run["single"], run["batch_runs"], run["replay"], run["reconnects"]))
        print(f"  load average before / after: {fmt_load(run['load_before'])} / "
              f"{fmt_load(run['load_after'])}", flush=True)  # fmt: skip
        runs.append(run)
    if len(runs) > 1:
        print(side_by_side(runs))
    return 0 if all(passed(run) for run in runs) else 1


def fmt_load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def run_once(args, url: str, batch_clients: list[int], cores: int) -> dict:
    """One whole run (seed, single submissions, batch sync) on a fresh database."""
    batches_each = -(-args.batches * len(batch_clients) // args.canvassers)
    per_canvasser = (
        -(-args.requests // args.canvassers)
        + args.batch_size * batches_each
        + HOUSEHOLDS_PER_BUILDING
    )
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp_name:
        tmp = Path(tmp_name)
        db = Database(url, tmp)
        try:
            t0 = time.perf_counter()
            assignments = seed(db, args.canvassers, per_canvasser)
            print(
                f"database ({db.backend}): {sum(map(len, assignments.values())):,} "
                f"assignments for {args.canvassers} canvassers "
                f"({time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
            load_before = os.getloadavg()
            result = serve_and_load(args, tmp, db, assignments, batch_clients, cores)
            result.update(backend=db.backend, load_before=load_before,
                          load_after=os.getloadavg())  # fmt: skip
        finally:
            db.drop()
    return result


def serve_and_load(args, tmp: Path, db: Database, assignments, batch_clients, cores) -> dict:
    free = {name: iter(ids) for name, ids in assignments.items()}
    names = sorted(assignments)
    payloads = Payloads()

    def encoded(name: str, n: int) -> list[dict]:
        return [payloads.response(next(free[name])) for _ in range(n)]

    server = Gunicorn(tmp, db.url, args.workers, args.worker_class, args.threads)
    try:
        print(
            f"gunicorn: {args.workers} {args.worker_class} workers"
            + (f" × {args.threads} threads" if args.worker_class == "gthread" else "")
            + f" on 127.0.0.1:{server.port}; {cores} cores shared with the clients",
            flush=True,
        )
        # (a) single submissions
        clients = [Client(server.port) for _ in range(args.clients)]
        for i, client in enumerate(clients):
            client.sign_in(names[i % len(names)])
        counts = [args.requests // args.clients] * args.clients
        for i in range(args.requests % args.clients):
            counts[i] += 1
        queues = [
            [json.dumps(p, ensure_ascii=False).encode() for p in encoded(names[i % len(names)], n)]
            for i, n in enumerate(counts)
        ]  # fmt: skip
        # A few requests first, so that every worker has imported and connected.
        warm = [Client(server.port) for _ in range(args.workers)]
        for i, client in enumerate(warm):
            client.sign_in(names[i % len(names)])
            client.request("GET", "/api/canvass/assignments")
        meter = CpuMeter(server.proc.pid, db)
        single = single_phase(clients, queues, db, args.replay_sample, meter)
        # (b) batch sync
        batch_runs = []
        sessions = {}
        for name in names:
            sessions[name] = Client(server.port)
            sessions[name].sign_in(name)
        turn = 0
        for n in batch_clients:
            tablets: list[list[tuple[Client, bytes]]] = [[] for _ in range(n)]
            for b in range(args.batches):
                name = names[turn % len(names)]
                turn += 1
                body = {"visits": [], "responses": encoded(name, args.batch_size)}
                tablets[b % n].append(
                    (sessions[name], json.dumps(body, ensure_ascii=False).encode())
                )
            run = batch_phase(tablets, db, meter)
            run["tablets"] = n
            batch_runs.append(run)
        replay = batch_phase([tablets[0][-1:]], db)
    finally:
        server.stop()
    reconnects = sum(c.reconnects for c in clients)
    return {"single": single, "batch_runs": batch_runs, "replay": replay,
            "reconnects": reconnects}  # fmt: skip


def passed(run: dict) -> bool:
    single, batch_runs, replay = run["single"], run["batch_runs"], run["replay"]
    return (
        single["per_s"] >= BUDGET_SINGLE_PER_S
        and single["p99"] <= BUDGET_P99_MS
        and intact(single)
        and all(intact_batch(r) for r in batch_runs)
        and max(r["per_s"] for r in batch_runs) >= BUDGET_BATCH_PER_S
        and replay["new_rows"] == 0
    )


def side_by_side(runs: list[dict]) -> str:
    """The runs' figures in columns, with the budgets and each run's load average."""
    rows: list[tuple[str, list[str], str]] = [
        ("single submissions /s", [f"{r['single']['per_s']:.0f}" for r in runs],
         f"≥ {BUDGET_SINGLE_PER_S}"),
        ("  p50 ms", [f"{r['single']['p50']:.1f}" for r in runs], ""),
        ("  p95 ms", [f"{r['single']['p95']:.1f}" for r in runs], ""),
        ("  p99 ms", [f"{r['single']['p99']:.1f}" for r in runs], f"≤ {BUDGET_P99_MS:.0f}"),
        ("  max ms", [f"{r['single']['max']:.1f}" for r in runs], ""),
        ("  none lost or doubled", ["ok" if intact(r["single"]) else "NO" for r in runs],
         "none"),
        *cpu_rows([(r["single"].get("cpu"), r["single"]["sent"]) for r in runs]),
    ]  # fmt: skip
    for k, n in enumerate(runs[0]["batch_runs"]):
        rows.append(
            (f"batch sync, {n['tablets']} tablet(s) /s",
             [f"{r['batch_runs'][k]['per_s']:.0f}" for r in runs], f"≥ {BUDGET_BATCH_PER_S:,}")
        )  # fmt: skip
        rows.append(
            ("  a batch, median ms",
             [f"{r['batch_runs'][k]['batch_median'] * 1000:.0f}" for r in runs], "")
        )  # fmt: skip
        rows += cpu_rows(
            [(r["batch_runs"][k].get("cpu"), r["batch_runs"][k]["items"]) for r in runs]
        )
    rows.append(("replayed batch /s", [f"{r['replay']['per_s']:.0f}" for r in runs], ""))
    rows.append(("load average before", [fmt_load(r["load_before"]) for r in runs], ""))
    rows.append(("load average after", [fmt_load(r["load_after"]) for r in runs], ""))
    rows.append(("within every budget", ["yes" if passed(r) else "no" for r in runs], ""))
    width = max(len(r[0]) for r in rows) + 2
    cols = [
        max(len(r["label"]), *(len(values[i]) for _, values, _ in rows)) + 4
        for i, r in enumerate(runs)
    ]
    lines = ["", "side by side (same rounds):",
             " " * width + "".join(r["label"].rjust(c) for r, c in zip(runs, cols, strict=True))
             + "   budget"]  # fmt: skip
    for name, values, budget in rows:
        lines.append(
            name.ljust(width)
            + "".join(v.rjust(c) for v, c in zip(values, cols, strict=True))
            + (f"   {budget}" if budget else "")
        )
    return "\n".join(lines)


def cpu_rows(cpus: list[tuple[dict | None, int]]) -> list[tuple[str, list[str], str]]:
    """CPU ms per response of the server, the database backends and the clients."""
    if not all(cpu for cpu, _ in cpus):
        return []
    return [
        (f"  CPU ms per response, {part}", [f"{cpu[part] / n * 1000:.2f}" for cpu, n in cpus], "")
        for part in ("server", "database", "clients")
    ]


def intact(single: dict) -> bool:
    """None lost (every request 201, one row each) and none doubled."""
    return (
        single["statuses"] == {201: single["sent"]}
        and single["new_rows"] == single["sent"]
        and single["new_visits"] == single["sent"]
        and single["distinct_ok"]
        and single["households_twice"] == 0
        and set(single["replay_statuses"]) == {200}
        and single["replay_added"] == 0
        and single["replay_visits_added"] == 0
        and single["indicator_n"] == single["sent"]
    )


def intact_batch(run: dict) -> bool:
    return (
        run["statuses"] == {201: run["items"]}
        and run["new_rows"] == run["items"]
        and run["distinct_ok"]
        and run["households_twice"] == 0
    )


def report(args, single: dict, batch_runs: list[dict], replay: dict, reconnects: int) -> str:
    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    lines = [
        "",
        f"single submissions: {single['sent']:,} POST /api/responses from {args.clients} "
        f"clients in {single['wall']:.2f} s",
        f"  throughput   {single['per_s']:8.0f} /s    budget ≥ {BUDGET_SINGLE_PER_S}/s   "
        f"{mark(single['per_s'] >= BUDGET_SINGLE_PER_S)}",
        f"  latency p50  {single['p50']:8.1f} ms   p95 {single['p95']:.1f} ms   "
        f"mean {single['mean']:.1f} ms   max {single['max']:.1f} ms",
        f"  latency p99  {single['p99']:8.1f} ms   budget ≤ {BUDGET_P99_MS:.0f} ms   "
        f"{mark(single['p99'] <= BUDGET_P99_MS)}",
        f"  statuses {single['statuses']}; rows added: {single['new_rows']:,} responses, "
        f"{single['new_visits']:,} 完成 visits, satisfaction n +{single['indicator_n']:,}; "
        f"UUIDs distinct: {single['distinct_ok']}; households with two responses: "
        f"{single['households_twice']}",
        f"  replayed {sum(single['replay_statuses'].values())}: statuses "
        f"{single['replay_statuses']}, rows added {single['replay_added']} responses, "
        f"{single['replay_visits_added']} visits",
        f"  none lost or doubled: {mark(intact(single))}   (client reconnects: {reconnects})",
        f"  {fmt_cpu(single.get('cpu'), single['sent'])}",
        "",
        f"batch sync: POST /api/sync, {args.batch_size} new responses a batch",
    ]
    for run in batch_runs:
        lines.append(
            f"  {run['tablets']} tablet(s) at once: {run['items']:,} responses in "
            f"{run['wall']:.2f} s = {run['per_s']:6.0f} responses/s   budget ≥ "
            f"{BUDGET_BATCH_PER_S:,}/s   {mark(run['per_s'] >= BUDGET_BATCH_PER_S)}   "
            f"(a batch: median {run['batch_median'] * 1000:.0f} ms, max "
            f"{run['batch_max'] * 1000:.0f} ms; statuses {run['statuses']}; rows added "
            f"{run['new_rows']:,}; intact: {mark(intact_batch(run))})"
        )
        lines.append(f"    {fmt_cpu(run.get('cpu'), run['items'])}")
    lines.append(
        f"  replayed batch: {replay['items']} responses in {replay['wall'] * 1000:.0f} ms = "
        f"{replay['per_s']:.0f} responses/s; statuses {replay['statuses']}; rows added "
        f"{replay['new_rows']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
