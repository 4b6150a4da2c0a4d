"""Benchmark: the secretary page and the city overview with 1,000,000 responses stored.

Budgets (docs: DESIGN.md, "Budgets"; issue 16): the secretary page ≤ 200 ms server time
(p95); the whole-city overview ≤ 60 ms median.

    .venv/bin/python benchmarks/pages_bench.py [--repeat 30] [--fresh] [--scale 1.0]
        [--database-url URL | --compare] [--pg-url URL]

``--database-url``: ``sqlite://`` (the default: a file cached in
``$TMPDIR/survey-pages-bench/`` unless ``--fresh``) or a PostgreSQL admin URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` — the script then creates its
own database there (``pages_bench_<pid>``), fills it and drops it at the end.
``--compare`` runs SQLite, then PostgreSQL (``--pg-url``), and prints the two side by
side with the load average before and after each.

The database is migrated with Alembic and filled with bulk inserts of the same rows on
both databases (``executemany`` on SQLite, ``COPY`` on PostgreSQL): 5 districts,
25 streets, 500 communities, 5,000 buildings, 500,000 households; three waves — two
closed (300,000 completed interviews each) and the open one (400,000, with its 500,000
assignments and their visits) — so 1,000,000 responses with full answers to the standard
household questionnaire, ~40,000 问需/问计 items, and ``IndicatorTotal`` filled from the
very indicator values of the stored answers (``instruments.indicator_values``), as
``aggregates.add_response`` would have; the closed waves' inputs frozen as at closing.

Pages are timed in process through the Flask test client (server time: routing, queries,
``analysis.estimate_from_totals``, template; no network), after two warm-up requests:
min, median, p95 and max of ``--repeat`` requests each ("warm": whole-wave counts and
figures reused while nothing changed, ``fieldwork.design.cached``), the median of a
few requests each made after emptying those caches ("cold": as after a restart), and the
median of a few requests each made right after an interview arrives ("new": a response of
the open wave and its audit row added — what the caches see of a sync; removed again at
the end; ``--new N`` of them, default 3: min, median and max).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA_DIR = Path(tempfile.gettempdir()) / "survey-pages-bench"
BUDGET_MS = 200.0  # the secretary page, p95
OVERVIEW_BUDGET_MS = 60.0  # the whole-city overview, median
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
COLD_REPEAT = 3
FILLED = ("district", "street", "community", "building", "household", "wave", "assignment",
          "visit", "response", "indicatortotal", "feedbackitem")  # fmt: skip
DISTRICTS, STREETS_PER_DISTRICT, COMMUNITIES_PER_STREET = 5, 5, 20
BUILDINGS_PER_COMMUNITY, HOUSEHOLDS_PER_BUILDING = 10, 100
WAVES = (("2026年第二季度模拟测评", "closed", 0.6), ("2026年第三季度模拟测评", "closed", 0.6),
         ("2026年第四季度模拟测评", "open", 0.8))  # fmt: skip
TEMPLATES_PER_PROFILE, PROFILES = 400, 8
STAMP = "2026-11-20 10:00:00.000000"
PASSWORD = "bench-password"


class Filler:
    """Bulk inserts on either database: ``executemany`` on SQLite, ``COPY`` on PostgreSQL
    (psycopg), the same rows and columns."""

    def __init__(self, url: str):
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        if self.backend == "sqlite":
            self.con = sqlite3.connect(parsed.database)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=OFF")
            self.con.execute("PRAGMA cache_size=-400000")
        else:
            import psycopg

            plain = parsed.set(drivername="postgresql")
            self.con = psycopg.connect(plain.render_as_string(hide_password=False))

    def executemany(self, sql: str, rows) -> None:
        """``INSERT INTO table (a, b) VALUES (?, ?)`` for each row."""
        if self.backend == "sqlite":
            self.con.executemany(sql, rows)
            return
        head = sql.split("VALUES")[0].replace("INSERT INTO", "COPY", 1)
        values = sql.split("VALUES", 1)[1]
        constants = _constants(values)
        with self.con.cursor() as cur, cur.copy(_copy_columns(head, constants)) as copy:
            for row in rows:
                copy.write_row(_merge(row, constants))

    def commit(self) -> None:
        self.con.commit()

    def finish(self) -> None:
        """PostgreSQL: sequences past the explicit ids, statistics for the planner and the
        visibility map (index-only scans)."""
        if self.backend == "postgresql":
            with self.con.cursor() as cur:
                for table in FILLED:
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
            self.con.commit()
            self.con.autocommit = True
            # VACUUM as autovacuum would on a live server: after the bulk COPY the
            # visibility map is empty, and index-only scans would still read the heap.
            self.con.execute("VACUUM ANALYZE")
        self.con.close()


def _constants(values: str) -> list:
    """The VALUES list as placeholders (None) and SQL constants ('x', 1)."""
    out = []
    for item in values.strip().strip("()").split(","):
        item = item.strip()
        if item == "?":
            out.append(None)
        elif item.startswith("'"):
            out.append(("const", item.strip("'")))
        else:
            out.append(("const", int(item)))
    return out


def _copy_columns(head: str, constants: list) -> str:
    return head.strip() + " FROM STDIN"  # every column listed: constants are written too


def _merge(row, constants: list) -> list:
    it = iter(row)
    return [next(it) if c is None else c[1] for c in constants]


def build(url: str, scale: float, seed: int = 20261124) -> dict:
    """Create and fill the benchmark database (migrated, then bulk inserts); returns its
    shape."""
    from survey_app import migrate

    migrate.upgrade(url)
    import instruments

    instrument = instruments.load_directory(instruments.FORMS_DIR)["household"]
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    con = Filler(url)
    n_comm = max(2, int(DISTRICTS * STREETS_PER_DISTRICT * COMMUNITIES_PER_STREET * scale))
    shape = _geography(con, n_comm)
    templates = _templates(instrument, rng)
    keys = [i.key for i in instrument.indicators]
    values = np.array([[(-1 if t[1].get(k) is None else t[1][k]) for k in keys] for t in templates])
    n_hh = shape["households"]
    hh_building = np.arange(n_hh) // HOUSEHOLDS_PER_BUILDING
    hh_comm = hh_building // BUILDINGS_PER_COMMUNITY
    comm_street = np.arange(n_comm) // COMMUNITIES_PER_STREET
    profile = (np.arange(n_comm) * 7919) % PROFILES  # each community its own level of rates
    next_response = 1
    responses = 0
    for w, (name, status, share) in enumerate(WAVES, start=1):
        con.executemany(
            "INSERT INTO wave (id, name, instrument_key, instrument_version, target, confidence,"
            " max_attempts, starts_on, ends_on, status, created_at)"
            " VALUES (?, ?, 'household', ?, ?, ?, 3, ?, ?, ?, ?)",
            [(w, name, str(instrument.version), 0.99, 0.95, f"2026-{3 * w + 2:02d}-01",
              f"2026-{3 * w + 2:02d}-28", status, STAMP)],
        )  # fmt: skip
        done = nrng.random(n_hh) < share
        hh_done = np.flatnonzero(done)
        tmpl = profile[hh_comm[hh_done]] * TEMPLATES_PER_PROFILE + nrng.integers(
            0, TEMPLATES_PER_PROFILE, len(hh_done)
        )
        ids = np.arange(next_response, next_response + len(hh_done))
        next_response += len(hh_done)
        is_open = status == "open"
        if is_open:
            _assignments_and_visits(con, w, n_hh, hh_comm, done, ids, nrng)
        _responses(con, w, hh_done, hh_comm, tmpl, templates, ids, is_open, instrument)
        _totals(con, w, hh_building[hh_done], tmpl, values, keys, comm_street, shape)
        _feedback(con, w, hh_comm[hh_done], ids, nrng)
        responses += len(hh_done)
        con.commit()
        print(f"  wave {w}: {len(hh_done):,} responses", flush=True)
    # Marks a complete fill: a kept database (SQLite file, --keep-database) is reused.
    con.con.execute("CREATE TABLE bench_done (responses INTEGER)")
    con.con.execute(f"INSERT INTO bench_done VALUES ({int(responses)})")
    con.commit()
    con.finish()
    _freeze(url)
    shape["responses"] = responses
    return shape


def _freeze(url: str) -> None:
    """Closed waves keep their inputs frozen, as closing a wave in the app does
    (``fieldwork.plan`` → ``design.snapshot``)."""
    from sqlmodel import Session, create_engine, select

    from survey_app.fieldwork import design
    from survey_app.models import Wave

    engine = create_engine(url)
    with Session(engine) as session:
        for wave in session.exec(select(Wave).where(Wave.status == "closed")).all():
            wave.frozen = design.snapshot(session=session, wave=wave)
            wave.frozen_at = wave.closed_at
            session.add(wave)
        session.commit()
    engine.dispose()


def _geography(con, n_comm: int) -> dict:
    n_streets = -(-n_comm // COMMUNITIES_PER_STREET)
    n_districts = -(-n_streets // STREETS_PER_DISTRICT)
    con.executemany(
        "INSERT INTO district (id, code, name) VALUES (?, ?, ?)",
        [(d + 1, f"D{d:02d}", f"第{d + 1}区") for d in range(n_districts)],
    )
    con.executemany(
        "INSERT INTO street (id, code, name, district_id) VALUES (?, ?, ?, ?)",
        [(s + 1, f"S{s:03d}", f"第{s + 1}街道", s // STREETS_PER_DISTRICT + 1) for s in range(n_streets)],
    )  # fmt: skip
    con.executemany(
        "INSERT INTO community (id, code, name, street_id) VALUES (?, ?, ?, ?)",
        [(c + 1, f"C{c:04d}", f"第{c + 1}社区", c // COMMUNITIES_PER_STREET + 1) for c in range(n_comm)],
    )  # fmt: skip
    n_b = n_comm * BUILDINGS_PER_COMMUNITY
    con.executemany(
        "INSERT INTO building (id, community_id, code) VALUES (?, ?, ?)",
        [(b + 1, b // BUILDINGS_PER_COMMUNITY + 1, f"{b % BUILDINGS_PER_COMMUNITY + 1}栋") for b in range(n_b)],
    )  # fmt: skip
    n_hh = n_b * HOUSEHOLDS_PER_BUILDING
    con.executemany(
        "INSERT INTO household (id, community_id, building_id, code, active) VALUES (?, ?, ?, ?, ?)",
        ((h + 1, h // (HOUSEHOLDS_PER_BUILDING * BUILDINGS_PER_COMMUNITY) + 1,
          h // HOUSEHOLDS_PER_BUILDING + 1,
          f"{h // HOUSEHOLDS_PER_BUILDING % BUILDINGS_PER_COMMUNITY + 1}-{h % HOUSEHOLDS_PER_BUILDING + 1}",
          True)
         for h in range(n_hh)),
    )  # fmt: skip
    return {"communities": n_comm, "streets": n_streets, "buildings": n_b, "households": n_hh}


def _templates(instrument, rng) -> list[tuple[str, dict, dict]]:
    """Answer sets (JSON, indicator values, profile) at PROFILES levels of rates."""
    import instruments
    from survey_app.demo.simulate import Rates, simulated_answers

    out = []
    for p in range(PROFILES):
        level = 0.90 + 0.0125 * p  # 90%–98.75%
        rates = Rates(awareness=min(1, level + 0.05), support=min(1, level + 0.03), satisfaction=level,
                      feedback=0.0)  # fmt: skip
        for _ in range(TEMPLATES_PER_PROFILE):
            answers = simulated_answers(rng, rates)
            values = instruments.indicator_values(instrument, answers)
            profile = instruments.profile_values(instrument, answers)
            out.append((json.dumps(answers, ensure_ascii=False), values, profile))
    return out


def _assignments_and_visits(con, wave, n_hh, hh_comm, done, response_ids, nrng):
    con.executemany(
        "INSERT INTO assignment (id, wave_id, household_id, community_id, assigned_on, created_at)"
        " VALUES (?, ?, ?, ?, '2026-11-01', ?)",
        ((h + 1, wave, h + 1, int(hh_comm[h]) + 1, STAMP) for h in range(n_hh)),
    )
    outcome = nrng.choice(["not_home", "refused", "vacant", "ineligible", None], n_hh,
                          p=[0.4, 0.2, 0.1, 0.05, 0.25])  # fmt: skip
    rid = iter(response_ids.tolist())
    rows = []
    for h in range(n_hh):
        if done[h]:
            rows.append((_uuid(next(rid)), h + 1, "completed"))
        elif outcome[h] is not None:
            rows.append((f"v{h:035d}", h + 1, outcome[h]))
    con.executemany(
        "INSERT INTO visit (uuid, assignment_id, attempt, outcome, visited_at) VALUES (?, ?, 1, ?, ?)",
        ((u, a, o, STAMP) for u, a, o in rows),
    )


def _uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012x}"


def _responses(con, wave, hh_done, hh_comm, tmpl, templates, ids, is_open, instrument):
    version = str(instrument.version)

    def rows():
        for rid, h, t in zip(ids.tolist(), hh_done.tolist(), tmpl.tolist(), strict=True):
            answers, _, prof = templates[t]
            yield (rid, _uuid(rid), wave, int(hh_comm[h]) + 1, h + 1, h + 1 if is_open else None,
                   version, answers, STAMP, STAMP, STAMP, prof["age_group"], prof["sex"],
                   prof["residence_years"])  # fmt: skip

    con.executemany(
        "INSERT INTO response (id, uuid, wave_id, community_id, household_id, assignment_id,"
        " instrument_key, instrument_version, answers, content_hash, started_at, submitted_at,"
        " received_at, device, review_state, age_group, sex, residence_years)"
        " VALUES (?, ?, ?, ?, ?, ?, 'household', ?, ?, 'bench', ?, ?, ?, 'bench', 'accepted', ?, ?, ?)",
        rows(),
    )


def _totals(con, wave, building, tmpl, values, keys, comm_street, shape):
    """IndicatorTotal from the stored answers' indicator values, per building."""
    n_b = shape["buildings"]
    v = values[tmpl]  # responses × indicators, -1 = not applicable
    rows = []
    for j, key in enumerate(keys):
        n = np.bincount(building, weights=v[:, j] >= 0, minlength=n_b).astype(int)
        pos = np.bincount(building, weights=v[:, j] == 1, minlength=n_b).astype(int)
        for b in np.flatnonzero(n):
            c = b // BUILDINGS_PER_COMMUNITY
            rows.append((wave, key, int(c) + 1, int(comm_street[c]) + 1, int(b) + 1, int(n[b]),
                         int(pos[b])))  # fmt: skip
    con.executemany(
        "INSERT INTO indicatortotal (wave_id, indicator, community_id, street_id, building_id, n,"
        " positive) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _feedback(con, wave, comm, response_ids, nrng):
    from survey_app.demo.simulate import ADVICE, NEEDS

    pick = np.flatnonzero(nrng.random(len(response_ids)) < 0.04)
    texts = NEEDS + ADVICE
    con.executemany(
        "INSERT INTO feedbackitem (community_id, wave_id, response_id, kind, text, status,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'found', ?, ?)",
        ((int(comm[i]) + 1, wave, int(response_ids[i]), "问需" if i % 3 else "问计",
          texts[i % len(texts)], STAMP, STAMP) for i in pick),
    )  # fmt: skip


def time_pages(url: str, repeat: int, instance: Path, new_repeat: int = COLD_REPEAT) -> list[dict]:
    from sqlmodel import Session, select

    from survey_app import create_app
    from survey_app.config import Settings
    from survey_app.fieldwork import design
    from survey_app.models import Community, User
    from survey_app.setup import users

    settings = Settings(
        database_url=url,
        secret_key="bench",
        instance_path=instance,
        csrf_enabled=False,
        log_level="WARNING",
    )
    app = create_app(settings)
    with Session(app.extensions["engine"]) as s:
        community = s.exec(select(Community).order_by(Community.id.desc())).first()
        for name, role, code in (
            ("bench_sec", "secretary", community.code),
            ("bench_ana", "analyst", None),
        ):
            if s.exec(select(User).where(User.username == name)).first() is None:
                users.create_user(session=s, username=name, password=PASSWORD, role=role,
                                  community_code=code)  # fmt: skip
        community_id = community.id
    pages = [
        ("secretary page /results/community/<id>", "bench_sec", f"/results/community/{community_id}",
         "p95", BUDGET_MS),
        ("overview, whole city, 满意率", "bench_ana", "/results/overview", "median",
         OVERVIEW_BUDGET_MS),
        ("overview, one street, 知晓率", "bench_ana", "/results/overview?indicator=awareness&street=1",
         "median", OVERVIEW_BUDGET_MS),
    ]  # fmt: skip
    out = []
    for label, user, page, measure, budget in pages:
        client = app.test_client()
        client.post("/login", data={"username": user, "password": PASSWORD})

        def get(page=page, client=client) -> float:
            t0 = time.perf_counter()
            response = client.get(page)
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, (page, response.status_code)
            return elapsed

        get(), get()
        times = sorted(get() for _ in range(repeat))
        cold, after = [], []
        for _ in range(COLD_REPEAT):
            design._caches.clear()
            cold.append(get())
        settle = getattr(design, "SETTLE", 0.0)
        if app.extensions["engine"].dialect.name != "sqlite" and settle:
            # As in a server up for a minute: rows older than SETTLE seconds are settled.
            design.SETTLE = 1.0
        for _ in range(new_repeat):
            get()  # warm again
            time.sleep(1.1 if settle else 0)
            _interview_arrives(app, community_id)
            after.append(get())
        if settle:
            design.SETTLE = settle
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        median = statistics.median(times)
        out.append({"label": label, "min": times[0], "median": median, "p95": p95,
                    "max": times[-1], "cold": statistics.median(cold),
                    "new": statistics.median(after), "new_min": min(after), "new_max": max(after),
                    "measure": measure,
                    "budget": budget, "ok": (p95 if measure == "p95" else median) <= budget})  # fmt: skip
    _forget_interviews(app)
    app.extensions["engine"].dispose()
    return out


BENCH_UUID = "pages-bench-new-"


def _interview_arrives(app, community_id: int) -> None:
    """What the caches see of an interview arriving through the sync: a new response of
    the open wave (a copy of one of ``community_id``'s, new UUID) and its audit row."""
    import uuid

    from sqlalchemy import insert, select

    from survey_app.models import AuditLog, Response
    from survey_app.models._types import utcnow

    table = Response.__table__
    with app.extensions["engine"].begin() as conn:
        row = conn.execute(
            select(table).where(table.c.community_id == community_id, table.c.is_test.is_(False))
            .order_by(table.c.id.desc()).limit(1)
        ).mappings().one()  # fmt: skip
        values = {k: v for k, v in row.items() if k != "id"}
        values["uuid"] = BENCH_UUID + uuid.uuid4().hex[:16]
        conn.execute(insert(table).values(**values))
        conn.execute(insert(AuditLog.__table__).values(at=utcnow(), action="submit",
                                                       entity="response", entity_id=values["uuid"]))  # fmt: skip


def _forget_interviews(app) -> None:
    """The cached SQLite file stays as built: the responses :func:`_interview_arrives`
    added go again."""
    from sqlalchemy import delete

    from survey_app.models import AuditLog, Response

    with app.extensions["engine"].begin() as conn:
        conn.execute(delete(Response.__table__).where(Response.uuid.startswith(BENCH_UUID)))
        conn.execute(delete(AuditLog.__table__).where(AuditLog.entity_id.startswith(BENCH_UUID)))


def prepare(url: str, args) -> tuple[str, callable]:
    """The database to time (filled if needed) and how to get rid of it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        args.dir.mkdir(parents=True, exist_ok=True)
        path = Path(parsed.database) if parsed.database else args.dir / f"pages-{args.scale:g}.db"
        ready = False
        if path.exists() and not args.fresh:
            with sqlite3.connect(path) as con:
                ready = con.execute(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'bench_done'"
                ).fetchone()[0] == 1  # fmt: skip
        target = f"sqlite:///{path}"
        if not ready:
            for p in path.parent.glob(f"{path.name}*"):
                p.unlink()
            _fill(target, args.scale)
        else:  # a cached file from an older schema: migrations added since
            from survey_app import migrate

            migrate.upgrade(target)
        return target, lambda: None
    if backend != "postgresql":
        raise SystemExit(f"--database-url {url!r}: sqlite or postgresql only")
    keep = args.keep_database
    name = keep or f"pages_bench_{os.getpid()}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    target = parsed.set(database=name).render_as_string(hide_password=False)
    if keep and _filled(admin, target, name):
        from survey_app import migrate

        migrate.upgrade(target)
        admin.dispose()
        return target, lambda: None
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    if keep:  # filled once, reused by later runs; dropped by hand (DROP DATABASE)
        try:
            _fill(target, args.scale)
        except BaseException:
            drop()
            raise
        admin.dispose()
        return target, lambda: None

    try:
        _fill(target, args.scale)
    except BaseException:
        drop()
        raise
    return target, drop


def _filled(admin, target: str, name: str) -> bool:
    """``name`` exists and a fill of it finished (its ``bench_done`` table)."""
    from sqlalchemy import create_engine, text

    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if found.first() is None:
            return False
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT to_regclass('bench_done')")).scalar() is not None
    finally:
        engine.dispose()


def _fill(url: str, scale: float) -> None:
    print(f"filling {url} …", flush=True)
    t0 = time.perf_counter()
    build(url, scale)
    print(f"  filled in {time.perf_counter() - t0:.0f} s", flush=True)


def _counts(url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM response")).scalar_one()
        totals = conn.execute(text("SELECT count(*) FROM indicatortotal")).scalar_one()
    engine.dispose()
    return stored, totals


def run(url: str, args) -> dict:
    target, drop = prepare(url, args)
    try:
        stored, totals = _counts(target)
        before = _load()
        pages = time_pages(target, args.repeat, args.dir / "instance", args.new)
        after = _load()
    finally:
        drop()
    return {"url": target, "responses": stored, "totals": totals, "pages": pages,
            "load": (before, after)}  # fmt: skip


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def show(name: str, result: dict) -> bool:
    print(f"\n{name}: {result['responses']:,} responses, {result['totals']:,} IndicatorTotal rows; "
          f"load average {result['load'][0]} before, {result['load'][1]} after")  # fmt: skip
    print(
        f"{'page':<42} {'min':>8} {'median':>8} {'p95':>8} {'max':>8} {'cold':>8} {'new':>8}"
        f" {'new min':>8} {'new max':>8}  budget"
    )
    ok = True
    keys = ("min", "median", "p95", "max", "cold", "new", "new_min", "new_max")
    for p in result["pages"]:
        ok &= p["ok"]
        print(f"{p['label']:<42} " + " ".join(f"{p[k]:6.1f}ms" for k in keys)
              + f"  {p['measure']} ≤ {p['budget']:.0f} ms {'ok' if p['ok'] else 'OVER'}")  # fmt: skip
    return ok


def side_by_side(results: list[tuple[str, dict]]) -> None:
    print("\nside by side (median ms; cold = caches emptied; new = first view after an interview)")
    names = [n for n, _ in results]
    print(f"{'page':<42} " + " ".join(f"{n + ' median':>18} {n + ' cold':>16} {n + ' new':>15}"
                                      for n in names))  # fmt: skip
    for i, p in enumerate(results[0][1]["pages"]):
        cells = " ".join(f"{r['pages'][i]['median']:>18.1f} {r['pages'][i]['cold']:>16.1f}"
                         f" {r['pages'][i]['new']:>15.1f}" for _, r in results)  # fmt: skip
        print(f"{p['label']:<42} {cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--fresh", action="store_true", help="rebuild the SQLite database")
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 500 communities")
    parser.add_argument("--dir", type=Path, default=DATA_DIR)
    parser.add_argument("--database-url", default="sqlite://",
                        help="sqlite:// (cached file) or a PostgreSQL admin URL")  # fmt: skip
    parser.add_argument("--compare", action="store_true", help="SQLite, then PostgreSQL")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL admin URL for --compare")
    parser.add_argument("--new", type=int, default=COLD_REPEAT,
                        help="first views after an interview timed per page (median, min, max)")  # fmt: skip
    parser.add_argument("--keep-database", metavar="NAME",
                        help="PostgreSQL: fill database NAME once and keep it for later runs")  # fmt: skip
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.compare:
        urls = [("SQLite", "sqlite://"), ("PostgreSQL", args.pg_url)]
    else:
        name = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
        urls = [(name, args.database_url)]
    print("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "| machine: 2-core dev VM")
    results, ok = [], True
    for name, url in urls:
        result = run(url, args)
        ok &= show(name, result)
        results.append((name, result))
    if len(results) > 1:
        side_by_side(results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
