"""Sample sizes against a target rate: how many completed interviews settle a verdict.

``plan_sample_size`` answers "how many completes per community do we need to be able to
conclude 达标 (met)?" and ``required_total_n`` (used for the verdict's ``needed_n``) answers
"how many more would settle this one?". Both use the very interval the verdict uses, exact
(beta / Clopper–Pearson based) for the default method: near 99% the normal approximation
is badly wrong.

Facts these functions reproduce (95% level, target 0.99):

* 100 of 100 yes gives a lower bound of (0.025)^(1/100) ≈ 0.9638;
* 368 of 368 yes is the least that reaches 0.99 (``plan_sample_size(expected=1.0)``);
* 40 interviews can never show 99%: the best possible lower bound is 0.025^(1/40) ≈ 0.912.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.intervals import METHODS, clopper_pearson_extreme
from analysis.intervals import proportion_interval as _interval
from analysis.power import n_for_power, normal_power_n, verdict_power

#: Beyond this many interviews we say "can never be settled".
MAX_N = 1_000_000_000
#: Bound on the steps of each phase of the integer search (2**64 > any n).
_MAX_STEPS = 64


@dataclass(frozen=True)
class SampleSizePlan:
    """How many completed interviews one community needs.

    Attributes
    ----------
    n : int or None
        Completes needed so that, if the rate comes out at ``expected`` with design effect
        ``deff``, the lower confidence bound reaches ``target``. None when impossible.
    possible : bool
        False when no number of interviews can do it (``expected <= target``) or, when
        ``population`` was given, when ``n`` exceeds it.
    n_all_yes : int
        The least number of interviews that could ever show ``target``: even if everyone
        answers yes, fewer cannot (368 at target 0.99, level 0.95, deff 1).
    lower_bound : float or None
        The lower bound reached at ``n``.
    note : str
        Plain-language explanation.
    power : float
        The chance of concluding 达标 asked for (default 0.8).
    n_power : int or None
        Completes that give that chance of concluding 达标 when the true rate is
        ``expected`` (exact binomial on n/deff; :mod:`analysis.power`). None when
        impossible. Say both: ``n`` is only the least n at which 达标 is possible.
    power_at_n : float or None
        The chance of concluding 达标 with ``n`` completes (about 51% at 1,518 for 99.5%).
    n_power_normal : int or None
        statsmodels' normal-approximation answer for comparison (too optimistic near 99%).
    """

    n: int | None
    possible: bool
    n_all_yes: int
    lower_bound: float | None
    note: str
    target: float
    expected: float
    deff: float
    level: float
    method: str
    power: float = 0.8
    n_power: int | None = None
    power_at_n: float | None = None
    n_power_normal: int | None = None


def best_lower_bound(n: int, *, level: float = 0.95) -> float:
    """The highest lower bound ``n`` interviews can give: all yes, ``(alpha/2)**(1/n)``."""
    low, _ = clopper_pearson_extreme(np.array([float(n)]), 1.0 - level)
    return float(low[0])


def plan_sample_size(
    target: float = 0.99,
    expected: float = 1.0,
    deff: float = 1.0,
    level: float = 0.95,
    method: str = "korn-graubard",
    *,
    population: int | None = None,
    power: float = 0.8,
) -> SampleSizePlan:
    """Completes per community needed to be able to conclude ``met``, and for a chosen
    chance of concluding it.

    Parameters
    ----------
    target : float
        Target rate T (e.g. 0.99 for 99%).
    expected : float
        The rate you expect to observe.
    deff : float
        Expected design effect (1 for simple random sampling; clustered designs are > 1).
    level : float
        Confidence level.
    method : str
        Interval method, as in :func:`analysis.estimate`.
    population : int, optional
        Respondents available in the community; a plan above it is flagged impossible.
    power : float
        The chance of concluding 达标 to plan for when the true rate is ``expected``.

    Returns
    -------
    SampleSizePlan

    Notes
    -----
    The design's degrees of freedom are taken as ``n - 1``. The interval at ``n`` is the
    one :func:`analysis.estimate` would report for an estimate of exactly ``expected``
    with variance ``deff * expected * (1 - expected) / n``; for ``expected = 1`` this is
    Clopper–Pearson on ``n / deff``: ``(alpha/2)**(deff/n) >= target``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    if not (0 < target < 1 and 0 <= expected <= 1 and deff > 0 and 0 < level < 1):
        raise ValueError("need 0 < target < 1, 0 <= expected <= 1, deff > 0, 0 < level < 1")
    n_all_yes = int(
        required_total_n(np.array([1.0]), target, np.array([deff]), None, level, method, 1)[0]
    )
    common = dict(target=target, expected=expected, deff=deff, level=level, method=method)
    if expected <= target:
        note = (
            f"an expected rate of {expected:.4g} is not above the target {target:.4g}: "
            "no number of interviews can show the target is met"
        )
        return SampleSizePlan(None, False, n_all_yes, None, note, **common)
    n = required_total_n(np.array([expected]), target, np.array([deff]), None, level, method, 1)
    if not np.isfinite(n[0]):
        note = f"more than {MAX_N} interviews would be needed: in practice never"
        return SampleSizePlan(None, False, n_all_yes, None, note, **common)
    n_int = int(n[0])
    low = float(bounds_at(np.array([expected]), n, np.array([deff]), None, level, method)[0][0])
    chance = dict(target=target, deff=deff, level=level)
    at_n = float(verdict_power(n_int, expected, **chance))
    n_power = n_for_power(expected, power=power, start=n_int, **chance)
    normal = normal_power_n(expected, power=power, target=target, level=level, deff=deff)
    possible = population is None or n_int <= population
    note = (
        f"{n_int} completes make 达标 possible if the rate comes out at {expected:.4g}, but "
        f"give only a {at_n:.0%} chance of concluding it; {n_power} give {power:.0%}. "
        f"Even if all answer yes, fewer than {n_all_yes} cannot show {target:.4g}"
    )
    if not possible:
        note = f"needs {n_int} completes but only {population} respondents exist: impossible"
    extra = dict(power=power, n_power=n_power, power_at_n=at_n, n_power_normal=normal)
    return SampleSizePlan(n_int, possible, n_all_yes, low, note, **common, **extra)


