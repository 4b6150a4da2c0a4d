"""Benchmark: the key-drivers model on 1,000,000 responses.

Generates a stratified cluster sample: 50 streets (strata), 5,000 buildings (PSUs) in 500
communities, log-normal weights, 9 area items (农贸市场 not asked of 20%) and overall
satisfaction from a logistic model with building effects. Times, best and median of
``--repeat`` runs:

1. ``key_drivers`` on the whole sample: the survey logistic GLM (statsmodels IRLS +
   PSU-clustered sandwich) and the readable view (9 areas × rate, lift with its SE);
2. ``key_drivers`` for one community (domain estimation over the whole design);
3. ``trend_test`` and ``wave_change`` over the same rows split into 2 waves;
4. if ``Rscript`` with the survey package is installed (and not ``--no-r``):
   ``svyglm(family = quasibinomial())`` on the same data (CSV read excluded).

Usage: ``python benchmarks/drivers_bench.py [--repeat 3] [--rows 1000000] [--no-r]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.drivers import key_drivers
from analysis.trends import trend_test, wave_change

AREAS = [f"a{i}" for i in range(1, 10)]


def make_data(rows: int, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    building = rng.integers(0, 5000, rows)
    effect = rng.normal(0, 0.5, 5000)[building]
    data = {
        "street": building // 100,
        "building": building,
        "community": building // 10,
        "wave": rng.integers(1, 3, rows),
        "w": np.exp(rng.normal(0, 0.4, rows)),
    }
    eta = np.full(rows, -1.5) + effect
    for k, (base, beta) in enumerate(
        zip(
            [2.6, 2.2, 2.4, 1.6, 2.8, 1.9, 1.2, 3.0, 2.5],
            [0.3, 0.5, 0.9, 0.2, 0.1, 0.4, 1.4, 0.2, 0.3],
            strict=True,
        )
    ):
        a = (rng.random(rows) < 1 / (1 + np.exp(-(base + effect)))).astype(float)
        eta += beta * a
        if k == 3:
            a[rng.random(rows) < 0.2] = np.nan
        data[AREAS[k]] = a
    data["y"] = (rng.random(rows) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame(data)


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


R_SCRIPT = """
suppressMessages(library(survey))
d <- read.csv("{path}")
des <- svydesign(ids = ~building, strata = ~street, weights = ~w, nest = TRUE, data = d)
t <- system.time(fit <- svyglm(y ~ a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9, des,
                              family = quasibinomial()))
cat(t[["elapsed"]], "\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    data = make_data(args.rows)
    design = dict(weight="w", strata="street", cluster="building")
    print(f"{len(data):,} responses, 50 strata, 5,000 PSUs, 500 communities, 9 areas")

    result = {}

    def whole():
        result["r"] = key_drivers(data, outcome="y", areas=AREAS, **design)

    best, median = timed(whole, args.repeat)
    top = ", ".join(f"{a.area} {a.gain:.3f}" for a in result["r"].top(3))
    print(f"key_drivers, whole sample   best {best:6.2f} s  median {median:6.2f} s  (top: {top})")
    best, median = timed(
        lambda: key_drivers(data, outcome="y", areas=AREAS, domain=("community", 7), **design),
        args.repeat,
    )
    print(f"key_drivers, one community  best {best:6.2f} s  median {median:6.2f} s")
    best, median = timed(
        lambda: wave_change(data, indicators=["y"], wave="wave", before=1, after=2, **design),
        args.repeat,
    )
    print(f"wave_change, whole sample   best {best:6.2f} s  median {median:6.2f} s")
    best, median = timed(
        lambda: trend_test(data, indicators=["y"], wave="wave", **design), args.repeat
    )
    print(f"trend_test, whole sample    best {best:6.2f} s  median {median:6.2f} s")
    if args.no_r or shutil.which("Rscript") is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drivers.csv"
        data.to_csv(path, index=False)
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT.format(path=path))
        out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True)
        print(
            f"R svyglm(quasibinomial)     {float(out.stdout.split()[-1]):6.2f} s  (read excluded)"
        )


if __name__ == "__main__":
    main()
