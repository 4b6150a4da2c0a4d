"""Benchmark: ``survey-estimate`` on 1,000,000 responses × 500 communities × 3 indicators.

Generates (once, cached in ``$TMPDIR/survey-estimate-bench/``) a stratified cluster sample: 50
streets as strata, ~5,000 buildings as PSUs nested in 500 communities (the domains),
log-normal weights, rates between ~96% and 100% with building-level clustering, 3% of
``support`` not asked (blank), and 5 communities where everyone answered yes to everything.

Times, best and median of ``--repeat`` runs:

1. ``survey-estimate`` end to end as a subprocess (Python start-up, imports, CSV read,
   estimation with beta intervals, JSON written to /dev/null) — budget ≤ 1.5 s wall —,
   and the same from a Parquet copy of the data (issue 16: ≤ 0.6 s median, ≤ 400 MB peak
   memory at 1,000,000 rows; ≤ 3 s at 10,000,000 rows from Parquet, ``--rows 10000000``);
2. in process: ``pandas.read_csv`` + ``analysis.estimate``, and ``estimate`` alone;
3. ``analysis.estimate_from_totals`` on the PSU totals (the web app's route);
4. if ``Rscript`` with the survey package is installed: ``svyby(svymean)`` +
   ``svyby(svyciprop, method="beta")`` on the same CSV (read excluded), and the ratio.

Usage: ``python benchmarks/estimate_bench.py [--repeat 5] [--no-r] [--r-indicators 3]
[--rows 1000000]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(tempfile.gettempdir()) / "survey-estimate-bench"
N_ROWS = 1_000_000
N_COMMUNITIES = 500
N_STREETS = 50
INDICATORS = ["aware", "support", "satisfied"]
ALL_YES = 5  # communities where everyone answers yes


def make_data(path: Path, seed: int = 20261124, rows: int = N_ROWS) -> None:
    """Write the benchmark CSV (and, for ``rows`` ≠ 1,000,000, only a Parquet file)."""
    rng = np.random.default_rng(seed)
    per_comm = rng.integers(6, 15, N_COMMUNITIES)  # buildings per community
    b_comm = np.repeat(np.arange(N_COMMUNITIES), per_comm)
    n_b = len(b_comm)
    size = rng.gamma(4.0, 1.0, n_b)
    b_rows = rng.multinomial(rows - n_b, size / size.sum()) + 1
    comm = np.repeat(b_comm, b_rows)
    building = np.repeat(np.arange(n_b), b_rows)
    street = comm // (N_COMMUNITIES // N_STREETS)
    base = rng.beta(60, 1.2, N_COMMUNITIES)  # community rates, mostly 96%–100%
    weight = np.round(rng.lognormal(0, 0.45, rows) * rng.uniform(80, 400, N_COMMUNITIES)[comm], 3)
    frame = {
        "street": np.char.add("S", np.char.zfill(street.astype(str), 3)),
        "community": np.char.add("C", np.char.zfill(comm.astype(str), 4)),
        "building": np.char.add("B", np.char.zfill(building.astype(str), 5)),
        "w": weight,
    }
    for k, name in enumerate(INDICATORS):
        p_b = np.clip(base[b_comm] - 0.01 * k + rng.normal(0, 0.006, n_b), 0, 1)
        y = (rng.uniform(size=rows) < p_b[building]).astype(float)
        y[comm < ALL_YES] = 1.0
        if name == "support":
            y[rng.uniform(size=rows) < 0.03] = np.nan
        frame[name] = y
    table = pd.DataFrame(frame)
    for name in INDICATORS:
        table[name] = table[name].astype("Int8")
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)


def parquet_copy(csv_path: Path) -> Path:
    """The same data as Parquet (identifiers as text, indicators as nullable int8)."""
    path = csv_path.with_suffix(".parquet")
    if not path.exists():
        text = {"street": str, "community": str, "building": str}
        pd.read_csv(csv_path, dtype=text).to_parquet(path, index=False)
    return path


def cli_arguments(path: Path) -> list[str]:
    args = [str(path), "--weight", "w", "--strata", "street", "--cluster", "building"]
    args += ["--by", "community", "--method", "beta", "--format", "json"]
    for name in INDICATORS:
        args += ["--indicator", name]
    return args


def cli_command(path: Path) -> list[str]:
    exe = Path(sys.executable).with_name("survey-estimate")
    if exe.exists():
        return [str(exe), *cli_arguments(path)]
    return [sys.executable, "-m", "analysis.cli", *cli_arguments(path)]


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def timed_subprocess(
    cmd: list[str], repeat: int, cwd: Path | None = None
) -> tuple[list[float], list[float], float]:
    """Wall and CPU (user + system) seconds of each run of ``cmd``, and the peak memory
    (MB, the largest resident set of any run, measured by ``/usr/bin/time`` when present).

    CPU time barely depends on what else the shared machine is doing; wall time does.
    """
    walls, cpus, peak = [], [], 0.0
    gnu_time = shutil.which("time") if Path("/usr/bin/time").exists() else None
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        if gnu_time:
            run = subprocess.run(
                ["/usr/bin/time", "-f", "%M", *cmd],
                check=True,
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            peak = max(peak, int(run.stderr.strip().splitlines()[-1]) / 1024)
        else:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=cwd)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if not gnu_time:
            peak = max(peak, after.ru_maxrss / 1024)
    return walls, cpus, peak


def compare(other: Path, repeat: int, rows: int = N_ROWS) -> None:
    """Alternate runs of another checkout's CLI and this one's on the same data: the CSV
    and its Parquet copy at 1,000,000 rows, the Parquet file at another ``rows``."""
    DATA_DIR.mkdir(exist_ok=True)
    if rows == N_ROWS:
        path = DATA_DIR / "responses_1m.csv"
        if not path.exists():
            make_data(path)
        inputs = {"CSV": path, "Parquet": parquet_copy(path)}
    else:
        path = DATA_DIR / f"responses_{rows}.parquet"
        if not path.exists():
            make_data(path, rows=rows)
        inputs = {f"Parquet, {rows:,} rows": path}
    here = Path(__file__).resolve().parents[1]
    runs = {"before": other.resolve(), "after": here}
    results = {(k, i): ([], [], 0.0) for i in inputs for k in runs}
    load = [os.getloadavg()[0]]
    for _ in range(repeat):
        for kind, data in inputs.items():
            for label, root in runs.items():
                env_cmd = ["env", f"PYTHONPATH={root}", sys.executable, "-m", "analysis.cli"]
                # cwd: `python -m` puts the working directory before PYTHONPATH, so run from
                # a directory that is not a checkout (from this one both runs were this code).
                wall, cpu, peak = timed_subprocess(
                    [*env_cmd, *cli_arguments(data)], 1, cwd=DATA_DIR
                )
                w, c, p = results[(label, kind)]
                results[(label, kind)] = (w + wall, c + cpu, max(p, peak))
        load.append(os.getloadavg()[0])
    for (label, kind), (wall, cpu, peak) in results.items():
        show(f"{label}: {runs[label].name} ({kind}, end to end)", wall)
        print(f"{label}:   max {max(wall):.3f} s; peak memory {peak:.0f} MB")
        show(f"{label}:   CPU time (user + system)", cpu)
    print(f"load average (1 min) during the runs: {min(load):.2f}–{max(load):.2f} (2 cores)")


def show(label: str, times: list[float]) -> None:
    print(f"{label:<58} best {min(times):7.3f} s   median {statistics.median(times):7.3f} s")


R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(TRUE)
d <- read.csv(args[1], colClasses = c(street = "character", community = "character",
                                      building = "character"))
k <- as.integer(args[2])
des <- svydesign(ids = ~building, strata = ~street, weights = ~w, nest = TRUE, data = d)
t <- system.time({
  for (y in c("aware", "support", "satisfied")[seq_len(k)]) {
    f <- as.formula(paste0("~", y))
    m <- svyby(f, ~community, des, svymean, na.rm = TRUE)
    ci <- suppressWarnings(svyby(f, ~community, des, svyciprop, method = "beta",
                                 vartype = "ci", na.rm = TRUE))
  }
})
cat(t[["elapsed"]], t[["user.self"]] + t[["sys.self"]], "\n")
"""