def bounds_at(p, n_total, deff, df_per_n, level, method, *, population=None, df_fixed=None):
    """The interval (low, high) at ``n_total`` interviews if p̂ and deff stay as they are.

    n_eff = n_total / deff, V = p̂(1 − p̂)/n_eff, df = df_per_n · n_total (n_total − 1 when
    ``df_per_n`` is None); p̂ of 0 or 1 gives Clopper–Pearson on n_eff with the df factor.
    With ``population`` N (NaN: unknown) V is multiplied by 1 − n_total/N and the interval
    cut to [p̂·n_total/N, (p̂·n_total + N − n_total)/N] (what the unheard households
    allow); at n_total ≥ N the rate is known: [p̂, p̂]. ``df_fixed`` (NaN: not fixed)
    keeps the df as it is: more interviews in the same PSUs (a community's buildings).
    """
    p = np.asarray(p, dtype=float)
    n_total = np.asarray(n_total, dtype=float)
    deff = np.asarray(deff, dtype=float)
    shrink = np.ones_like(p)
    known = np.zeros(p.shape, dtype=bool)
    if population is not None:
        pop = np.asarray(population, dtype=float)
        known = np.isfinite(pop) & (pop > 0)
        shrink = np.where(known, 1.0 - n_total / np.where(known, pop, 1.0), 1.0)
    census = known & (shrink <= 0)
    shrink = np.where(census, 1.0, shrink)
    n_eff = n_total / (deff * shrink)
    df = n_total - 1 if df_per_n is None else np.maximum(df_per_n * n_total, 1.0)
    if df_fixed is not None:
        fixed = np.asarray(df_fixed, dtype=float)
        df = np.where(np.isfinite(fixed), np.maximum(fixed, 1.0), df)
    ci = _interval(
        p, p * (1 - p) / n_eff, n_total, df, method=method, level=level, deff_fallback=deff * shrink
    )
    low, high = ci.low, ci.high
    if population is not None:
        pop = np.where(known, pop, 1.0)
        yes = p * n_total
        low = np.where(known, np.maximum(low, yes / pop), low)
        high = np.where(known, np.minimum(high, (yes + pop - n_total) / pop), high)
        low = np.where(census, p, low)
        high = np.where(census, p, high)
    return low, high


