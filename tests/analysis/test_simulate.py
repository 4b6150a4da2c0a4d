"""The wave simulator: against the exact binomial calculation for SRS (ρ = 0), against
analysis.estimate for its estimators, and its search for the smallest design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import AnalysisInputError
from analysis.simulate import (
    WaveDesign,
    _building_verdicts,
    _read_frame,
    exact_srs,
    simulate_wave,
    smallest_design,
)

REPLICATES = 4000


def one_community(households: int, buildings: int = 1) -> pd.DataFrame:
    sizes = np.full(buildings, households // buildings)
    sizes[0] += households - sizes.sum()
    return pd.DataFrame(
        {"community": "A", "building": [f"b{i}" for i in range(buildings)], "households": sizes}
    )


@pytest.mark.parametrize(
    "households, n, expected, response_rate",
    [
        (1_000_000, 400, 0.995, 0.9),  # practically infinite: Clopper–Pearson-like verdicts
        (1_000_000, 400, 0.97, 1.0),
        (300, 200, 0.995, 0.85),  # small community: fpc and the finite bounds matter
        (120, 120, 0.99, 0.95),
    ],
)
def test_srs_matches_exact_binomial_within_monte_carlo_error(
    households, n, expected, response_rate
):
    frame = one_community(households, buildings=5)
    plan = simulate_wave(
        frame,
        expected=expected,
        design=WaveDesign("srs", n=n),
        response_rate=response_rate,
        replicates=REPLICATES,
        seed=7,
    ).communities[0]
    exact = exact_srs(n, households, expected, response_rate=response_rate)
    assert sum(exact.values()) == pytest.approx(1.0)
    for verdict, simulated in [
        ("met", plan.p_met),
        ("not_met", plan.p_not_met),
        ("undetermined", plan.p_undetermined),
    ]:
        p = exact[verdict]
        mc_se = np.sqrt(max(p * (1 - p), 1e-4) / REPLICATES)
        assert abs(simulated - p) <= 4 * mc_se, (verdict, simulated, p)
    assert plan.completes == pytest.approx(n * response_rate, rel=0.02)


def test_census_with_everyone_heard_is_always_settled():
    plan = simulate_wave(
        one_community(64, 4),
        expected=0.99,
        design=WaveDesign("census"),
        response_rate=1.0,
        replicates=500,
    ).communities[0]
    assert plan.p_undetermined == 0 and plan.width == 0
    assert plan.p_not_met > 0.4  # 64 households at 99%: one "no" already fails


def test_two_stage_estimator_equals_analysis_estimate():
    frame = pd.DataFrame(
        {"community": "A", "building": ["b0", "b1", "b2", "b3"], "households": [40, 25, 60, 30]}
    )
    f = _read_frame(frame, 0.98)
    k = np.array([[10, 8, 0, 12]])
    y = np.array([[10, 7, 0, 12]])
    _, width, n = _building_verdicts(f, y, k, "beta", 0.95, 0.99)
    rows = []
    for b, (kb, yb) in enumerate(zip(k[0], y[0], strict=True)):
        for i in range(kb):
            rows.append({"building": f"b{b}", "w": f.households[b] / kb, "y": float(i < yb)})
    est = analysis.estimate(
        pd.DataFrame(rows), indicators=["y"], weight="w", cluster="building", method="beta"
    ).rows[0]
    assert n[0, 0] == 30
    assert width[0, 0] == pytest.approx(est.ci_high - est.ci_low, rel=1e-9)


def test_same_seed_same_result_and_progress_reported():
    seen = []
    common = dict(
        expected={"A": 0.995},
        design=WaveDesign("two-stage", buildings=3, per_building=10),
        icc=0.1,
        replicates=600,
        seed=3,
    )
    first = simulate_wave(one_community(400, 8), progress=seen.append, **common)
    second = simulate_wave(one_community(400, 8), **common)
    assert first == second
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3


def test_correlation_within_buildings_makes_verdicts_less_certain():
    common = dict(
        expected=0.95,
        design=WaveDesign("two-stage", buildings=4, per_building=25),
        replicates=1000,
        seed=1,
    )
    frame = one_community(2000, 40)
    flat = simulate_wave(frame, icc=0.0, **common).communities[0]
    clustered = simulate_wave(frame, icc=0.2, **common).communities[0]
    assert clustered.width > flat.width


def test_smallest_srs_reaches_the_goal():
    frame = pd.concat([one_community(3000, 10), one_community(80, 2).assign(community="B")])
    found = smallest_design(
        frame,
        expected={"A": 0.95, "B": 0.999},
        design=WaveDesign("srs", n=1),
        goal=0.8,
        replicates=1000,
    )
    a, b = found
    assert a.community == "A" and a.sample is not None and a.plan.p_settled >= 0.8
    assert 20 < a.sample < 300
    below = simulate_wave(
        frame,
        expected={"A": 0.95, "B": 0.999},
        design=WaveDesign("srs", n={"A": a.sample - 15, "B": 1}),
        replicates=1000,
    ).communities[0]
    assert below.p_settled < 0.8 + 0.05
    assert b.sample is None  # 80 households at 99.9%: a settled verdict is unlikely


@pytest.mark.parametrize(
    "frame, options, message",
    [
        (pd.DataFrame({"community": ["A"], "households": [3]}), {}, "column 'building'"),
        (
            pd.DataFrame({"community": ["A"], "building": ["b"], "households": [-3]}),
            {},
            "households must be a whole number",
        ),
        (one_community(50), {"expected": 1.5}, "not between 0 and 1"),
        (one_community(50), {"replicates": 10}, "replicates must be at least 100"),
        (one_community(50), {"response_rate": 0}, "response rate"),
    ],
)
def test_bad_input_is_one_clear_error(frame, options, message):
    kwargs = {"expected": 0.99, "design": WaveDesign("census"), **options}
    with pytest.raises(AnalysisInputError, match=message):
        simulate_wave(frame, **kwargs)


def test_design_needs_its_sizes():
    with pytest.raises(AnalysisInputError, match="needs n"):
        WaveDesign("srs")
    with pytest.raises(AnalysisInputError, match="design must be one of"):
        WaveDesign("quota")
