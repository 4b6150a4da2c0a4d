"""Logistic regression for survey data: statsmodels fits, the design gives the SEs.

``survey_logit`` equals R's

```r
svyglm(y ~ x1 + x2, design = subset(des, domain), family = quasibinomial())
```

with ``des <- svydesign(ids=~psu, strata=~stratum, weights=~w, nest=TRUE)``: the
coefficients are those of a weighted logistic GLM (statsmodels ``GLM`` with ``var_weights``,
the weights rescaled to mean 1 as R does), the covariance is the sandwich A⁻¹ B A⁻¹ with
A the GLM's Hessian and B the design covariance of the score totals
(:func:`analysis.linearized.design_covariance`: cluster-robust by PSU within strata), and
tests and intervals use Student's t on ``df = PSUs − strata + 1 − parameters`` (R's
``df.residual`` of an ``svyglm``).

Without strata this is statsmodels' cluster-robust covariance
(``cov_type="cluster"``) with the small-sample factor G/(G − 1) only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.linearized import Design, design_covariance, domain_df


@dataclass(frozen=True)
class LogitFit:
    """A fitted survey logistic regression.

    Attributes
    ----------
    names : tuple of str
        Term names, ``"intercept"`` first.
    coef, se, t, p_value, ci_low, ci_high : numpy.ndarray
        Log-odds coefficients, design-based SEs, t statistics, two-sided p-values and the
        Wald interval on the t scale (R's ``confint.svyglm``), one per term.
    cov : numpy.ndarray
        Sandwich covariance of the coefficients.
    df : int
        Residual degrees of freedom (PSUs − strata + 1 − parameters).
    n : int
        Respondents used (in the domain, with every variable answered).
    converged : bool
        Whether the IRLS fit converged.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    cov: np.ndarray
    df: int
    n: int
    converged: bool

    @property
    def odds_ratio(self) -> np.ndarray:
        return np.exp(self.coef)

    def term(self, name: str) -> dict:
        i = self.names.index(name)
        return {
            "coef": float(self.coef[i]),
            "se": float(self.se[i]),
            "t": float(self.t[i]),
            "p_value": float(self.p_value[i]),
            "ci_low": float(self.ci_low[i]),
            "ci_high": float(self.ci_high[i]),
        }


def survey_logit(
    y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    design: Design,
    *,
    names: list[str],
    used: np.ndarray | None = None,
    level: float = 0.95,
    lonely_psu: str = "adjust",
) -> LogitFit:
    """Fit logit P(y = 1) = x·β on the rows ``used``, with design-based SEs.

    Parameters
    ----------
    y : numpy.ndarray
        0/1 outcome, one per row of the whole sample.
    x : numpy.ndarray
        Covariates (rows × terms) without the intercept, which is added.
    w : numpy.ndarray
        Sampling weights.
    design : Design
        Strata and PSUs of the whole sample (:func:`analysis.linearized.make_design`).
    names : list of str
        Names of the columns of ``x``.
    used : numpy.ndarray of bool, optional
        The domain (and complete cases): other rows have score 0 but their PSUs count.
    level : float
        Level of the intervals.
    lonely_psu : {"adjust", "certainty", "fail"}
        As in :func:`analysis.estimate`.

    Returns
    -------
    LogitFit
    """
    # statsmodels.api imports every submodule (2-3 s): take only the GLM.
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    used = np.ones(len(y), dtype=bool) if used is None else np.asarray(used, dtype=bool)
    xi = np.column_stack([np.ones(len(y)), np.asarray(x, dtype=float).reshape(len(y), -1)])
    w_used = w[used]
    y_pat, x_pat, w_pat = _patterns(y[used], xi[used], w_used)
    model = GLM(y_pat, x_pat, family=families.Binomial(), var_weights=w_pat / w_pat.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation and non-convergence are reported below
        result = model.fit(tol=1e-12, maxiter=100)
    beta = np.asarray(result.params)
    mu = 1.0 / (1.0 + np.exp(-(xi[used] @ beta)))
    scores = np.zeros_like(xi)
    scores[used] = (w_used * (y[used] - mu))[:, None] * xi[used]
    a = (xi[used] * (w_used * mu * (1 - mu))[:, None]).T @ xi[used]
    a_inv = np.linalg.pinv(a)
    cov = a_inv @ design_covariance(scores, design, lonely_psu=lonely_psu) @ a_inv
    diag = np.diag(cov)
    se = np.sqrt(np.where(diag >= 0, diag, np.nan))  # < 0 only for a singular fit
    df = domain_df(used, design) + 1 - xi.shape[1]
    df_t = max(df, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    p_value = 2 * stats.t.sf(np.abs(t), df_t)
    half = stats.t.ppf(0.5 + level / 2, df_t) * se
    converged = bool(result.converged) and bool(np.all(np.isfinite(se)))
    return LogitFit(
        names=("intercept", *names),
        coef=beta,
        se=se,
        t=t,
        p_value=p_value,
        ci_low=beta - half,
        ci_high=beta + half,
        cov=cov,
        df=int(df),
        n=int(used.sum()),
        converged=converged,
    )


def _patterns(y: np.ndarray, x: np.ndarray, w: np.ndarray):
    """Rows with the same answers collapsed, their weights summed.

    The weighted log-likelihood is a sum over rows and depends on a row only through
    (y, x) and w, so the fit on distinct patterns is the fit on the rows: with 0/1 area
    items a million interviews have at most a few thousand patterns, and statsmodels'
    IRLS runs on those (the sandwich below still uses every row's PSU).
    """
    import pandas as pd

    table = pd.DataFrame(np.column_stack([y, x]))
    code = table.groupby(list(table.columns), sort=False).ngroup().to_numpy()
    n_pat = int(code.max()) + 1 if len(code) else 0
    if n_pat > len(y) // 2:
        return y, x, w
    first = np.full(n_pat, -1)
    first[code[::-1]] = np.arange(len(code))[::-1]
    return y[first], x[first], np.bincount(code, weights=w, minlength=n_pat)
