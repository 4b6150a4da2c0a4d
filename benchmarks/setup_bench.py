"""Benchmark: a whole city set up from files on the command line, from an empty database.

Issue 8's yardstick: 3 districts, 10 streets, 60 communities, 30,000 households and 200
users, set up in under a minute. (Before: users one by one with ``create-user`` — 183 took
11 minutes — and no way at all to create the geography.)

    .venv/bin/python benchmarks/setup_bench.py [--communities 60] [--households 30000]
        [--users 200] [--keep DIR]
    .venv/bin/python benchmarks/setup_bench.py --examples docs/examples   # the README's files

What it does, in a temporary directory (removed at the end unless ``--keep``):

1. Writes the files a 创文办 would fill in, as XLSX with Chinese headers: geography
   (区县编码…社区名称), users (用户名,姓名,角色,范围,密码 — passwords left empty, so
   one-time passwords are generated) and the household frame (社区编码,楼栋,户编码,网格).
2. Runs, each as its own ``flask --app wsgi`` process on a fresh SQLite database, timing
   each: ``db-upgrade``, ``geography import``, ``users import --passwords-out``,
   ``households import``, ``questionnaires list``.
3. Prints each step's seconds and the total against the one-minute budget; exits 1 when a
   step fails or the total is over budget.

The total includes each command's start-up (Python, Flask, the app); the script also
times one bare start-up (``flask routes``) and prints the work without the start-ups, and
the machine's load average (the figures grow with whatever else the machine is running).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 60.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("导入")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)


def make_city(
    folder: Path, *, districts: int, streets: int, communities: int, households: int, users: int
) -> dict[str, Path]:
    """Write geography.xlsx, users.xlsx and households.xlsx for a made-up city."""
    rng = random.Random(8)
    folder.mkdir(parents=True, exist_ok=True)
    geo, codes = [], []
    for c in range(communities):
        s = c * streets // communities
        d = s * districts // streets
        dc, sc, cc = f"D{d + 1:02}", f"S{d + 1:02}{s + 1:02}", f"C{d + 1:02}{s + 1:02}{c + 1:03}"
        district_name = ["文明区", "和谐区", "新城区", "滨江区", "高新区"][d % 5]
        geo.append([dc, district_name, sc, f"{district_name}第{s + 1}街道", cc, f"社区{c + 1:02}"])
        codes.append((cc, sc))
    paths = {"geography": folder / "geography.xlsx"}
    _write(
        paths["geography"],
        ["区县编码", "区县名称", "街道编码", "街道名称", "社区编码", "社区名称"],
        geo,
    )

    people = [
        ["admin2", "系统管理员", "管理员", "", ""],
        ["fenxi", "创文办分析员", "分析员", "", ""],
    ]
    street_codes = sorted({s for _, s in codes})
    for i, street in enumerate(street_codes[: max(1, min(len(street_codes), users // 20))]):
        people.append([f"dudao{i + 1:02}", f"督导{i + 1:02}", "督导", street, ""])
    for i, (community, _) in enumerate(codes):
        if len(people) >= users:
            break
        people.append([f"shuji{i + 1:03}", f"{community}书记", "社区书记", community, ""])
    i = 0
    while len(people) < users:
        a, b = codes[i % len(codes)][0], codes[(i + 1) % len(codes)][0]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        people.append([f"diaocha{i + 1:03}", name, "入户调查员", f"{a}、{b}", ""])
        i += 1
    paths["users"] = folder / "users.xlsx"
    _write(paths["users"], ["用户名", "姓名", "角色", "范围", "密码"], people[:users])

    frame = []
    per = households // communities
    for c, (community, _) in enumerate(codes):
        n = per + (1 if c < households - per * communities else 0)
        for h in range(n):
            building = h // 48 + 1
            unit, rest = divmod(h % 48, 12)
            floor, door = divmod(rest, 2)
            frame.append(
                [
                    community,
                    f"{building}栋",
                    f"{building}-{unit + 1}-{floor + 1}0{door + 1}",
                    f"网格{(building + 1) // 2}",
                ]
            )
    paths["households"] = folder / "households.xlsx"
    _write(paths["households"], ["社区编码", "楼栋", "户编码", "网格"], frame)
    return paths


def _flask(env: dict, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    out = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed: {' | '.join(out[-5:])}")
    return seconds, out[-1] if out else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--districts", type=int, default=3)
    parser.add_argument("--streets", type=int, default=10)
    parser.add_argument("--communities", type=int, default=60)
    parser.add_argument("--households", type=int, default=30_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None, help="keep the files and database here")
    parser.add_argument(
        "--examples", type=Path, default=None, help="only write small example files"
    )
    args = parser.parse_args(argv)
    if args.examples:
        make_city(args.examples, districts=2, streets=4, communities=8, households=480, users=24)
        print(f"example files written to {args.examples}")
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="setup_bench_"))
    try:
        files = make_city(
            work / "files",
            districts=args.districts,
            streets=args.streets,
            communities=args.communities,
            households=args.households,
            users=args.users,
        )
        env = dict(os.environ, INSTANCE_PATH=str(work / "instance"), LOG_LEVEL="WARNING")
        env.pop("DATABASE_URL", None)
        steps = [
            ("db-upgrade", ("db-upgrade",)),
            ("geography import", ("geography", "import", str(files["geography"]))),
            (
                "users import",
                ("users", "import", str(files["users"]), "--passwords-out", str(work / "pw.csv")),
            ),
            ("households import", ("households", "import", str(files["households"]))),
            ("questionnaires list", ("questionnaires", "list")),
        ]
        print(
            f"city: {args.districts} districts, {args.streets} streets, {args.communities} "
            f"communities, {args.households:,} households, {args.users} users (SQLite, CLI)"
        )
        total = 0.0
        for name, command in steps:
            seconds, last = _flask(env, *command)
            total += seconds
            print(f"  {name:<20} {seconds:6.2f} s   {last}")
        startup, _ = _flask(env, "routes")
        verdict = "within" if total <= BUDGET_S else "OVER"
        print(f"total {total:.1f} s — {verdict} the budget of {BUDGET_S:.0f} s")
        print(
            f"start-up of one command (flask routes): {startup:.1f} s; the work itself "
            f"≈ {max(0.0, total - len(steps) * startup):.1f} s; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        return 0 if total <= BUDGET_S else 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
