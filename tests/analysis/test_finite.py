"""Finite populations (issue 10, 3): a community of N households, n heard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import analysis
from analysis.finite import hypergeometric_interval


def _community(yes: int, n: int, population: int, **extra) -> pd.DataFrame:
    return pd.DataFrame(
        {"w": 1.0, "y": [1.0] * yes + [0.0] * (n - yes), "c": "C1", "N": population, **extra}
    )


def _plain(data, **options):
    """The domain's row without the population: the design's interval alone."""
    result = analysis.estimate(data, indicators=["y"], weight="w", by="c", **options)
    (row,) = [r for r in result.rows if r.domain == "C1"]
    return row


def _row(data, **options):
    result = analysis.estimate(
        data, indicators=["y"], weight="w", by="c", population="N", **options
    )
    (row,) = [r for r in result.rows if r.domain == "C1"]
    return row


def test_all_64_heard_all_yes_is_met():
    """«无法单独证明达到 99%» was wrong: all 64 households heard, all yes, is 达标."""
    row = _row(_community(64, 64, 64))
    assert (row.ci_low, row.ci_high) == (1.0, 1.0)
    assert (row.verdict, row.why, row.finite_population) == ("met", "exact_finite", True)
    assert (row.population, row.rate_if_unheard_no, row.rate_if_unheard_yes) == (64, 1.0, 1.0)


def test_one_no_in_64_makes_not_met_certain():
    row = _row(_community(63, 64, 64))
    assert row.ci_low == row.ci_high == pytest.approx(63 / 64)
    assert (row.verdict, row.why) == ("not_met", "exact_finite")
    # also when 14 households were not heard: at best (49 + 14)/64 = 98.4%
    row = _row(_community(49, 50, 64))
    assert row.rate_if_unheard_no == pytest.approx(49 / 64)
    assert row.rate_if_unheard_yes == pytest.approx(63 / 64) and row.ci_high <= 63 / 64
    assert (row.verdict, row.why) == ("not_met", "exact_finite")
    assert row.needed_n is None and row.needed_status == "settled"


def test_non_response_bounds_and_the_hypergeometric_interval():
    """50 of 64 heard, all yes: K ≥ 62 at 95% (P(X = 50 | K = 61) = 0.0087 < 0.025)."""
    row = _row(_community(50, 50, 64))
    assert (row.ci_low, row.ci_high) == (62 / 64, 1.0)
    assert row.verdict == "undetermined" and row.why == "exact_finite"
    assert (row.rate_if_unheard_no, row.rate_if_unheard_yes) == (50 / 64, 1.0)
    assert row.needed_n_met == 14 and row.needed_status == "more"  # hear the other 14


@pytest.mark.parametrize(("x", "n", "big_n"), [(0, 10, 50), (7, 10, 50), (99, 100, 400), (5, 5, 6)])
def test_hypergeometric_interval_is_exact(x, n, big_n):
    low, high = hypergeometric_interval([x], [n], [big_n], level=0.95)
    k_low, k_high = round(low[0] * big_n), round(high[0] * big_n)
    assert stats.hypergeom.sf(x - 1, big_n, k_low, n) > 0.025
    assert k_low == x or stats.hypergeom.sf(x - 1, big_n, k_low - 1, n) <= 0.025
    assert stats.hypergeom.cdf(x, big_n, k_high, n) > 0.025
    assert k_high == x + big_n - n or stats.hypergeom.cdf(x, big_n, k_high + 1, n) <= 0.025


def test_large_population_approaches_clopper_pearson():
    from statsmodels.stats.proportion import proportion_confint

    low, high = hypergeometric_interval([99], [100], [10**6])
    assert (low[0], high[0]) == pytest.approx(proportion_confint(99, 100, method="beta"), abs=2e-5)


def test_clustered_sample_is_cut_by_the_unheard_households():
    """Buildings sampled (not all taken): the design interval, cut to what N allows."""
    data = pd.DataFrame({"b": np.repeat(np.arange(8), 8), "w": 1.0, "y": 1.0, "c": "C1", "N": 70})
    data.loc[0, "y"] = 0.0
    row = _row(data, cluster="b")
    assert row.rate_if_unheard_yes == pytest.approx(69 / 70)
    assert row.ci_high == pytest.approx(69 / 70) and row.verdict == "not_met"
    assert row.why == "exact_finite"


def test_census_of_buildings_with_fpc_uses_the_exact_interval():
    """Every building taken (fpc = buildings): between-building variance is 0; who answered
    is a random subset of each building, so the hypergeometric interval applies."""
    data = pd.DataFrame(
        {"b": np.repeat(np.arange(4), 10), "w": 1.0, "y": 1.0, "c": "C1", "N": 48, "B": 4}
    )
    data.loc[:1, "y"] = 0.0
    row = _row(data, cluster="b", fpc="B")
    low, high = hypergeometric_interval([38], [40], [48])
    assert (row.ci_low, row.ci_high) == (low[0], high[0]) and row.why == "exact_finite"
    assert row.ci_low > 0.5  # not [3.5%, 100%]


def _two_buildings(population: int) -> pd.DataFrame:
    """A community whose weights differ between its two buildings (the non-response
    adjustment): 20 heard in building 1 (w = 2), 40 in building 2 (w = 1.25), 2 not
    satisfied; household PSUs."""
    y = np.ones(60)
    y[[0, 30]] = 0.0
    w = np.where(np.arange(60) < 20, 2.0, 1.25)
    return pd.DataFrame({"h": np.arange(60), "w": w, "y": y, "c": "C1", "N": population})


def test_unequal_weights_are_bounded_by_the_unheard_households():
    """58 of 60 heard satisfied, N = 64: at best 62/64 = 96.9% whatever the weights —
    未达标 is certain, from survey-estimate as from the pages (issue 9, item 5)."""
    data = _two_buildings(64)
    row = _row(data, cluster="h")
    plain = _plain(data, cluster="h")
    assert plain.verdict == "undetermined" and plain.ci_high > 62 / 64
    assert (row.rate_if_unheard_no, row.rate_if_unheard_yes) == (58 / 64, 62 / 64)
    assert (row.verdict, row.why, row.needed_n) == ("not_met", "exact_finite", None)
    # The design's interval [87.1%, 99.6%] within [58/64, 62/64] (not the exact interval):
    assert (row.ci_low, row.ci_high) == (58 / 64, 62 / 64) and plain.ci_low < 58 / 64
    assert (row.estimate, row.se, row.df) == (plain.estimate, plain.se, plain.df)
    # The same from the totals route, which the pages take: sum_y carries the counts.
    totals = analysis.aggregate_totals(data, indicators=["y"], weight="w", cluster="h", by="c",
                                       counts=True)  # fmt: skip
    assert "sum_y" in totals.table.columns
    (again,) = [
        r
        for r in analysis.estimate_from_totals(totals, population={"C1": 64}).rows
        if r.domain == "C1"
    ]
    fields = ("n", "estimate", "se", "ci_low", "ci_high", "verdict", "why", "needed_n",
              "rate_if_unheard_no", "rate_if_unheard_yes", "population")  # fmt: skip
    assert [getattr(again, f) for f in fields] == [getattr(row, f) for f in fields]
    # Totals without the counts: the bounds are known only where the weights are equal.
    (blind,) = [
        r
        for r in analysis.estimate_from_totals(
            totals.table.drop(columns="sum_y"), psu_counts=totals.psu_counts,
            population={"C1": 64},
        ).rows
        if r.domain == "C1"
    ]  # fmt: skip
    assert blind.rate_if_unheard_yes is None and blind.ci_high == plain.ci_high


def test_bounds_that_do_not_settle_cut_the_interval_but_decide_nothing():
    """N = 300: the bounds [58/300, 298/300] cut the interval's top (99.6% → 99.3%), but
    they leave 99% open: the verdict and why stay the interval's."""
    data = _two_buildings(300)
    row, plain = _row(data, cluster="h"), _plain(data, cluster="h")
    assert row.rate_if_unheard_yes == pytest.approx(298 / 300)
    assert 0.99 < row.rate_if_unheard_yes < plain.ci_high
    assert (row.ci_low, row.ci_high) == (plain.ci_low, row.rate_if_unheard_yes)
    assert (row.verdict, row.why) == ("undetermined", "interval")


