"""``needed_n`` always returns: an integer search with a bound on its steps (issue 10, 1).

The bisection once worked on non-integer bounds (lo = 88, hi = 89.58: the midpoint floored
to lo forever) and froze ``survey-estimate`` and the secretary page.
"""

from __future__ import annotations

import itertools
import signal
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.planning import MAX_N, required_total_n


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (no pytest-timeout here)."""

    def fail(*_):
        raise TimeoutError(f"did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _two_buildings(method: str):
    """One community of 2 buildings (10/10 and 18/19 yes) in a stratum of 13 PSUs."""
    rng = np.random.default_rng(3)
    rows = [("B0", "C1", 1.0)] * 10 + [("B1", "C1", 1.0)] * 18 + [("B1", "C1", 0.0)]
    for b in range(2, 13):
        rows += [(f"B{b}", "C2", float(y)) for y in rng.uniform(size=15) < 0.95]
    data = pd.DataFrame(rows, columns=["building", "community", "y"]).assign(w=1.0, street="S")
    return analysis.estimate(
        data,
        indicators=["y"],
        weight="w",
        strata="street",
        cluster="building",
        by="community",
        method=method,
    )


@pytest.mark.parametrize("method", analysis.METHODS)
def test_two_building_community_returns(method):
    with deadline(20):
        result = _two_buildings(method)
    (row,) = [r for r in result.rows if r.domain == "C1"]
    assert (row.n, row.df) == (29, 1)
    assert row.verdict == "undetermined"
    assert row.needed_n is not None and row.needed_n > 0
    assert row.verdict_method == "korn-graubard"  # whatever the interval's method
    assert row.needed_n_not_met == row.needed_n and row.needed_n_met is None  # p̂ < 99%
    if method == "beta":  # the figure the outside check reported, on beta's own interval
        d = np.array([row.deff])
        total = required_total_n(
            np.array([row.estimate]), 0.99, d, np.array([1 / 29]), 0.95, "beta", np.array([29])
        )
        assert total[0] - 29 == 57


def test_mean_with_zero_se_and_zero_df_returns():
    """A domain inside one PSU: SE 0 (a rounding error), df 0, method mean."""
    data = pd.DataFrame(
        {
            "building": ["A"] * 5 + ["B"] * 40,
            "community": ["C1"] * 5 + ["C2"] * 40,
            "w": [1.0, 2.0, 3.0, 1.5, 2.5] + [1.0] * 40,
            "y": [1.0, 1.0, 1.0, 1.0, 0.0] + [1.0] * 38 + [0.0] * 2,
        }
    )
    with deadline(20):
        result = analysis.estimate(
            data, indicators=["y"], weight="w", cluster="building", by="community", method="mean"
        )
    (row,) = [r for r in result.rows if r.domain == "C1"]
    assert row.df == 0 and row.verdict == "undetermined"
    assert row.ci_low < row.ci_high


GRID = list(
    itertools.product(
        [1, 2, 5, 10, 29, 40, 88, 100, 370, 1000, 10_000],  # n
        [0.0, 0.5, 0.9, 0.933, 0.98, 0.985, 0.9899999, 0.99, 0.9900001, 0.993, 0.995, 1.0],
        [0.05, 0.27, 1.0, 2.5, 30.0],  # deff
        [0, 1, 9, None],  # df (None: n − 1)
    )
)


@pytest.mark.parametrize("method", analysis.METHODS)
def test_every_method_returns_on_a_grid(method):
    n = np.array([g[0] for g in GRID], dtype=float)
    p = np.array([g[1] for g in GRID])
    deff = np.array([g[2] for g in GRID])
    df = np.array([g[0] - 1 if g[3] is None else g[3] for g in GRID], dtype=float)
    with deadline(60):
        total = required_total_n(p, 0.99, deff, np.maximum(df, 1) / n, 0.95, method, n)
    finite = np.isfinite(total)
    assert np.all(total[finite] == np.floor(total[finite]))  # whole interviews
    assert np.all(total[finite] >= n[finite]) and np.all(total[finite] <= MAX_N)
    assert not finite[p == 0.99].any()  # p̂ on the target never settles
    assert finite[(p == 0.0) | (p == 0.5)].all()


@pytest.mark.parametrize("method", analysis.METHODS)
def test_every_method_returns_with_a_population(method):
    n = np.array([g[0] for g in GRID], dtype=float)
    p = np.array([g[1] for g in GRID])
    deff = np.array([g[2] for g in GRID])
    pop = np.floor(n * 1.5) + 3
    with deadline(60):
        total = required_total_n(p, 0.99, deff, None, 0.95, method, n, population=pop)
    finite = np.isfinite(total)
    assert np.all(total[finite] <= np.floor(pop[finite]))
    # hearing every household settles any rate that is not on the target
    assert finite[np.abs(p - 0.99) > 1e-3].all()


def _srs_row(yes, n, **options):
    data = pd.DataFrame({"w": 1.0, "y": [1.0] * yes + [0.0] * (n - yes)})
    return analysis.estimate(data, indicators=["y"], weight="w", **options).rows[0]


def test_needed_n_says_its_direction():
    """At 93.3% «约还需 8 份» read as "nearly there", though those 8 would most likely
    confirm 未达标 (issue 10, 7): the direction is explicit."""
    below = _srs_row(28, 30)  # 93.3%
    assert below.verdict == "undetermined" and below.estimate == pytest.approx(0.9333, abs=1e-4)
    assert below.needed_n_met is None
    assert below.needed_n_not_met == below.needed_n > 0
    assert below.needed_status == "more"
    above = _srs_row(995, 1000)  # 99.5%
    assert above.needed_n_not_met is None and above.needed_n_met == above.needed_n > 0


def test_needed_n_is_none_where_it_does_not_apply():
    """Exports gave needed_n = 0 on 未达标 rows and 928,217 at p̂ = T."""
    not_met = _srs_row(900, 1000)
    assert not_met.verdict == "not_met"
    assert (not_met.needed_n, not_met.needed_n_met, not_met.needed_n_not_met) == (None,) * 3
    assert not_met.needed_status == "settled"
    on_target = _srs_row(297, 300)  # p̂ = 0.99 exactly
    assert on_target.needed_n is None and on_target.needed_status == "never"
    assert "never_settles" in on_target.flags
    # weights that make p̂ a rounding error away from T: still never, not 928,217
    data = pd.DataFrame({"w": [0.1] * 300, "y": [1.0] * 297 + [0.0] * 3})
    row = analysis.estimate(data, indicators=["y"], weight="w").rows[0]
    assert row.needed_n is None and row.needed_status == "never"


def test_needed_n_with_a_population_stops_at_the_households_left():
    data = pd.DataFrame({"w": 1.0, "y": [1.0] * 60, "c": "C1", "N": 64})
    result = analysis.estimate(data, indicators=["y"], weight="w", by="c", population="N")
    (row,) = [r for r in result.rows if r.domain == "C1"]
    assert row.verdict == "undetermined" and row.needed_n_met == 4  # hear the other 4
