"""Confidence intervals for a design-based proportion.

All functions are vectorised over numpy arrays: one element per (indicator, domain).

Methods
-------
``"korn-graubard"`` (default)
    Korn & Graubard (1998): the Clopper–Pearson interval on an effective sample size
    ``n* = min(n_eff, n) * (t_{n-1} / t_df)**2`` (n_eff capped at n, as NCHS does).
``"beta"``
    Identical to R's ``svyciprop(method="beta")``: as above but ``n_eff`` is not capped.
``"logit"``
    ``expit(logit(p) ± t_df * se / (p (1 - p)))`` (R's ``svyciprop(method="logit")``).
``"wilson"``
    Wilson's score interval on ``n_eff`` with ``t_df`` in place of ``z``
    (Brown, Cai & DasGupta 2001).
``"mean"``
    ``p ± t_df * se`` clipped to [0, 1] (R's ``svyciprop(method="mean")``, which does not clip).

The Clopper–Pearson and Wilson formulas are those of statsmodels'
``statsmodels.stats.proportion.proportion_confint`` (``method="beta"`` / ``"wilson"``),
computed here with ``scipy.special`` (the same functions scipy.stats calls, so equal to
statsmodels' to the last bit — tests/analysis/test_intervals.py): importing statsmodels'
proportion module pulls in scipy.stats, 0.7–0.9 s of ``survey-estimate``'s start-up.

Where R fails we do not. When every respondent of a domain answered yes (or every one no)
the variance is 0 or a rounding error and says nothing about the design: every method then
returns the exact Clopper–Pearson interval on ``n* = n / deff_fallback · (t_{n-1}/t_df)²``
(the Korn–Graubard degrees-of-freedom factor, and a design effect that does not collapse to
0, pooled by the caller from the wave): ``[(alpha/2)**(1/n*), 1]`` (or
``[0, 1 - (alpha/2)**(1/n*)]``). A variance within rounding of 0 (below ``ROUNDING`` times
the binomial variance) is 0; with 0 < p̂ < 1 the interval then uses ``n_eff = n /
deff_fallback``, so a sample never gives a zero-width interval or missing bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.options import METHODS, VERDICT_METHODS

__all__ = ["METHODS", "VERDICT_METHODS", "Intervals", "proportion_interval"]


#: p̂ this close to 0 or 1 is treated as all-no / all-yes (a rounding error of a sum of weights).
DEGENERATE_TOL = 1e-12
#: A variance below this multiple of p̂(1 − p̂)/n is a rounding error (a design effect of
#: 1e-10 does not happen; 9e-33 from a domain inside one PSU does).
ROUNDING = 1e-10


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
        V is 0 (or within rounding of 0) although 0 < p̂ < 1: ``n_eff`` was set to
        ``n / deff_fallback``.
    df_nonpositive : numpy.ndarray of bool
        The design's df was ≤ 0: 1 df was used for the t quantiles.
    """

    low: np.ndarray
    high: np.ndarray
    n_eff: np.ndarray
    degenerate: np.ndarray
    zero_variance: np.ndarray
    df_nonpositive: np.ndarray


