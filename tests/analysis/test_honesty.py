"""Statistical honesty at the 99% edge (issue 10): the regression tests, with its numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis


def _clustered_all_yes(buildings=10, per_building=37, other=None):
    data = pd.DataFrame(
        {"b": np.repeat(np.arange(buildings), per_building), "w": 1.0, "y": 1.0, "c": "C1"}
    )
    if other is not None:
        data["z"] = other
    return data


def _row(result, indicator="y", domain="C1"):
    (row,) = [r for r in result.rows if r.indicator == indicator and r.domain == domain]
    return row


def test_370_of_370_in_10_buildings_is_not_met_proof():
    """Clopper–Pearson on n said 0.99008 → 达标; with the df factor (df 9) it is 0.98689,
    and 487 all-yes interviews in those buildings would be needed."""
    result = analysis.estimate(
        _clustered_all_yes(), indicators=["y"], weight="w", cluster="b", by="c"
    )
    row = _row(result)
    assert (row.n, row.df) == (370, 9)
    assert row.ci_low == pytest.approx(0.98689, abs=5e-6)
    assert row.verdict == "undetermined" and row.why == "all_yes_df"
    assert row.n + row.needed_n == 487 and row.needed_n_met == row.needed_n
    assert row.needed_n_not_met is None and row.needed_status == "more"
    # nothing in the wave to pool from: the design effect is 1, said so
    assert (row.deff_used, row.deff_source) == (1.0, "none")


def test_all_yes_takes_the_design_effect_from_the_wave():
    """An indicator that varies between buildings tells how clustered answers are."""
    rng = np.random.default_rng(1)
    rates = np.repeat(rng.uniform(0.7, 1.0, 10), 37)
    data = _clustered_all_yes(other=(rng.uniform(size=370) < rates).astype(float))
    result = analysis.estimate(data, indicators=["y", "z"], weight="w", cluster="b", by="c")
    row, z = _row(result), _row(result, "z", None)
    rho = (z.deff - 1) / (37 - 1)
    assert row.deff_source == "wave_other_indicators"
    assert row.deff_used == pytest.approx(1 + 36 * rho, rel=1e-12) and row.deff_used > 2
    assert row.ci_low < 0.97 and row.verdict == "undetermined"


def test_all_yes_in_a_simple_random_sample_is_unchanged():
    """df = n − 1: 368 of 368 is still 达标 and 100 of 100 still 96.4%."""
    for n, low, verdict in ((368, 0.99, "met"), (100, 0.9638, "undetermined")):
        data = pd.DataFrame({"w": 1.0, "y": [1.0] * n, "c": "C1"})
        row = _row(analysis.estimate(data, indicators=["y"], weight="w", by="c"))
        assert row.ci_low == pytest.approx(low, abs=1e-4) and row.verdict == verdict


def _inside_one_psu():
    """A domain inside one PSU with unequal weights: V̂ is a rounding error (~1e-33)."""
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(24), 0.0, (rng.uniform(size=60) < 0.95)]
    return pd.DataFrame(
        {
            "b": ["A"] * 25 + ["B"] * 30 + ["C"] * 30,
            "c": ["D1"] * 25 + ["D2"] * 60,
            "w": np.r_[rng.uniform(1, 3, 25), np.ones(60)],
            "y": y.astype(float),
        }
    )


@pytest.mark.parametrize("method", analysis.METHODS)
def test_rounding_error_variance_is_zero(method):
    result = analysis.estimate(
        _inside_one_psu(), indicators=["y"], weight="w", cluster="b", by="c", method=method
    )
    row = _row(result, domain="D1")
    assert "zero_variance" in row.flags and row.se == 0.0 and row.deff == 0.0
    assert row.n_eff == pytest.approx(25 / row.deff_used) and row.n_eff < 25.01
    assert np.isfinite([row.ci_low, row.ci_high]).all()  # never null bounds
    assert row.ci_high - row.ci_low > 0.05  # never a zero-width interval from a sample
    assert row.verdict == "undetermined"  # not 未达标 "for certain"


def test_mean_never_decides_a_verdict():
    """Wald says 达标 at 499/500; the verdict is Korn–Graubard's, and says so."""
    data = pd.DataFrame({"w": 1.0, "y": [1.0] * 499 + [0.0], "c": "C1"})
    row = _row(analysis.estimate(data, indicators=["y"], weight="w", by="c", method="mean"))
    assert row.ci_low >= 0.99  # the Wald interval itself
    assert row.verdict_method == "korn-graubard" and row.verdict == "undetermined"
    assert row.verdict_low < 0.99 <= row.verdict_high
    with pytest.raises(ValueError, match="verdict_method"):
        analysis.estimate(data, indicators=["y"], weight="w", verdict_method="mean")


@pytest.mark.parametrize(("yes", "n"), [(369, 370), (499, 500)])
def test_wald_edge_cases(yes, n):
    data = pd.DataFrame({"w": 1.0, "y": [1.0] * yes + [0.0] * (n - yes)})
    mean = analysis.estimate(data, indicators=["y"], weight="w", method="mean").rows[0]
    assert mean.ci_low >= 0.99 and mean.verdict != "met"


def test_icc_can_be_given_instead_of_pooled():
    result = analysis.estimate(
        _clustered_all_yes(), indicators=["y"], weight="w", cluster="b", by="c", icc=0.05
    )
    row = _row(result)
    assert (row.deff_source, row.deff_used) == ("given", pytest.approx(1 + 36 * 0.05))


def test_the_verdict_uses_at_least_the_wave_design_effect():
    """998 of 1,000 yes in 10 buildings, the two "no" in different buildings: the domain's own
    deff is about 1 and Korn–Graubard alone says 达标; the wave shows strong clustering
    (ρ = 0.1), so the verdict's interval uses deff = 1 + 99·0.1 and stays 待定."""
    data = pd.DataFrame({"b": np.repeat(np.arange(10), 100), "w": 1.0, "c": "C1", "y": 1.0})
    data.loc[[0, 100], "y"] = 0.0
    alone = _row(analysis.estimate(data, indicators=["y"], weight="w", cluster="b", by="c"))
    assert alone.verdict == "met" and alone.deff_used == 1.0  # the wave is this community
    pooled = _row(
        analysis.estimate(data, indicators=["y"], weight="w", cluster="b", by="c", icc=0.1)
    )
    assert pooled.deff_source == "given" and pooled.deff_used == pytest.approx(10.9)
    assert pooled.verdict == "undetermined" and pooled.ci_low < alone.ci_low
    assert pooled.se == alone.se and pooled.n_eff == alone.n_eff  # the domain's own figures
