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
