"""Interval methods against statsmodels' proportion_confint and the textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis import METHODS, proportion_interval

COUNTS = [(3, 10), (37, 40), (96, 100), (395, 400), (1, 30)]


@pytest.mark.parametrize(("x", "n"), COUNTS)
def test_wilson_on_simple_random_sample_equals_statsmodels(x, n):
    p = x / n
    ci = proportion_interval([p], [p * (1 - p) / n], [n], [np.inf], method="wilson")
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert (ci.low[0], ci.high[0]) == pytest.approx((low, high), rel=1e-12)


@pytest.mark.parametrize("method", ["beta", "korn-graubard"])
@pytest.mark.parametrize(("x", "n"), COUNTS)
def test_beta_with_n_eff_n_and_df_n_minus_1_is_clopper_pearson(method, x, n):
    p = x / n
    ci = proportion_interval([p], [p * (1 - p) / n], [n], [n - 1], method=method, level=0.9)
    low, high = proportion_confint(x, n, alpha=0.1, method="beta")
    assert (ci.low[0], ci.high[0]) == pytest.approx((low, high), rel=1e-10)


def test_logit_and_mean_formulas():
    p, se, df = 0.9, 0.03, 12
    from scipy import stats

    t = stats.t.ppf(0.975, df)
    logit = proportion_interval([p], [se**2], [200], [df], method="logit")
    half = t * se / (p * (1 - p))
    expected = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + np.array([-half, half]))))
    assert (logit.low[0], logit.high[0]) == pytest.approx(tuple(expected), rel=1e-12)
    mean = proportion_interval([0.98], [0.02**2], [50], [df], method="mean")
    assert mean.low[0] == pytest.approx(0.98 - t * 0.02) and mean.high[0] == 1.0  # clipped


@pytest.mark.parametrize("method", METHODS)
def test_degenerate_cases_use_clopper_pearson_on_n(method):
    """df = n − 1 (a simple random sample): Clopper–Pearson on n exactly."""
    ci = proportion_interval([1.0, 0.0], [0.0, 1e-40], [40, 40], [39, 39], method=method)
    edge = 0.025 ** (1 / 40)
    assert ci.low == pytest.approx([edge, 0.0]) and ci.high == pytest.approx([1.0, 1 - edge])
    assert list(ci.n_eff) == [40, 40] and ci.degenerate.all()


@pytest.mark.parametrize("method", METHODS)
def test_all_yes_keeps_the_design_df(method):
    """370 of 370 yes in 10 buildings (df 9): 0.98689, not Clopper–Pearson's 0.99008."""
    ci = proportion_interval([1.0], [0.0], [370], [9], method=method)
    assert ci.low[0] == pytest.approx(0.98689, abs=5e-6)
    assert proportion_interval([1.0], [0.0], [370], [369], method=method).low[0] == (
        pytest.approx(0.99008, abs=5e-6)
    )
    # and a design effect pooled from the wave widens it further
    wider = proportion_interval([1.0], [0.0], [370], [9], method=method, deff_fallback=2.0)
    assert wider.low[0] < ci.low[0] and wider.n_eff[0] == 185


@pytest.mark.parametrize("method", METHODS)
def test_rounding_error_variance_is_zero_and_never_a_zero_width_interval(method):
    """SE 9.3e-17 (a domain inside one PSU, unequal weights): no zero width, no NaN."""
    p = 0.96
    ci = proportion_interval([p], [(9.3e-17) ** 2], [25], [0], method=method)
    assert ci.zero_variance[0] and ci.n_eff[0] == 25
    assert np.isfinite([ci.low[0], ci.high[0]]).all()
    assert ci.low[0] < p < ci.high[0] and ci.high[0] - ci.low[0] > 0.05


def test_korn_graubard_caps_n_eff_at_n():
    # deff 0.5: n_eff = 2n. beta uses it; korn-graubard caps it at n
    p, n = 0.97, 300
    var = 0.5 * p * (1 - p) / n
    beta = proportion_interval([p], [var], [n], [n - 1], method="beta")
    kg = proportion_interval([p], [var], [n], [n - 1], method="korn-graubard")
    cp = proportion_interval([p], [p * (1 - p) / n], [n], [n - 1], method="beta")
    assert beta.n_eff[0] == pytest.approx(2 * n)
    assert kg.low[0] == pytest.approx(cp.low[0]) and kg.low[0] < beta.low[0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        proportion_interval([0.5], [0.01], [10], [9], method="wald")
    with pytest.raises(ValueError, match="level"):
        proportion_interval([0.5], [0.01], [10], [9], level=95)


def test_intervals_equal_the_closed_forms():
    """Korn–Graubard/beta and Wilson equal the closed forms (betaincinv; Wilson with t)
    to 1e-12 on a grid."""
    from scipy import special, stats

    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 0.9999, 400)
    n = rng.integers(5, 5000, 400).astype(float)
    deff = rng.uniform(0.3, 8, 400)
    df = np.minimum(rng.integers(1, 200, 400), n - 1)
    var = deff * p * (1 - p) / n
    for method in ("beta", "korn-graubard"):
        ci = proportion_interval(p, var, n, df, method=method)
        n_eff = p * (1 - p) / var
        n_use = np.minimum(n_eff, n) if method == "korn-graubard" else n_eff
        ratio = stats.t.ppf(0.025, n - 1) / stats.t.ppf(0.025, df)
        n_star = n_use * ratio**2
        x = n_star * p
        low = special.betaincinv(x, n_star - x + 1, 0.025)
        high = special.betaincinv(x + 1, n_star - x, 0.975)
        assert np.max(np.abs(ci.low - low)) < 1e-12 and np.max(np.abs(ci.high - high)) < 1e-12
    ci = proportion_interval(p, var, n, df, method="wilson")
    n_eff = p * (1 - p) / var
    t = stats.t.ppf(0.975, df)
    t2n = t * t / n_eff
    centre = (p + t2n / 2) / (1 + t2n)
    half = t / (1 + t2n) * np.sqrt(p * (1 - p) / n_eff + t2n / (4 * n_eff))
    assert np.max(np.abs(ci.low - (centre - half))) < 1e-12
    assert np.max(np.abs(ci.high - (centre + half))) < 1e-12


