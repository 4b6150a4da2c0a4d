"""Finite populations: a community of N households, n of them heard.

Two facts hold whatever the design: with ``yes`` of the n answering yes, the rate among
all N households is at least ``yes/N`` (every household not heard answers no) and at most
``(yes + N − n)/N`` (every one answers yes). With N = 64 one "no" makes 未达标 certain:
63/64 = 98.4% < 99%.

For an equal-probability sample of households (simple random sampling without
replacement; or every household approached, those who answered being a random subset),
the exact interval for K, the yes-households among N, is hypergeometric:

    K_low  = min { K : P(X ≥ yes | N, K, n) > α/2 },
    K_high = max { K : P(X ≤ yes | N, K, n) > α/2 },

and the rate interval is [K_low/N, K_high/N] (Buonaccorsi 1987; Wright 1991). When all N
were heard it is the single point yes/N.
"""

from __future__ import annotations

import numpy as np


def unheard_bounds(yes, n, population) -> tuple[np.ndarray, np.ndarray]:
    """The rate if every household not heard answered no, and if every one answered yes."""
    yes, n, big_n = (np.asarray(v, dtype=float) for v in (yes, n, population))
    return yes / big_n, (yes + big_n - n) / big_n


def hypergeometric_interval(yes, n, population, *, level: float = 0.95):
    """Exact interval for the population rate K/N from ``yes`` of ``n`` drawn without
    replacement from N (vectorised; integers expected).

    Parameters
    ----------
    yes, n, population : array_like
        Yes answers, households heard, households in the population (n ≤ N).
    level : float
        Confidence level.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds of the rate.
    """
    # Imported here: scipy.stats costs 0.5 s of survey-estimate's start-up, and only the
    # exact (equal-weight, known-population) case needs it.
    from scipy import stats

    x, n, big_n = (np.asarray(v, dtype=np.int64) for v in (yes, n, population))
    half = (1.0 - level) / 2
    lo_k = x.copy()  # the least K the sample allows
    hi_k = x + big_n - n  # the most
    # K_low: least K with P(X >= x) > half; P(X >= x | K) grows with K.
    a, b = lo_k.copy(), hi_k.copy()
    ok_a = stats.hypergeom.sf(x - 1, big_n, a, n) > half  # at K = hi_k it is 1
    for _ in range(64):
        live = ~ok_a & (b - a > 1)
        if not live.any():
            break
        mid = (a + b) // 2
        ok = stats.hypergeom.sf(x - 1, big_n, mid, n) > half
        b = np.where(live & ok, mid, b)
        a = np.where(live & ~ok, mid, a)
    k_low = np.where(ok_a, lo_k, b)
    # K_high: most K with P(X <= x) > half; P(X <= x | K) falls with K.
    a, b = lo_k.copy(), hi_k.copy()
    ok_b = stats.hypergeom.cdf(x, big_n, b, n) > half
    for _ in range(64):
        live = ~ok_b & (b - a > 1)
        if not live.any():
            break
        mid = (a + b) // 2
        ok = stats.hypergeom.cdf(x, big_n, mid, n) > half
        a = np.where(live & ok, mid, a)
        b = np.where(live & ~ok, mid, b)
    k_high = np.where(ok_b, hi_k, a)
    return k_low / big_n, k_high / big_n
