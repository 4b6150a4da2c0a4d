"""Monte Carlo: coverage and false-达标 rates of the verdict, in the designs the app uses.

Not a unit test: a script that prints the tables published in docs/methodology.md and
benchmarks/README.md. Every replicate goes through :func:`analysis.estimate_from_totals`
— the web app's own route —, so what is measured is what secretaries are told.

Designs (one community per replicate; replicates are grouped in waves of ``WAVE``
communities, so that the all-yes rule pools its design effect from a wave, as in the app):

``srs``
    n households by simple random sampling, one respondent each (each its own PSU).
``clustered ICC ρ``
    8–12 buildings per community (uniform), the n interviews spread over them at random;
    building rates drawn from a beta distribution with mean p and intra-building
    correlation ρ (0.05, 0.1); PSU = building, df = buildings − 1.
``census + non-response``
    every household of the community approached (N = n / 0.8 in 8–12 buildings, answers
    correlated within buildings with ρ = 0.05), a random 80% answer; the population size N
    and "every building taken" (fpc) are given, so the finite-population rules apply. The
    truth is the rate among all N households.

For each cell (design, true rate p ∈ {0.95, 0.98, 0.985, 0.99, 0.995}, n ∈ {40, 100, 400,
1000}) it reports the share told 达标 (``met``) by the verdict (Korn–Graubard: the default,
the only ``VERDICT_METHODS``) — the false-达标 rate wherever p ≤ 0.99 — and the coverage
of each interval method; with ``--methods`` also each method's false-达标 rate had it
decided. Goal (DESIGN.md): ≤ 2.5% false 达标 at p ≤ 0.985 and at p = 0.99.

Usage: ``python benchmarks/coverage.py [--reps 2000] [--seed 1] [--methods] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

import analysis

RATES = (0.95, 0.98, 0.985, 0.99, 0.995)
SIZES = (40, 100, 400, 1000)
TARGET = 0.99
WAVE = 10  # communities per wave (the all-yes rule pools its design effect from a wave)
RESPONSE = 0.8


def _beta_rates(rng, p, icc, shape):
    """Building rates with mean p and intra-building correlation icc."""
    k = (1 - icc) / icc
    return rng.beta(p * k, (1 - p) * k, size=shape)


def clustered(rng, reps, n, p, icc):
    """PSU totals: (replicate, building, n_b, yes_b) for n interviews in 8–12 buildings."""
    buildings = rng.integers(8, 13, reps)
    rep = np.repeat(np.arange(reps), buildings)
    first = np.r_[0, np.cumsum(buildings)[:-1]]
    # n interviews over each community's buildings, uniformly at random
    which = rng.random((reps, n)) * buildings[:, None]
    idx = (first[:, None] + which.astype(np.int64)).ravel()
    n_b = np.bincount(idx, minlength=len(rep))
    yes = rng.binomial(n_b, _beta_rates(rng, p, icc, len(rep)))
    return rep, n_b, yes, None, None


def srs(rng, reps, n, p):
    """Each respondent its own PSU."""
    rep = np.repeat(np.arange(reps), n)
    yes = (rng.random(reps * n) < p).astype(np.int64)
    return rep, np.ones(reps * n, dtype=np.int64), yes, None, None


def census(rng, reps, n, p, icc=0.05):
    """All N = n / 0.8 households approached, a random n answer; truth = rate among N."""
    big_n = int(round(n / RESPONSE))
    buildings = rng.integers(8, 13, reps)
    rep = np.repeat(np.arange(reps), buildings)
    first = np.r_[0, np.cumsum(buildings)[:-1]]
    home = first[:, None] + (rng.random((reps, big_n)) * buildings[:, None]).astype(np.int64)
    rate = _beta_rates(rng, p, icc, len(rep))
    y = rng.random((reps, big_n)) < rate[home]
    truth = y.mean(axis=1)
    # a random n of the N answer
    order = np.argsort(rng.random((reps, big_n)), axis=1)[:, :n]
    rows = np.arange(reps)[:, None]
    heard_home, heard_y = home[rows, order].ravel(), y[rows, order].ravel()
    n_b = np.bincount(heard_home, minlength=len(rep))
    yes = np.bincount(heard_home, weights=heard_y, minlength=len(rep)).astype(np.int64)
    return rep, n_b, yes, truth, (big_n, buildings)


def run_cell(rep, n_b, yes, extra, method, reps):
    """estimate_from_totals on all replicates at once; rows per replicate (in order)."""
    keep = n_b > 0
    wave = rep // WAVE
    table = pd.DataFrame(
        {
            "indicator": wave[keep],  # one "indicator" per wave: its own pooled design effect
            "domain": rep[keep] % WAVE,  # the community within its wave
            "stratum": rep[keep],  # each community its own street
            "psu": np.flatnonzero(keep),
            "n": n_b[keep],
            "sum_w": n_b[keep].astype(float),
            "sum_wy": yes[keep].astype(float),
        }
    )
    options = {}
    if extra is not None:
        big_n, buildings = extra
        options["population"] = dict.fromkeys(range(WAVE), big_n)
        options["fpc"] = pd.Series(buildings, index=np.arange(reps))  # every building taken
        # psu_counts: all buildings, also one where nobody answered
        options["psu_counts"] = pd.Series(buildings, index=np.arange(reps))
    else:
        counts = np.bincount(rep[keep], minlength=reps)
        options["psu_counts"] = pd.Series(counts, index=np.arange(reps))
    result = analysis.estimate_from_totals(table, method=method, target=TARGET, **options)
    rows = {(r.indicator, r.domain): r for r in result.rows if r.domain is not None}
    return [rows[(r // WAVE, r % WAVE)] for r in range(reps)]


DESIGNS = {
    "srs": lambda rng, reps, n, p: srs(rng, reps, n, p),
    "clustered ICC 0.05": lambda rng, reps, n, p: clustered(rng, reps, n, p, 0.05),
    "clustered ICC 0.1": lambda rng, reps, n, p: clustered(rng, reps, n, p, 0.1),
    "census + non-response": lambda rng, reps, n, p: census(rng, reps, n, p),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--methods", action="store_true", help="every method's false 达标 too")
    parser.add_argument("--quick", action="store_true", help="200 replicates, for a look")
    args = parser.parse_args()
    reps = 200 if args.quick else args.reps
    methods = analysis.METHODS if args.methods else ("korn-graubard",)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    records = []
    for design, make in DESIGNS.items():
        for n in SIZES:
            for p in RATES:
                rep, n_b, yes, truth, extra = make(rng, reps, n, p)
                true = np.full(reps, p) if truth is None else truth
                for method in methods:
                    rows = run_cell(rep, n_b, yes, extra, method, reps)
                    low = np.array([r.ci_low for r in rows])
                    high = np.array([r.ci_high for r in rows])
                    own_met = low >= TARGET
                    met = np.array([r.verdict == "met" for r in rows])
                    records.append(
                        {
                            "design": design,
                            "n": n,
                            "p": p,
                            "method": method,
                            "met": met.mean(),
                            "false_met": (
                                met & (true < TARGET if truth is not None else true <= TARGET)
                            ).mean(),
                            "own_met": own_met.mean(),
                            "own_false_met": (
                                own_met & (true < TARGET if truth is not None else true <= TARGET)
                            ).mean(),
                            "coverage": ((low <= true) & (true <= high)).mean(),
                        }
                    )
    elapsed = time.perf_counter() - started
    table = pd.DataFrame(records)
    print(
        f"# coverage.py: {reps} replicates per cell, seed {args.seed}, {elapsed:.0f} s, "
        f"{os.cpu_count()} cores, target {TARGET}, 95% intervals\n"
    )
    kg = table[table["method"] == "korn-graubard"]
    print("False 达标: share told 达标 by the verdict (Korn–Graubard) when the true rate is")
    print("p ≤ 0.99 (census: when the population's own rate is below 99%):\n")
    print(_markdown(kg[kg["p"] <= 0.99], "false_met", rates=RATES[:-1]))
    print("\nShare told 达标 (at p = 0.995 this is the power):\n")
    print(_markdown(kg, "met"))
    print("\nCoverage of the 95% Korn–Graubard interval (truth inside):\n")
    print(_markdown(kg, "coverage"))
    if args.methods:
        print(
            "\nEach method's own interval deciding (L ≥ 99%): the largest false-达标 rate at"
            " p ≤ 0.99 / the smallest coverage, over n and p:\n"
        )
        print("| design | " + " | ".join(analysis.METHODS) + " |")
        print("| --- | " + " | ".join("---:" for _ in analysis.METHODS) + " |")
        for design in DESIGNS:
            cells = []
            for method in analysis.METHODS:
                sub = table[(table["method"] == method) & (table["design"] == design)]
                worst = sub[sub["p"] <= 0.99]["own_false_met"].max()
                cells.append(f"{100 * worst:.1f}% / {100 * sub['coverage'].min():.1f}%")
            print(f"| {design} | " + " | ".join(cells) + " |")
    worst = kg[kg["p"] <= 0.99]["false_met"].max()
    mc_se = np.sqrt(0.025 * 0.975 / reps)
    print(
        f"\nlargest false-达标 rate of the verdict at p ≤ 0.99: {worst:.2%} (goal ≤ 2.5%); "
        f"Monte Carlo SE at 2.5% with {reps} replicates: {mc_se:.2%}"
    )


def _markdown(table, column, rates=RATES):
    """Rows: design × n; columns: the true rates."""
    out = ["| design | n | " + " | ".join(f"p = {p}" for p in rates) + " |"]
    out.append("| --- | ---: | " + " | ".join("---:" for _ in rates) + " |")
    for (design, n), cell in table.groupby(["design", "n"], sort=False):
        values = []
        for p in rates:
            v = cell[cell["p"] == p].iloc[0][column]
            values.append(f"{100 * v:.1f}%")
        out.append(f"| {design} | {n} | " + " | ".join(values) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
