"""Benchmark: the estimation step of the result pages on a wave's own design.

    .venv/bin/python benchmarks/waves_bench.py [--responses 10000,100000,1000000] [--repeat 3]

For a wave drawn with a household-PSU design (census/srs/systematic/upload) the running
sums per building become one row per household (``fieldwork.design.estimation_table``)
before ``analysis.estimate_from_totals``; for two-stage designs and waves from before
designs they stay one row per building. This times that step — the part of the page that
grows with the interviews — for the city overview (communities, streets and the city, one
indicator) and for one community's page (three indicators), on synthetic sums: 500
communities of 10 buildings, 20 streets, rates near 97%, weights varying by building. The
database reads (a few thousand sums, the wave's assignments for the weights) are not
included. Compared with the page budget (DESIGN.md): ≤ 200 ms with 1,000,000 responses.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import analysis  # noqa: E402
from survey_app.fieldwork import design  # noqa: E402

COMMUNITIES, BUILDINGS = 500, 10


def inputs(responses: int, kind: str, indicators=("satisfaction",)) -> design.WaveInputs:
    rng = np.random.default_rng(20261130)
    per = max(1, responses // (COMMUNITIES * BUILDINGS))
    rows = []
    for ind in indicators:
        for c in range(COMMUNITIES):
            for b in range(BUILDINGS):
                rows.append((ind, c + 1, c // 25 + 1, c * 100 + b, per, int(rng.binomial(per, 0.97)),
                             1.5 + rng.random(), float(per * 2)))  # fmt: skip
    cols = [
        "indicator",
        "community_id",
        "street_id",
        "building_id",
        "n",
        "positive",
        "weight",
        "building_size",
    ]
    totals = pd.DataFrame(rows, columns=cols)
    n_c = per * BUILDINGS
    communities = {
        c + 1: {"households": 2 * n_c, "buildings": BUILDINGS, "sampled": n_c + n_c // 4,
                "eligible": n_c + n_c // 5, "respondents": n_c, "street_id": c // 25 + 1}
        for c in range(COMMUNITIES)
    }  # fmt: skip
    return design.WaveInputs(1, kind, False, totals, communities)


def overview(inp: design.WaveInputs) -> None:
    t = inp.totals
    parts = [
        design.estimation_table(inp, t["community_id"].astype(float)),  # as results/rates.py
        design.estimation_table(inp, -t["street_id"].astype(float)),
        design.estimation_table(inp, None),
    ]
    population = {float(c): v["households"] for c, v in inp.communities.items()}
    analysis.estimate_from_totals(
        pd.concat(parts, ignore_index=True), fpc=design.fpc(inp), population=population
    )


def community(inp: design.WaveInputs) -> None:
    t = inp.totals[inp.totals["community_id"] == 1].reset_index(drop=True)
    sub = design.WaveInputs(1, inp.design, inp.pps, t, {1: inp.communities[1]})
    analysis.estimate_from_totals(
        design.estimation_table(sub, t["community_id"].astype(float)),
        fpc=design.fpc(sub),
        population={1.0: sub.communities[1]["households"]},
    )


def best(fn, arg, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    overview(inputs(1000, "srs"))  # imports and caches warm
    print(
        "estimation step of the result pages, best of", args.repeat, "(ms); budget 200 ms per page"
    )
    print(f"{'responses':>10} {'design':>10} {'overview':>10} {'community':>10}")
    for n in [int(x) for x in args.responses.split(",")]:
        for kind in ("srs", "two-stage"):
            inp = inputs(n, kind)
            three = inputs(
                n // COMMUNITIES * COMMUNITIES, kind, ("awareness", "support", "satisfaction")
            )
            print(f"{n:>10,} {kind:>10} {best(overview, inp, args.repeat):>10.0f} "
                  f"{best(community, three, args.repeat):>10.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
