"""Sample-size planning against the 99% target: the facts DESIGN.md asks us to show."""

from __future__ import annotations

import pytest

from analysis import best_lower_bound, plan_sample_size


def test_all_yes_needs_368_completes():
    plan = plan_sample_size(target=0.99, expected=1.0)
    assert plan.n == 368 and plan.possible and plan.n_all_yes == 368
    assert plan.lower_bound >= 0.99 > best_lower_bound(367)


def test_100_of_100_gives_96_4_percent_and_40_can_never_show_99():
    assert best_lower_bound(100) == pytest.approx(0.9638, abs=1e-4)
    assert best_lower_bound(40) < 0.92
    plan = plan_sample_size(expected=1.0, population=40)
    assert not plan.possible and "impossible" in plan.note


def test_exact_where_the_normal_approximation_fails():
    plan = plan_sample_size(expected=0.995)
    normal = 1.959964**2 * 0.995 * 0.005 / 0.005**2  # Wald: about 765
    assert plan.n > 1.9 * normal  # the exact answer is about twice as many
    assert plan.lower_bound >= 0.99


def test_design_effect_scales_the_plan():
    assert plan_sample_size(expected=1.0, deff=2.0).n == pytest.approx(2 * 368, abs=2)
    assert plan_sample_size(expected=0.995, deff=1.5).n > plan_sample_size(expected=0.995).n


def test_expected_at_or_below_target_is_impossible():
    for expected in (0.99, 0.95):
        plan = plan_sample_size(expected=expected)
        assert plan.n is None and not plan.possible


def test_other_levels_and_methods():
    assert plan_sample_size(expected=1.0, level=0.9).n == 299  # 0.05**(1/n) >= 0.99
    assert plan_sample_size(expected=0.995, method="wilson").n > 0
    with pytest.raises(ValueError):
        plan_sample_size(expected=1.2)


def test_power_says_what_the_plan_means():
    """1,518 completes at 99.5% is a coin toss (issue 10, 6): the plan says so and gives
    the n for an 80% chance of concluding 达标."""
    from scipy import stats

    from analysis.power import verdict_power

    plan = plan_sample_size(expected=0.995)
    assert plan.n == 1518 and plan.power_at_n == pytest.approx(0.511, abs=0.002)
    assert plan.n_power > plan.n and plan.power == 0.8
    assert verdict_power(plan.n_power, 0.995) >= 0.8 > verdict_power(plan.n_power - 1, 0.995)
    # exact binomial: x_min yes of n needed, P(X ≥ x_min)
    n = plan.n_power
    x = next(k for k in range(n - 60, n + 1) if stats.beta.ppf(0.025, k, n - k + 1) >= 0.99)
    assert verdict_power(n, 0.995) == pytest.approx(stats.binom.sf(x - 1, n, 0.995))
    # statsmodels' normal approximation is shown too, and is too optimistic here
    assert plan.n_power_normal < plan.n_power
    assert "51%" in plan.note and "80%" in plan.note


def test_power_of_all_yes_and_design_effect():
    assert plan_sample_size(expected=1.0).n_power == 368  # certain once possible
    assert plan_sample_size(expected=0.995, deff=2.0).n_power == pytest.approx(
        2 * plan_sample_size(expected=0.995).n_power, abs=2
    )
    assert plan_sample_size(expected=0.99).n_power is None
