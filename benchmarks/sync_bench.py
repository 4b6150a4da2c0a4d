"""Benchmark: submissions through HTTP — gunicorn, SQLite in WAL mode, many tablets at once.

Budgets (DESIGN.md, "Budgets"):

- single submissions (``POST /api/responses``), 32 concurrent clients: ≥ 500/s,
  p99 ≤ 100 ms, none lost or doubled;
- offline batch sync (``POST /api/sync``, up to 500 responses a request): ≥ 5,000
  responses/s.

    .venv/bin/python benchmarks/sync_bench.py [--requests 5000] [--clients 32]
        [--batches 20] [--batch-size 500] [--batch-clients 1,2] [--workers N]
        [--worker-class sync|gthread] [--threads 1]

Needs only what the project installs (gunicorn is a dependency); the load generator is
this script — Python threads with ``http.client`` and keep-alive where the server allows
it — so nothing else is installed. It runs on the same machine as the server, and so
takes CPU from it: the figures are for server and clients sharing the machine's cores.

What it does, all under a temporary directory removed at the end (even on error):

1. Creates a fresh SQLite database (Alembic migrations, then bulk inserts): one wave
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
6. Stops gunicorn (its process group, started by this script) and removes the directory.

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
import sqlite3
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


def seed(path: Path, canvassers: int, per_canvasser: int) -> dict:
    """Migrate a fresh SQLite file and fill it; returns {username: [assignment ids]}."""
    from sqlmodel import Session, create_engine
    from werkzeug.security import generate_password_hash

    import instruments
    from survey_app import migrate
    from survey_app.setup.questionnaires import ensure_published

    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    instrument = instruments.load_directory(instruments.FORMS_DIR)["household"]
    engine = create_engine(url)
    with Session(engine) as session:
        ensure_published(session=session, instrument=instrument)
        session.commit()
    engine.dispose()
    buildings = -(-per_canvasser // HOUSEHOLDS_PER_BUILDING)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("INSERT INTO district (id, code, name) VALUES (1, 'D01', '压测区')")
    con.execute("INSERT INTO street (id, code, name, district_id) VALUES (1, 'S01', '压测街道', 1)")
    con.execute(
        "INSERT INTO wave (id, name, instrument_key, instrument_version, target, confidence,"
        " max_attempts, starts_on, ends_on, status, created_at)"
        " VALUES (1, '压测轮次', 'household', ?, 0.99, 0.95, 3, '2026-11-01', '2026-11-30',"
        " 'open', ?)",
        (str(instrument.version), STAMP),
    )
    password_hash = generate_password_hash(PASSWORD, method="scrypt")
    assignments: dict[str, list[int]] = {}
    household = building = 0
    for c in range(1, canvassers + 1):
        con.execute(
            "INSERT INTO community (id, code, name, street_id) VALUES (?, ?, ?, 1)",
            (c, f"C{c:03d}", f"压测社区{c}"),
        )
        username = f"bench{c}"
        con.execute(
            "INSERT INTO app_user (id, username, display_name, password_hash, role,"
            " community_id, active, created_at) VALUES (?, ?, ?, ?, 'canvasser', ?, 1, ?)",
            (c, username, f"压测调查员{c}", password_hash, c, STAMP),
        )
        ids = []
        for b in range(buildings):
            building += 1
            con.execute(
                "INSERT INTO building (id, community_id, code) VALUES (?, ?, ?)",
                (building, c, f"{b + 1}栋"),
            )
            rows = []
            for h in range(HOUSEHOLDS_PER_BUILDING):
                household += 1
                rows.append((household, c, building, f"{b + 1}-{h + 1}"))
                ids.append(household)
            con.executemany(
                "INSERT INTO household (id, community_id, building_id, code, active)"
                " VALUES (?, ?, ?, ?, 1)",
                rows,
            )
        con.executemany(
            "INSERT INTO assignment (id, wave_id, household_id, canvasser_id, community_id,"
            " assigned_on, created_at) VALUES (?, 1, ?, ?, ?, '2026-11-01', ?)",
            [(h, h, c, c, STAMP) for h in ids],
        )
        assignments[username] = ids  # assignment id = household id
    con.commit()
    con.close()
    return assignments


def count_rows(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path, timeout=30)
    try:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "responses": one("SELECT count(*) FROM response"),
            "distinct_uuids": one("SELECT count(DISTINCT uuid) FROM response"),
            "completed_visits": one("SELECT count(*) FROM visit WHERE outcome = 'completed'"),
            "households_twice": one(
                "SELECT count(*) FROM (SELECT assignment_id FROM response"
                " GROUP BY assignment_id HAVING count(*) > 1)"
            ),
            "indicator_n": one(
                "SELECT coalesce(sum(n), 0) FROM indicatortotal WHERE indicator = 'satisfaction'"
            ),
        }
    finally:
        con.close()


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

    def __init__(self, tmp: Path, db: Path, workers: int, worker_class: str, threads: int):
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"sqlite:///{db}",
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


def single_phase(clients, queues, db: Path, sample: int) -> dict:
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

    wall = run_threads(work, len(clients))
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


def batch_phase(tablets: list[list[tuple[Client, bytes]]], db: Path) -> dict:
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

    wall = run_threads(work, len(tablets))
    after = count_rows(db)
    return {
        "items": items,
        "wall": wall,
        "per_s": items / wall,
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
    args = parser.parse_args(argv)
    if not (1 <= args.batch_size <= 500) or args.clients < 1 or args.requests < args.clients:
        parser.error("--batch-size 1..500, --clients ≥ 1, --requests ≥ --clients")
    batch_clients = [int(n) for n in args.batch_clients.split(",") if n.strip()]
    batches_each = -(-args.batches * len(batch_clients) // args.canvassers)
    per_canvasser = (
        -(-args.requests // args.canvassers)
        + args.batch_size * batches_each
        + HOUSEHOLDS_PER_BUILDING
    )

    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "bench.db"
        t0 = time.perf_counter()
        assignments = seed(db, args.canvassers, per_canvasser)
        print(
            f"database: {sum(map(len, assignments.values())):,} assignments for "
            f"{args.canvassers} canvassers ({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        free = {name: iter(ids) for name, ids in assignments.items()}
        names = sorted(assignments)
        payloads = Payloads()

        def encoded(name: str, n: int) -> list[dict]:
            return [payloads.response(next(free[name])) for _ in range(n)]

        server = Gunicorn(tmp, db, args.workers, args.worker_class, args.threads)
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
            single = single_phase(clients, queues, db, args.replay_sample)
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
                run = batch_phase(tablets, db)
                run["tablets"] = n
                batch_runs.append(run)
            replay = batch_phase([tablets[0][-1:]], db)
        finally:
            server.stop()
        reconnects = sum(c.reconnects for c in clients)

    print(report(args, single, batch_runs, replay, reconnects))
    ok = (
        single["per_s"] >= BUDGET_SINGLE_PER_S
        and single["p99"] <= BUDGET_P99_MS
        and intact(single)
        and all(intact_batch(r) for r in batch_runs)
        and max(r["per_s"] for r in batch_runs) >= BUDGET_BATCH_PER_S
        and replay["new_rows"] == 0
    )
    return 0 if ok else 1


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
    lines.append(
        f"  replayed batch: {replay['items']} responses in {replay['wall'] * 1000:.0f} ms = "
        f"{replay['per_s']:.0f} responses/s; statuses {replay['statuses']}; rows added "
        f"{replay['new_rows']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