def test_scipy_special_intervals_equal_statsmodels_on_a_grid():
    """clopper_pearson / wilson (scipy.special) equal statsmodels' proportion_confint to
    1e-12 — whole and fractional counts, the 99% edge, all yes and all no, 90–99.9%."""
    from analysis.intervals import clopper_pearson, wilson

    rng = np.random.default_rng(16)
    nobs = np.concatenate([rng.uniform(0.7, 6000, 3000), np.arange(1.0, 1200.0)])
    q = np.concatenate([rng.uniform(0, 1, 3000), rng.uniform(0.97, 1.0, 1199)])
    q[::40], q[1::40] = 1.0, 0.0  # all yes, all no
    q[2::40] = 0.99  # the target itself
    whole = np.arange(1.0, 1200.0)
    counts = np.concatenate([nobs * q, np.round(0.99 * whole), whole, np.zeros(1199)])
    nobs = np.concatenate([nobs, whole, whole, whole])
    for alpha in (0.001, 0.01, 0.05, 0.1):
        for ours, name in ((clopper_pearson, "beta"), (wilson, "wilson")):
            low, high = ours(counts, nobs, alpha)
            sm_low, sm_high = proportion_confint(counts, nobs, alpha=alpha, method=name)
            assert np.isfinite(low).all() and np.isfinite(high).all()
            assert np.max(np.abs(low - sm_low)) < 1e-12, (name, alpha)
            assert np.max(np.abs(high - sm_high)) < 1e-12, (name, alpha)
    # the edges as statsmodels has them: 0 for none yes, 1 for all yes
    low, high = clopper_pearson([0.0, 40.0], [40.0, 40.0], 0.05)
    assert low[0] == 0.0 and high[1] == 1.0
    assert high[0] == pytest.approx(1 - 0.025 ** (1 / 40), rel=1e-12)
    assert low[1] == pytest.approx(0.025 ** (1 / 40), rel=1e-12)


@pytest.mark.parametrize("method", ["beta", "korn-graubard", "wilson"])
def test_proportion_interval_equals_statsmodels_on_its_effective_n(method):
    """The design interval is proportion_confint on n* (the df-adjusted effective n)."""
    from analysis.intervals import df_ratio, t_quantile

    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(0.9, 0.9999, 300), [0.99, 0.5]])
    n = np.concatenate([rng.integers(5, 5000, 300), [100, 7]]).astype(float)
    var = rng.uniform(0.3, 8, len(p)) * p * (1 - p) / n
    df = np.minimum(rng.integers(1, 200, len(p)), n - 1)
    for level in (0.9, 0.95, 0.98):  # (at 99% and df 1, Φ(−t) underflows: NaN -> [0, 1])
        ci = proportion_interval(p, var, n, df, method=method, level=level)
        n_eff = p * (1 - p) / var
        alpha = 1 - level
        if method == "wilson":
            from scipy import special

            z_alpha = 2 * special.ndtr(-t_quantile(df, 1 - alpha / 2))  # z = t_df
            low, high = proportion_confint(p * n_eff, n_eff, alpha=z_alpha, method="wilson")
        else:
            n_use = np.minimum(n_eff, n) if method == "korn-graubard" else n_eff
            n_star = n_use * df_ratio(n, df, alpha) ** 2
            low, high = proportion_confint(n_star * p, n_star, alpha=alpha, method="beta")
        assert np.max(np.abs(ci.low - low)) < 1e-12 and np.max(np.abs(ci.high - high)) < 1e-12


def test_estimation_imports_neither_statsmodels_nor_scipy_stats():
    """survey-estimate's start-up: statsmodels' proportion module pulls in scipy.stats
    (0.7–0.9 s); the estimation path needs only scipy.special."""
    import subprocess
    import sys

    code = (
        "import sys, analysis.estimation, analysis.cli; "
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] for m in sys.modules "
        "if m.startswith(('statsmodels.', 'scipy.stats'))}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