def verdict_method_for(method: str, verdict_method: str | None = None) -> str:
    """The method that decides verdicts: ``verdict_method`` if given (it must be one of
    ``VERDICT_METHODS``), else ``method`` if it may, else ``"korn-graubard"``."""
    if verdict_method is not None:
        if verdict_method not in VERDICT_METHODS:
            raise ValueError(
                f"verdict_method must be one of {', '.join(VERDICT_METHODS)} "
                f"(the methods that pass the coverage check), not {verdict_method!r}"
            )
        return verdict_method
    return method if method in VERDICT_METHODS else "korn-graubard"


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
    deff_fallback: np.ndarray | float | None = None,
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
    deff_fallback : array_like, optional
        Design effect to use where the domain's own variance says nothing (p̂ of 0 or 1, or
        V̂ within rounding of 0); NaN or ≤ 0 means 1. Default 1.

    Returns
    -------
    Intervals

    Notes
    -----
    The all-yes / all-no rule differs from R on purpose: R returns NaN or [1, 1], which would
    tell a community "certainly above 99%" after 40 interviews. It keeps the design's
    degrees of freedom: 370 of 370 yes in 10 buildings (df 9) gives a lower bound of
    0.98689, not Clopper–Pearson's 0.99008.
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
    fallback = np.ones_like(p) if deff_fallback is None else np.asarray(deff_fallback, float)
    fallback = np.where(np.isfinite(fallback) & (fallback > 0), fallback, 1.0)

    all_yes = p >= 1.0 - DEGENERATE_TOL
    all_no = p <= DEGENERATE_TOL
    degenerate = all_yes | all_no
    df_nonpositive = ~(df > 0)
    df_used = np.where(df_nonpositive, 1.0, df)
    q = np.where(degenerate, 0.5, p)  # keeps the formulas finite; overwritten below
    zero_variance = ~degenerate & ~(var > ROUNDING * q * (1 - q) / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(zero_variance | degenerate, n / fallback, q * (1 - q) / var)
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

    n_star = np.minimum(n_eff, n) * df_ratio(n, df_used, alpha) ** 2
    cp_low, cp_high = clopper_pearson_extreme(n_star, alpha)
    low = np.where(all_yes, cp_low, np.where(all_no, 0.0, low))
    high = np.where(all_yes, 1.0, np.where(all_no, cp_high, high))
    # Never missing bounds: anything the formulas could not give is the widest answer.
    low = np.where(np.isnan(low), 0.0, low)
    high = np.where(np.isnan(high), 1.0, high)
    return Intervals(
        low=low,
        high=high,
        n_eff=n_eff,
        degenerate=degenerate,
        zero_variance=zero_variance,
        df_nonpositive=df_nonpositive,
    )


def df_ratio(n: np.ndarray, df: np.ndarray, alpha: float) -> np.ndarray:
    """Korn–Graubard's degrees-of-freedom factor t_{n−1}(α/2) / t_df(α/2) (≤ 1 when df < n − 1)."""
    n = np.asarray(n, dtype=float)
    return t_quantile(np.maximum(n - 1, 1), alpha / 2) / t_quantile(df, alpha / 2)


def clopper_pearson_extreme(n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact bounds when all n answered yes (lower) or all answered no (upper).

    Returns ``((alpha/2)**(1/n), 1 - (alpha/2)**(1/n))``.
    """
    with np.errstate(divide="ignore"):
        low = np.power(alpha / 2, 1.0 / np.asarray(n, dtype=float))
    return low, 1.0 - low


def _korn_graubard(q, n_eff, n, df, alpha, *, cap):
    """Clopper–Pearson (statsmodels' ``proportion_confint(method="beta")``) on the
    df-adjusted effective sample size n* and n*·p̂ "successes" (not whole numbers)."""
    n_use = np.minimum(n_eff, n) if cap else n_eff
    n_star = n_use * df_ratio(n, df, alpha) ** 2
    return clopper_pearson(n_star * q, n_star, alpha)


def clopper_pearson(count, nobs, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """statsmodels' ``proportion_confint(count, nobs, alpha, method="beta")`` for arrays:
    the Beta(x, n − x + 1) quantile α/2 and the Beta(x + 1, n − x) upper quantile α/2
    (scipy.stats.beta's ``ppf`` and ``isf`` are these two functions), NaN where a shape
    is not positive (as scipy.stats gives), then 0 for p̂ = 0 and 1 for p̂ = 1."""
    count = np.asarray(count, dtype=float)
    nobs = np.asarray(nobs, dtype=float)
    half = alpha / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = count / nobs
        a_low, b_low = count, nobs - count + 1
        a_high, b_high = count + 1, nobs - count
        low = np.where((a_low > 0) & (b_low > 0), special.betaincinv(a_low, b_low, half), np.nan)
        high = np.where(
            (a_high > 0) & (b_high > 0), special.betainccinv(a_high, b_high, half), np.nan
        )
    low = np.where(q == 0, 0.0, low)
    high = np.where(q == 1, 1.0, high)
    return low, high


def wilson(count, nobs, alpha) -> tuple[np.ndarray, np.ndarray]:
    """statsmodels' ``proportion_confint(count, nobs, alpha, method="wilson")`` for arrays
    (``alpha`` may be an array): z = Φ⁻¹(1 − α/2) as scipy.stats.norm.isf computes it."""
    count = np.asarray(count, dtype=float)
    nobs = np.asarray(nobs, dtype=float)
    crit = -special.ndtri(np.asarray(alpha, dtype=float) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = count / nobs
        crit2 = crit**2
        denom = 1 + crit2 / nobs
        center = (q + crit2 / (2 * nobs)) / denom
        dist = crit * np.sqrt(q * (1.0 - q) / nobs + crit2 / (4.0 * nobs**2))
        dist /= denom
    return np.clip(center - dist, 0, 1), np.clip(center + dist, 0, 1)


def _wilson(q, n_eff, t):
    """Wilson's interval on n_eff with t_df for z: statsmodels' ``method="wilson"`` at the
    level whose normal quantile is t (α′ = 2·(1 − Φ(t)))."""
    alpha = 2 * special.ndtr(-t)
    return wilson(q * n_eff, n_eff, alpha)
