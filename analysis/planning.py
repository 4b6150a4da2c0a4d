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

from analysis.intervals import DEGENERATE_TOL, METHODS, clopper_pearson_extreme
from analysis.intervals import proportion_interval as _interval

#: Beyond this many interviews we say "can never be settled".
MAX_N = 1_000_000_000


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
) -> SampleSizePlan:
    """Completes per community needed to be able to conclude ``met``.

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
    possible = population is None or n_int <= population
    note = (
        f"{n_int} completes; even if all answer yes, fewer than {n_all_yes} cannot show "
        f"{target:.4g}"
    )
    if not possible:
        note = f"needs {n_int} completes but only {population} respondents exist: impossible"
    return SampleSizePlan(n_int, possible, n_all_yes, low, note, **common)


def bounds_at(p, n_total, deff, df_per_n, level, method):
    """The interval (low, high) at ``n_total`` interviews if p̂ and deff stay as they are.

    n_eff = n_total / deff, V = p̂(1 − p̂)/n_eff, df = df_per_n · n_total (n_total − 1 when
    ``df_per_n`` is None); p̂ of 0 or 1 gives Clopper–Pearson on n_eff.
    """
    n_eff = n_total / deff
    df = n_total - 1 if df_per_n is None else np.maximum(df_per_n * n_total, 1.0)
    ci = _interval(p, p * (1 - p) / n_eff, n_total, df, method=method, level=level)
    degenerate = (p >= 1 - DEGENERATE_TOL) | (p <= DEGENERATE_TOL)
    cp_low, cp_high = clopper_pearson_extreme(n_eff, 1 - level)
    low = np.where(degenerate & (p > 0.5), cp_low, np.where(degenerate, 0.0, ci.low))
    high = np.where(degenerate & (p < 0.5), cp_high, np.where(degenerate, 1.0, ci.high))
    return low, high


def required_total_n(
    p: np.ndarray,
    target: float,
    deff: np.ndarray,
    df_per_n: np.ndarray | None,
    level: float,
    method: str,
    n_start: np.ndarray | int,
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

    Returns
    -------
    numpy.ndarray
        Float array of totals; ``inf`` where it can never be settled (p̂ = T, or more than
        ``MAX_N`` interviews).
    """
    p = np.asarray(p, dtype=float)
    deff = np.asarray(deff, dtype=float)
    above = p > target
    never = p == target

    def settled(n_total):
        low, high = bounds_at(p, n_total, deff, df_per_n, level, method)
        return np.where(above, low >= target, high < target)

    start = np.maximum(np.broadcast_to(np.asarray(n_start, dtype=float), p.shape), 1.0)
    # Bracket around the normal-approximation answer (t ≈ 2.5 to be generous), then bisect.
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = deff * 6.25 * p * (1 - p) / (p - target) ** 2
    guess = np.where(np.isfinite(guess), guess, start)
    lo = np.maximum(start, np.floor(guess / 2))
    lo_ok = settled(lo)
    lo = np.where(lo_ok, start, lo)  # the guess overshot: search from the start
    ok = settled(lo)
    hi = np.where(ok, lo, np.minimum(np.maximum(lo * 2, guess), MAX_N))
    while True:
        todo = ~ok & ~never & (hi <= MAX_N)
        if not todo.any():
            break
        ok = np.where(todo, settled(hi), ok)
        grow = todo & ~ok
        lo = np.where(grow, hi, lo)
        hi = np.where(grow, hi * 2, hi)
        if np.all(hi[grow] > MAX_N):
            break
    start_ok = ok & (hi == lo)
    search = ok & (hi - lo > 1)
    while search.any():
        mid = np.floor((lo + hi) / 2)
        mid_ok = settled(mid)
        hi = np.where(search & mid_ok, mid, hi)
        lo = np.where(search & ~mid_ok, mid, lo)
        search = search & (hi - lo > 1)
    result = np.where(ok, np.where(start_ok, lo, hi), np.inf)
    return np.where(never, np.inf, result)
