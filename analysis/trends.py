"""Is a change between waves real? The difference between two waves and a trend test.

**Change between two waves** (``wave_change``). For an indicator in a domain, with p̂₁ and
p̂₂ the weighted rates of the two waves,

    Δ = p̂₂ − p̂₁,   V(Δ) = V(p̂₁) + V(p̂₂) − 2 Cov(p̂₁, p̂₂)

all linearised in one design on the two waves' rows stacked (R: ``svyby(~y, ~wave, des,
svymean, covmat = TRUE)`` + ``svycontrast``). Two cases:

* **independent samples** — each wave has its own strata and PSUs (strata and PSUs are
  crossed with the wave), so Cov = 0 and V(Δ) = V₁ + V₂;
* **linked samples** — the same households (or buildings) are interviewed again: the
  PSUs keep their identity across waves (the household is the PSU when there are no
  clusters), so a PSU's totals in both waves enter one deviation and the positive
  covariance of a re-interviewed unit's answers narrows V(Δ), as it should.

By default the samples are linked exactly when ``unit`` (the household id) is given and
some unit was interviewed in both waves; ``linked=`` forces either.

The interval is Δ ± t_df · SE with df = (PSUs with a respondent in the domain in either
wave) − (their strata), and the change is called **significant** when the interval
excludes 0 (two-sided test at 1 − level). Otherwise it is «可能是抽样波动»: a difference
that sampling alone produces easily.

**Trend over several waves** (``trend_test``): logit P(y = 1) = β₀ + β₁·k for the wave's
position k = 0, 1, …, a survey logistic GLM with PSU-clustered SEs (R's
``svyglm(y ~ wave, family = quasibinomial())``); β₁ is the change in log odds per wave and
the test is on β₁ with t on the design's df.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.linearized import (
    binary_column,
    check_columns,
    check_weights,
    domain_df,
    domain_means,
    make_design,
)
from analysis.results import plain_value
from analysis.survey_logit import survey_logit


@dataclass(frozen=True)
class WaveChange:
    """One indicator in one domain (None: the whole sample), wave ``before`` → ``after``."""

    indicator: str
    domain: object
    n_before: int
    n_after: int
    p_before: float
    p_after: float
    diff: float
    se: float
    df: int
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool


@dataclass(frozen=True)
class ChangeResult:
    """Rows per indicator per domain; ``linked`` says how the waves were treated and
    ``overlap`` how many units were interviewed in both."""

    rows: tuple[WaveChange, ...]
    linked: bool
    overlap: int
    level: float


@dataclass(frozen=True)
class Trend:
    """The trend of one indicator in one domain over ``waves`` waves.

    ``slope`` is the change in log odds per wave; ``per_wave`` the average change per wave
    in the fitted rate (from the first to the last wave), in proportion units.
    """

    indicator: str
    domain: object
    waves: int
    n: int
    slope: float
    se: float
    df: int
    ci_low: float
    ci_high: float
    p_value: float
    per_wave: float
    significant: bool


def wave_change(
    data: pd.DataFrame,
    *,
    indicators: Sequence[str],
    weight: str,
    wave: str,
    before,
    after,
    strata: str | None = None,
    cluster: str | None = None,
    by: str | None = None,
    unit: str | None = None,
    linked: bool | None = None,
    level: float = 0.95,
    lonely_psu: str = "adjust",
) -> ChangeResult:
    """Difference between waves ``before`` and ``after`` per indicator and domain.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents of several waves, one row each; indicators hold 0/1 (blank: not asked).
    indicators : sequence of str
        Indicator columns.
    weight, strata, cluster : str
        Each wave's design (as in :func:`analysis.estimate`).
    wave : str
        Column naming the wave; ``before`` and ``after`` are two of its values.
    by : str, optional
        Domain column (community): one row per domain as well as the whole sample.
    unit : str, optional
        Household id: a household interviewed in both waves links them.
    linked : bool, optional
        Force linked (True) or independent (False) samples; default: linked when some
        ``unit`` appears in both waves.
    level : float
        Confidence level (the test is at 1 − level).
    lonely_psu : {"adjust", "certainty", "fail"}
        As in :func:`analysis.estimate`.

    Returns
    -------
    ChangeResult
    """
    check_columns(data, [*indicators, weight, wave, strata, cluster, by, unit])
    data = data[data[wave].isin([before, after])].reset_index(drop=True)
    first, second = (data[wave] == before).to_numpy(), (data[wave] == after).to_numpy()
    if not first.any() or not second.any():
        missing = before if not first.any() else after
        raise AnalysisInputError(f"no respondents in wave {missing!r}", column=wave)
    overlap = _overlap(data, wave, unit)
    linked = overlap > 0 if linked is None else linked
    design, w = _stacked_design(data, weight, wave, strata, cluster, unit, linked)
    t_q = _t_quantile(level)
    rows = []
    for indicator in indicators:
        y = binary_column(data, indicator)
        for domain, inside in _domains(data, by):
            a, b = inside & first & np.isfinite(y), inside & second & np.isfinite(y)
            if not a.any() or not b.any():
                continue
            means = domain_means(y, w, [a, b], design, lonely_psu=lonely_psu)
            diff = float(means.estimate[1] - means.estimate[0])
            c = means.cov
            se = float(np.sqrt(max(c[0, 0] + c[1, 1] - 2 * c[0, 1], 0.0)))
            df = domain_df(a | b, design)
            half = t_q(df) * se
            p = _two_sided_p(diff, se, df)
            rows.append(
                WaveChange(
                    indicator=indicator,
                    domain=domain,
                    n_before=int(a.sum()),
                    n_after=int(b.sum()),
                    p_before=float(means.estimate[0]),
                    p_after=float(means.estimate[1]),
                    diff=diff,
                    se=se,
                    df=df,
                    ci_low=diff - half,
                    ci_high=diff + half,
                    p_value=p,
                    significant=bool(p < 1 - level),
                )
            )
    return ChangeResult(rows=tuple(rows), linked=bool(linked), overlap=overlap, level=level)


def trend_test(
    data: pd.DataFrame,
    *,
    indicators: Sequence[str],
    weight: str,
    wave: str,
    order: Sequence | None = None,
    strata: str | None = None,
    cluster: str | None = None,
    by: str | None = None,
    unit: str | None = None,
    linked: bool | None = None,
    level: float = 0.95,
    lonely_psu: str = "adjust",
) -> tuple[Trend, ...]:
    """Test of a linear trend (on the log-odds scale) over the waves in ``order``.

    Parameters as for :func:`wave_change`; ``order`` lists the waves oldest first
    (default: the sorted values of ``wave``). Domains with respondents in fewer than two
    waves, or whose model has no degrees of freedom left, get no row.
    """
    check_columns(data, [*indicators, weight, wave, strata, cluster, by, unit])
    order = list(sorted(data[wave].dropna().unique()) if order is None else order)
    data = data[data[wave].isin(order)].reset_index(drop=True)
    position = data[wave].map({v: i for i, v in enumerate(order)}).to_numpy(dtype=float)
    overlap = _overlap(data, wave, unit)
    linked = overlap > 0 if linked is None else linked
    design, w = _stacked_design(data, weight, wave, strata, cluster, unit, linked)
    out = []
    for indicator in indicators:
        y = binary_column(data, indicator)
        for domain, inside in _domains(data, by):
            used = inside & np.isfinite(y)
            waves_seen = np.unique(position[used])
            if len(waves_seen) < 2 or domain_df(used, design) < 2:
                continue
            fit = survey_logit(
                np.where(used, y, 0.0),
                position[:, None],
                w,
                design,
                names=["wave"],
                used=used,
                level=level,
                lonely_psu=lonely_psu,
            )
            if not fit.converged:
                continue
            b0, b1 = fit.coef
            lo, hi = waves_seen.min(), waves_seen.max()
            fitted = 1 / (1 + np.exp(-(b0 + b1 * np.array([lo, hi]))))
            out.append(
                Trend(
                    indicator=indicator,
                    domain=domain,
                    waves=len(waves_seen),
                    n=fit.n,
                    slope=float(b1),
                    se=float(fit.se[1]),
                    df=fit.df,
                    ci_low=float(fit.ci_low[1]),
                    ci_high=float(fit.ci_high[1]),
                    p_value=float(fit.p_value[1]),
                    per_wave=float((fitted[1] - fitted[0]) / (hi - lo)),
                    significant=bool(fit.p_value[1] < 1 - level),
                )
            )
    return tuple(out)


def _overlap(data: pd.DataFrame, wave: str, unit: str | None) -> int:
    """Units interviewed in more than one wave."""
    if unit is None:
        return 0
    waves_per_unit = data[[unit, wave]].dropna().drop_duplicates().groupby(unit).size()
    return int((waves_per_unit > 1).sum())


def _stacked_design(data, weight, wave, strata, cluster, unit, linked):
    w = data[weight].to_numpy(dtype=float)
    check_weights(w, weight)
    psu_col = cluster if cluster is not None else unit if linked else None
    stratum = None if strata is None else data[strata].astype(str)
    psu = None if psu_col is None else data[psu_col].astype(str)
    if not linked:  # independent samples: each wave its own strata and PSUs
        tag = data[wave].astype(str) + "\x1f"
        stratum = tag if stratum is None else tag + stratum
        psu = None if psu is None else tag + psu
    return make_design(stratum, psu, len(data)), w


def _domains(data: pd.DataFrame, by: str | None):
    yield None, np.ones(len(data), dtype=bool)
    if by is None:
        return
    values = data[by]
    for value in sorted(values.dropna().unique(), key=str):
        yield plain_value(value), (values == value).to_numpy()


def _t_quantile(level: float):
    def q(df: int) -> float:
        return float(stats.t.ppf(0.5 + level / 2, max(df, 1)))

    return q


def _two_sided_p(diff: float, se: float, df: int) -> float:
    if se == 0:
        return 0.0 if diff != 0 else 1.0
    return float(2 * stats.t.sf(abs(diff) / se, max(df, 1)))


@dataclass(frozen=True)
class Change:
    """A change between two estimates: Δ, its SE, df, interval and two-sided test."""

    diff: float
    se: float
    df: int
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool


def change_from_estimates(
    before: tuple[float, float, int],
    after: tuple[float, float, int],
    *,
    cov: float = 0.0,
    level: float = 0.95,
) -> Change:
    """The change between two estimates given as (p̂, SE, df) each.

    For independent samples (each wave its own strata and PSUs, as the result pages
    estimate them) ``cov`` is 0 and df = df₁ + df₂ — exactly :func:`wave_change` with
    ``linked=False`` on the stacked rows (PSUs in either wave minus their strata).
    """
    (p1, se1, df1), (p2, se2, df2) = before, after
    diff = float(p2 - p1)
    se = float(np.sqrt(max(se1 * se1 + se2 * se2 - 2 * cov, 0.0)))
    df = int(df1 + df2)
    half = _t_quantile(level)(df) * se
    p = _two_sided_p(diff, se, df)
    return Change(diff, se, df, diff - half, diff + half, p, bool(p < 1 - level))
