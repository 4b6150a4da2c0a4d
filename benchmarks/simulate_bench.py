"""Benchmark: the wave simulator, 60 communities × 1,000 replicates (budget: under a minute).

A frame like a real street office's: 60 communities of 4–14 buildings with 20–60
households each (about 21,000 households), expected rates between 95% and 99.9%,
response rate 85%, intra-building correlation 0.05. Times, best and median of
``--repeat`` runs:

1. ``simulate_wave`` for each design: census, srs (n = 200), two-stage (6 × 20);
2. ``smallest_design`` for srs (the bisection over n: about 10 simulations);
3. the ``survey-plan`` command end to end (subprocess, srs with ``--search``).

Usage: ``python benchmarks/simulate_bench.py [--repeat 3] [--replicates 1000]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.simulate import WaveDesign, simulate_wave, smallest_design


def make_frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(60):
        rate = rng.choice([0.95, 0.97, 0.98, 0.99, 0.995, 0.999])
        for b in range(int(rng.integers(4, 15))):
            rows.append((f"C{c:02d}", f"C{c:02d}-B{b:02d}", int(rng.integers(20, 61)), rate))
    return pd.DataFrame(rows, columns=["community", "building", "households", "expected"])


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    frame = make_frame()
    expected = frame.groupby("community")["expected"].first().to_dict()
    options = dict(expected=expected, response_rate=0.85, icc=0.05, replicates=args.replicates)
    print(
        f"frame: {frame.community.nunique()} communities, {len(frame)} buildings, "
        f"{frame.households.sum()} households; {args.replicates} replicates; "
        f"{os.cpu_count()} cores"
    )
    designs = {
        "census": WaveDesign("census"),
        "srs n=200": WaveDesign("srs", n=200),
        "two-stage 6x20": WaveDesign("two-stage", buildings=6, per_building=20),
    }
    for name, design in designs.items():
        best, median = timed(
            lambda d=design: simulate_wave(frame, design=d, **options), args.repeat
        )
        print(f"simulate_wave {name:15s} best {best:6.2f} s  median {median:6.2f} s")
    search = {}

    def run_search():
        search["found"] = smallest_design(frame, design=WaveDesign("srs", n=1), **options)

    best, median = timed(run_search, args.repeat)
    reachable = sum(s.sample is not None for s in search["found"])
    print(
        f"smallest_design srs         best {best:6.2f} s  median {median:6.2f} s  "
        f"({reachable} of 60 communities can reach 80%)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frame.csv"
        frame.to_csv(path, index=False)
        cmd = [
            str(Path(sys.executable).with_name("survey-plan")),
            str(path),
            "--design",
            "srs",
            "--n",
            "200",
            "--expected-column",
            "expected",
            "--response-rate",
            "0.85",
            "--replicates",
            str(args.replicates),
            "--search",
        ]

        def cli():
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

        best, median = timed(cli, args.repeat)
        print(
            f"survey-plan --search (CLI)  best {best:6.2f} s  median {median:6.2f} s  "
            "(budget: under 60 s)"
        )


if __name__ == "__main__":
    main()
