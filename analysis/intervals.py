"""Confidence intervals for a design-based proportion.

All functions are vectorised over numpy arrays: one element per (indicator, domain).

Methods
-------
``"korn-graubard"`` (default)
    Korn & Graubard (1998) as used by NCHS: the Clopper–Pearson interval on an effective
    sample size ``n* = min(n_eff, n) * (t_{n-1} / t_df)**2``.
``"beta"``
    Identical to R's ``svyciprop(method="beta")``: as above but ``n_eff`` is not capped.
``"logit"``
    ``expit(logit(p) ± t_df * se / (p (1 - p)))`` (R's ``svyciprop(method="logit")``).
``"wilson"``
    Wilson's score interval on ``n_eff`` with ``t_df`` in place of ``z``
    (Brown, Cai & DasGupta 2001).
``"mean"``
    ``p ± t_df * se`` clipped to [0, 1] (R's ``svyciprop(method="mean")``, which does not clip).

Where R fails we do not: when every respondent of a domain answered yes (or every one no) the
variance is 0 or a rounding error and every method returns the exact Clopper–Pearson interval
with ``n_eff = n``: ``[(alpha/2)**(1/n), 1]`` (or ``[0, 1 - (alpha/2)**(1/n)]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

METHODS = ("korn-graubard", "beta", "logit", "wilson", "mean")

#: p̂ this close to 0 or 1 is treated as all-no / all-yes (a rounding error of a sum of weights).
DEGENERATE_TOL = 1e-12


@dataclass(frozen=True)
class Intervals:
    """Vectorised interval result.

    Attributes
    ----------
    low, high : numpy.ndarray
        Bounds.
    n_eff : numpy.ndarray
        Effective sample size ``p(1-p)/V`` (``n`` where p̂ is 0 or 1 or V is 0).
    degenerate : numpy.ndarray of bool
        p̂ is 0 or 1: the exact Clopper–Pearson interval on ``n`` was used.
    zero_variance : numpy.ndarray of bool
        V is 0 although 0 < p̂ < 1: ``n_eff`` was set to ``n``.
    df_nonpositive : numpy.ndarray of bool
        The design's df was ≤ 0: 1 df was used for the t quantiles.
    """

    low: np.ndarray
    high: np.ndarray
    n_eff: np.ndarray
    degenerate: np.ndarray
    zero_variance: np.ndarray
    df_nonpositive: np.ndarray


def t_quantile(df: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of Student's t with ``df`` degrees of freedom (normal for df = inf)."""
    df = np.asarray(df, dtype=float)
    return special.stdtrit(df, np.full_like(df, q))


def proportion_interval(
    p: np.ndarray,
    var: np.ndarray,
    n: np.ndarray,
    df: np.ndarray,
    *,
    method: str = "korn-graubard",
    level: float = 0.95,
) -> Intervals:
    """Confidence interval for design-based proportions.

    Parameters
    ----------
    p : array_like
        Estimated proportions p̂.
    var : array_like
        Design-based variances V̂ of p̂.
    n : array_like
        Respondents (with an answer) in each domain.
    df : array_like
        Design degrees of freedom; values ≤ 0 are flagged and replaced by 1.
    method : {"korn-graubard", "beta", "logit", "wilson", "mean"}
        See the module docstring.
    level : float
        Confidence level, e.g. 0.95.

    Returns
    -------
    Intervals

    Notes
    -----
    The all-yes / all-no rule differs from R on purpose: R returns NaN or [1, 1], which would
    tell a community "certainly above 99%" after 40 interviews.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    p = np.asarray(p, dtype=float)
    var = np.asarray(var, dtype=float)
    n = np.asarray(n, dtype=float)
    df = np.asarray(df, dtype=float)
    alpha = 1.0 - level

    all_yes = p >= 1.0 - DEGENERATE_TOL
    all_no = p <= DEGENERATE_TOL
    degenerate = all_yes | all_no
    df_nonpositive = ~(df > 0)
    df_used = np.where(df_nonpositive, 1.0, df)
    q = np.where(degenerate, 0.5, p)  # keeps the formulas finite; overwritten below
    zero_variance = ~degenerate & ~(var > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(zero_variance | degenerate, n, q * (1 - q) / var)
    var_used = q * (1 - q) / n_eff

    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("korn-graubard", "beta"):
            low, high = _korn_graubard(q, n_eff, n, df_used, alpha, cap=method == "korn-graubard")
        elif method == "logit":
            t = t_quantile(df_used, 1 - alpha / 2)
            half = t * np.sqrt(var_used) / (q * (1 - q))
            logit = np.log(q / (1 - q))
            low, high = special.expit(logit - half), special.expit(logit + half)
        elif method == "wilson":
            low, high = _wilson(q, n_eff, t_quantile(df_used, 1 - alpha / 2))
        else:
            t = t_quantile(df_used, 1 - alpha / 2)
            half = t * np.sqrt(var_used)
            low, high = np.clip(q - half, 0, 1), np.clip(q + half, 0, 1)

    cp_low, cp_high = clopper_pearson_extreme(n, alpha)
    low = np.where(all_yes, cp_low, np.where(all_no, 0.0, low))
    high = np.where(all_yes, 1.0, np.where(all_no, cp_high, high))
    return Intervals(
        low=low,
        high=high,
        n_eff=n_eff,
        degenerate=degenerate,
        zero_variance=zero_variance,
        df_nonpositive=df_nonpositive,
    )


def clopper_pearson_extreme(n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact bounds when all n answered yes (lower) or all answered no (upper).

    Returns ``((alpha/2)**(1/n), 1 - (alpha/2)**(1/n))``.
    """
    with np.errstate(divide="ignore"):
        low = np.power(alpha / 2, 1.0 / np.asarray(n, dtype=float))
    return low, 1.0 - low


def _korn_graubard(q, n_eff, n, df, alpha, *, cap):
    n_use = np.minimum(n_eff, n) if cap else n_eff
    ratio = t_quantile(np.maximum(n - 1, 1), alpha / 2) / t_quantile(df, alpha / 2)
    n_star = n_use * ratio**2
    x = n_star * q
    low = special.betaincinv(x, n_star - x + 1, alpha / 2)
    high = special.betaincinv(x + 1, n_star - x, 1 - alpha / 2)
    return low, high


def _wilson(q, n_eff, t):
    t2n = t * t / n_eff
    centre = (q + t2n / 2) / (1 + t2n)
    half = t / (1 + t2n) * np.sqrt(q * (1 - q) / n_eff + t2n / (4 * n_eff))
    return centre - half, centre + half