def required_total_n(
    p: np.ndarray,
    target: float,
    deff: np.ndarray,
    df_per_n: np.ndarray | None,
    level: float,
    method: str,
    n_start: np.ndarray | int,
    *,
    population: np.ndarray | None = None,
    df_fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Least total n ≥ ``n_start`` at which the interval at p̂ excludes ``target``.

    Parameters
    ----------
    p : numpy.ndarray
        Current estimates; above the target we need ``low >= target``, below it
        ``high < target``.
    target : float
        Target rate T.
    deff : numpy.ndarray
        Design effects assumed to hold as n grows.
    df_per_n : numpy.ndarray or None
        Degrees of freedom per interview (df grows in proportion to n); None for n - 1.
    level, method
        As for the interval.
    n_start : int or numpy.ndarray
        Search from here (the current number of interviews).
    population : numpy.ndarray, optional
        Households in each domain (NaN: unknown). The search then stops at the population:
        the interval shrinks by the finite population correction 1 − n/N and is cut to
        what the unheard households allow (see :func:`bounds_at`).
    df_fixed : numpy.ndarray, optional
        Degrees of freedom that stay as they are (NaN: grow with ``df_per_n``).

    Returns
    -------
    numpy.ndarray
        Float array of totals; ``inf`` where it can never be settled (p̂ = T, or more than
        ``MAX_N`` interviews, or more than the population).

    Notes
    -----
    The search runs on integers only — an exponential search for a settled total, then
    bisection between the last unsettled and the first settled integer — and stops after
    ``_MAX_STEPS`` steps of each, so it always returns (a bisection on non-integer bounds
    once looped forever).
    """
    p = np.asarray(p, dtype=float)
    deff = np.broadcast_to(np.asarray(deff, dtype=float), p.shape)
    start = np.broadcast_to(np.asarray(n_start, dtype=float), p.shape)
    start = np.maximum(np.ceil(np.nan_to_num(start, nan=1.0)), 1.0)
    cap = np.full(p.shape, float(MAX_N))
    if population is not None:
        pop = np.broadcast_to(np.asarray(population, dtype=float), p.shape)
        cap = np.where(np.isfinite(pop) & (pop >= 1), np.minimum(np.floor(pop), cap), cap)
    per_n = None if df_per_n is None else np.broadcast_to(np.asarray(df_per_n, float), p.shape)
    pop_arr = (
        None if population is None else np.broadcast_to(np.asarray(population, float), p.shape)
    )
    fixed = None if df_fixed is None else np.broadcast_to(np.asarray(df_fixed, float), p.shape)
    above = p > target
    # p̂ on the target — or a rounding error away from it — never settles
    possible = (np.abs(p - target) > 1e-12) & np.isfinite(deff) & (deff > 0)

    def settled(n_total, idx):
        low, high = bounds_at(
            p[idx],
            n_total,
            deff[idx],
            None if per_n is None else per_n[idx],
            level,
            method,
            population=None if pop_arr is None else pop_arr[idx],
            df_fixed=None if fixed is None else fixed[idx],
        )
        return np.where(above[idx], low >= target, high < target)

    result = np.full(p.shape, np.inf)
    idx = np.flatnonzero(possible & (start <= cap))
    if len(idx):
        ok = settled(start[idx], idx)
        result[idx[ok]] = start[idx[ok]]
        idx = idx[~ok]
    if len(idx):
        # Exponential search on integers: lo is never settled, hi (once found) is.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            guess = deff[idx] * 6.25 * p[idx] * (1 - p[idx]) / (p[idx] - target) ** 2
        guess = np.where(np.isfinite(guess), np.floor(guess / 2), 0.0)
        lo = start[idx]
        hi = np.minimum(np.maximum(lo + 1, guess), cap[idx])
        found = np.zeros(len(idx), dtype=bool)
        for _ in range(_MAX_STEPS):
            live = ~found & (hi > lo)
            if not live.any():
                break
            ok = settled(hi[live], idx[live])
            found[np.flatnonzero(live)[ok]] = True
            grow = np.flatnonzero(live)[~ok]
            lo[grow] = hi[grow]
            hi[grow] = np.minimum(hi[grow] * 2, cap[idx][grow])
        idx, lo, hi = idx[found], lo[found], hi[found]
        for _ in range(_MAX_STEPS):
            live = hi - lo > 1
            if not live.any():
                break
            mid = np.floor((lo[live] + hi[live]) / 2)
            ok = settled(mid, idx[live])
            where = np.flatnonzero(live)
            hi[where[ok]] = mid[ok]
            lo[where[~ok]] = mid[~ok]
        result[idx] = hi
    return result
