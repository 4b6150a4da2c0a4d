"""Power of the verdict: the chance that a wave concludes 达标 when the true rate is p.

``plan_sample_size`` used to answer only "how many completes before an estimate of
exactly p can show the target?" — 1,518 at p = 99.5% — which is a coin toss: half the
waves come out below p and stay 待定. This module answers the planner's real question:
how many completes give a chosen probability (default 80%) of concluding 达标.

Exact for simple random sampling: with m completes, X ~ Binomial(m, p) answer yes, and the
verdict (Korn–Graubard, which is Clopper–Pearson on m when df = m − 1) is 达标 iff
X ≥ x_min(m), the least x whose lower bound Beta⁻¹(α/2; x, m − x + 1) reaches T. So

    power(m) = P(X ≥ x_min(m)) = binom.sf(x_min(m) − 1, m, p).

For a design effect d > 1 the same calculation runs on the effective sample size
m = ⌊n / d⌋ (an approximation: the binomial on n_eff). Power is not monotone in n (a
saw-tooth, as x_min steps up), so the answer is the least n whose power reaches the goal.
(Exact least n up to spans of 20,000 candidates; beyond that the first crossing on a grid,
refined to the integer.) For comparison, statsmodels' normal-approximation power (Cohen's arcsine effect size,
one-sided at α/2, ``NormalIndPower`` with ``ratio=0``: one sample) is given too; near 99%
it is far too optimistic.
"""

from __future__ import annotations

import numpy as np
from scipy import special

#: Beyond this many completes: in practice never.
_LIMIT = 10_000_000
#: Every integer is tried up to this span; beyond it a grid of this many points first
#: (power is a saw-tooth of small amplitude: a tooth between grid points is missed only
#: if it crosses the goal before the grid does).
_SCAN = 20_000


def verdict_power(
    n: int | np.ndarray,
    expected: float,
    *,
    target: float = 0.99,
    deff: float = 1.0,
    level: float = 0.95,
) -> np.ndarray:
    """Probability of concluding ``met`` with ``n`` completes when the true rate is
    ``expected`` (exact binomial on ⌊n / deff⌋). Vectorised over ``n``."""
    m = np.maximum(np.floor(np.asarray(n, dtype=float) / deff), 1.0)
    from scipy import stats  # not at import: survey-estimate's start-up (0.5 s) skips it

    x_min = _least_yes(m, target, 1.0 - level)
    power = stats.binom.sf(x_min - 1, m, expected)
    return np.where(x_min > m, 0.0, power)


def n_for_power(
    expected: float,
    *,
    power: float = 0.8,
    target: float = 0.99,
    deff: float = 1.0,
    level: float = 0.95,
    start: int = 1,
) -> int | None:
    """Least n ≥ ``start`` with ``verdict_power(n) >= power`` (None beyond 10⁷)."""
    if expected <= target:
        return None
    lo = max(int(start), 1)
    hi = max(lo * 2, 64)

    def first(candidates):
        chance = verdict_power(candidates, expected, target=target, deff=deff, level=level)
        ok = np.flatnonzero(chance >= power)
        return int(candidates[ok[0]]) if len(ok) else None

    while lo <= _LIMIT:
        top = min(hi, _LIMIT)
        if top - lo <= _SCAN:
            found = first(np.arange(lo, top + 1))
        else:  # a grid of _SCAN points, then every integer before the first one that passes
            grid = np.unique(np.linspace(lo, top, _SCAN).astype(np.int64))
            coarse = first(grid)
            found = None
            if coarse is not None:
                before = grid[max(np.searchsorted(grid, coarse) - 1, 0)]
                found = first(np.arange(before, coarse + 1))
        if found is not None:
            return found
        lo, hi = hi + 1, hi * 2
    return None


def normal_power_n(
    expected: float,
    *,
    power: float = 0.8,
    target: float = 0.99,
    level: float = 0.95,
    deff: float = 1.0,
) -> int | None:
    """statsmodels' normal approximation (arcsine effect size, one sample, one-sided α/2)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    if expected <= target:
        return None
    effect = proportion_effectsize(expected, target)
    n = NormalIndPower().solve_power(
        effect_size=effect, alpha=(1 - level) / 2, power=power, ratio=0, alternative="larger"
    )
    return int(np.ceil(float(n) * deff))


def _least_yes(m: np.ndarray, target: float, alpha: float) -> np.ndarray:
    """x_min(m): the least x whose Clopper–Pearson lower bound reaches ``target``
    (m + 1 when even x = m does not)."""
    lo = np.zeros_like(m)  # bound(0) = 0 < target
    hi = m + 1.0
    for _ in range(64):
        live = hi - lo > 1
        if not live.any():
            break
        mid = np.floor((lo + hi) / 2)
        with np.errstate(invalid="ignore"):
            low = special.betaincinv(np.maximum(mid, 1e-300), m - mid + 1, alpha / 2)
        ok = live & (low >= target)
        hi = np.where(ok, mid, hi)
        lo = np.where(live & ~ok, mid, lo)
    return hi