def test_an_interval_outside_the_bounds_is_clipped_to_them():
    """Very unequal weights can put the design's interval wholly outside what the
    unheard households allow (here [5.7%, 48.8%] against [70%, 95%]): it is clipped to
    the nearest bound, and the bounds' verdict (未达标, certain) stands."""
    data = pd.DataFrame({"w": [50.0] * 10 + [1.0] * 140, "y": [0.0] * 10 + [1.0] * 140,
                         "c": "C1", "N": 200})  # fmt: skip
    row = _row(data)
    assert (row.rate_if_unheard_no, row.rate_if_unheard_yes) == (0.7, 0.95)
    assert (row.ci_low, row.ci_high) == (0.7, 0.7)
    assert (row.verdict, row.why) == ("not_met", "exact_finite")


def test_population_errors_name_the_column():
    data = _community(10, 10, 5)
    with pytest.raises(analysis.AnalysisInputError, match="column 'N'.*population of 5"):
        _row(data)
    data = _community(10, 10, 20)
    data.loc[3, "N"] = 21
    with pytest.raises(analysis.AnalysisInputError, match=r"column 'N'.*differs.*data row"):
        _row(data)


def test_estimate_from_totals_takes_a_population_mapping():
    totals = pd.DataFrame(
        {
            "indicator": "y",
            "domain": ["C1", "C2"],
            "stratum": "S",
            "psu": ["a", "b"],
            "n": [40, 30],
            "sum_w": [40.0, 30.0],
            "sum_wy": [40.0, 29.0],
        }
    )
    result = analysis.estimate_from_totals(totals, population={"C1": 40, "C2": 35})
    rows = {r.domain: r for r in result.rows}
    assert rows["C1"].verdict == "met" and rows["C1"].finite_population
    assert rows["C2"].rate_if_unheard_yes == pytest.approx(34 / 35)
    assert rows[None].population == 75