def time_r(path: Path, indicators: int) -> tuple[float, float] | None:
    if shutil.which("Rscript") is None:
        return None
    check = subprocess.run(
        ["Rscript", "-e", "library(survey)"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
        f.write(R_SCRIPT)
    try:
        run = subprocess.run(
            ["Rscript", f.name, str(path), str(indicators)],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(f.name)
    elapsed, cpu = run.stdout.split()[-2:]
    return float(elapsed), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-r", action="store_true", help="skip the R comparison")
    parser.add_argument(
        "--r-indicators",
        type=int,
        default=3,
        help="indicators to time in R (R's time is scaled up to 3 if fewer)",
    )
    parser.add_argument("--rows", type=int, default=N_ROWS, help="rows (≠ 1M: Parquet only)")
    parser.add_argument(
        "--compare-with",
        metavar="CHECKOUT",
        help="another checkout of the project (e.g. a git worktree of an older commit): "
        "time its survey-estimate on the CSV alternately with this one's (before/after)",
    )
    args = parser.parse_args()
    if args.compare_with:
        compare(Path(args.compare_with), args.repeat, args.rows)
        return

    DATA_DIR.mkdir(exist_ok=True)
    if args.rows != N_ROWS:
        big = DATA_DIR / f"responses_{args.rows}.parquet"
        if not big.exists():
            t = time.perf_counter()
            make_data(big, rows=args.rows)
            print(f"generated {big} in {time.perf_counter() - t:.1f} s")
        cmd = cli_command(big)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall, cpu, peak = timed_subprocess(cmd, args.repeat)
        show(f"survey-estimate end to end, {args.rows:,} rows from Parquet", wall)
        show("  the same, CPU time (user + system)", cpu)
        print(f"  peak memory {peak:.0f} MB; load average now: {os.getloadavg()[0]:.2f}")
        return
    path = DATA_DIR / "responses_1m.csv"
    if not path.exists():
        t = time.perf_counter()
        make_data(path)
        print(f"generated {path} in {time.perf_counter() - t:.1f} s")
    print(f"data: {path} ({path.stat().st_size / 1e6:.0f} MB), {os.cpu_count()} cores")

    cmd = cli_command(path)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # warm the file cache
    cli, cli_cpu, peak = timed_subprocess(cmd, args.repeat)
    show("survey-estimate end to end (subprocess, CSV read, JSON out)", cli)
    show("  the same, CPU time (user + system)", cli_cpu)
    print(f"  peak memory {peak:.0f} MB")
    pq_cmd = cli_command(parquet_copy(path))
    subprocess.run(pq_cmd, check=True, stdout=subprocess.DEVNULL)
    pq, pq_cpu, pq_peak = timed_subprocess(pq_cmd, args.repeat)
    show("survey-estimate end to end from Parquet", pq)
    show("  the same, CPU time (user + system)", pq_cpu)
    print(f"  peak memory {pq_peak:.0f} MB")
    print(f"  load average now: {os.getloadavg()[0]:.2f} (2 cores; others share the machine)")

    import analysis
    from analysis.cli import build_parser, read_data

    ns = build_parser().parse_args(cli_arguments(path))
    options = dict(indicators=INDICATORS, weight="w", strata="street", cluster="building")
    options.update(by="community", method="beta")
    read = timed(lambda: read_data(ns), args.repeat)
    show("in process: read_csv (pyarrow)", read)
    data = read_data(ns)
    est = timed(lambda: analysis.estimate(data, **options), args.repeat)
    show("in process: analysis.estimate (1,503 rows out)", est)
    totals = analysis.aggregate_totals(data, **{k: options[k] for k in options if k != "method"})
    ft = timed(lambda: analysis.estimate_from_totals(totals, method="beta"), args.repeat)
    show(f"in process: estimate_from_totals ({len(totals.table):,} PSU sums)", ft)

    result = analysis.estimate(data, **options)
    verdicts = pd.Series([r.verdict for r in result.rows]).value_counts().to_dict()
    print(f"rows: {len(result.rows)}; verdicts: {verdicts}")

    if args.no_r:
        return
    r_times = time_r(path, args.r_indicators)
    if r_times is None:
        print("R with the survey package not found: no comparison")
        return
    scale = len(INDICATORS) / args.r_indicators
    r_all, r_cpu = r_times[0] * scale, r_times[1] * scale
    note = "" if args.r_indicators == 3 else f" (timed {args.r_indicators}, scaled to 3)"
    print(
        f"R svyby(svymean) + svyby(svyciprop, beta), read excluded: {r_all:.1f} s wall, "
        f"{r_cpu:.1f} s CPU{note}"
    )
    print(
        f"ratio R / survey-estimate end to end, wall: {r_all / min(cli):.0f}x (best), "
        f"{r_all / statistics.median(cli):.0f}x (median)"
    )
    print(
        f"ratio R / survey-estimate end to end, CPU: {r_cpu / min(cli_cpu):.0f}x (best), "
        f"{r_cpu / statistics.median(cli_cpu):.0f}x (median)"
    )
    print(f"ratio R / analysis.estimate in process: {r_all / min(est):.0f}x (best)")


if __name__ == "__main__":
    main()
