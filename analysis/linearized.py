"""Design-based covariance of estimating functions: the machinery behind the driver model,
the change between waves and the trend test.

Every estimator here is the solution of Σᵢ wᵢ Uᵢ(θ) = 0 (a domain mean, a logistic
regression). Its linearised (sandwich) covariance is A⁻¹ B A⁻ᵀ where A is the derivative
of the estimating equations and B the design covariance of their totals — R's
``svyrecvar`` for ``svydesign(ids=~psu, strata=~stratum, weights=~w, nest=TRUE)``:

    B = Σ_h c_h Σ_j (u_hj − ū_h)(u_hj − ū_h)ᵀ,   c_h = n_h/(n_h − 1)

with u_hj the PSU totals of the scores. Rows outside a domain (or with a missing answer)
stay in the data with score 0, so n_h counts every PSU of the stratum (domain estimation
done right, docs/methodology.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError, LonelyPSUError
from analysis.variance import LONELY_PSU


@dataclass(frozen=True)
class Design:
    """Codes of a sample's design: one entry per row.

    Attributes
    ----------
    stratum : numpy.ndarray
        Stratum code of each row.
    psu : numpy.ndarray
        Global PSU code of each row (unique across strata).
    psu_stratum : numpy.ndarray
        Stratum code of each PSU.
    n_h : numpy.ndarray
        PSUs per stratum in the whole sample.
    stratum_labels : list
        Stratum labels by code (for messages).
    """

    stratum: np.ndarray
    psu: np.ndarray
    psu_stratum: np.ndarray
    n_h: np.ndarray
    stratum_labels: list


def make_design(strata: pd.Series | np.ndarray | None, psu: pd.Series | np.ndarray | None, n: int):
    """Codes for ``n`` rows; no strata: one stratum; no PSU: every row its own PSU."""
    if strata is None:
        s_code, s_labels = np.zeros(n, dtype=np.int64), ["(all)"]
    else:
        s_code, s_labels = pd.factorize(pd.Series(strata).to_numpy(), sort=True)
        s_labels = list(s_labels)
    if psu is None:
        psu_key = np.arange(n, dtype=np.int64)
    else:
        p_code, p_labels = pd.factorize(pd.Series(psu).to_numpy())
        psu_key = s_code.astype(np.int64) * (len(p_labels) + 1) + p_code  # nest=TRUE
    _, first, psu_code = np.unique(psu_key, return_index=True, return_inverse=True)
    psu_stratum = s_code[first]
    n_h = np.bincount(psu_stratum, minlength=len(s_labels))
    return Design(s_code, psu_code, psu_stratum, n_h, s_labels)


def design_covariance(
    scores: np.ndarray, design: Design, *, lonely_psu: str = "adjust"
) -> np.ndarray:
    """B: the design covariance of the column totals of ``scores`` (rows × k).

    ``lonely_psu`` as in :mod:`analysis.variance`: ``"adjust"`` centres a stratum's single
    PSU at 0 (the whole-sample mean of scores that sum to 0), ``"certainty"`` drops it,
    ``"fail"`` raises :class:`LonelyPSUError`.
    """
    if lonely_psu not in LONELY_PSU:
        raise ValueError(f"lonely_psu must be one of {', '.join(LONELY_PSU)}, not {lonely_psu!r}")
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    n_psu = len(design.psu_stratum)
    totals = np.column_stack(
        [
            np.bincount(design.psu, weights=scores[:, c], minlength=n_psu)
            for c in range(scores.shape[1])
        ]
    )
    n_h = design.n_h
    lonely = n_h == 1
    if lonely.any() and lonely_psu == "fail":
        label = design.stratum_labels[int(np.flatnonzero(lonely)[0])]
        raise LonelyPSUError(f"stratum {label!r} has a single PSU")
    means = (
        np.vstack(
            [
                np.bincount(design.psu_stratum, weights=totals[:, c], minlength=len(n_h))
                for c in range(totals.shape[1])
            ]
        ).T
        / np.maximum(n_h, 1)[:, None]
    )
    means[lonely] = 0.0
    dev = totals - means[design.psu_stratum]
    with np.errstate(divide="ignore", invalid="ignore"):
        c_h = np.where(lonely, 1.0 if lonely_psu == "adjust" else 0.0, n_h / (n_h - 1.0))
    dev_scaled = dev * c_h[design.psu_stratum][:, None]
    return dev_scaled.T @ dev


def domain_df(used: np.ndarray, design: Design) -> int:
    """Degrees of freedom of a domain: its PSUs minus its strata (R's ``degf``)."""
    seen = np.bincount(design.psu[np.asarray(used, dtype=bool)], minlength=len(design.psu_stratum))
    psus = np.flatnonzero(seen)
    return int(len(psus) - len(np.unique(design.psu_stratum[psus])))


@dataclass(frozen=True)
class DomainMeans:
    """Weighted means of one 0/1 variable in several domains, with their covariance."""

    estimate: np.ndarray
    cov: np.ndarray
    n: np.ndarray
    sum_w: np.ndarray


def domain_means(
    y: np.ndarray,
    w: np.ndarray,
    masks: list[np.ndarray],
    design: Design,
    *,
    lonely_psu: str = "adjust",
) -> DomainMeans:
    """p̂_d = Σ_d wy / Σ_d w for each domain mask (rows with y missing count in none),
    and their joint linearised covariance (R's ``svyby(..., covmat=TRUE)``)."""
    y = np.asarray(y, dtype=float)
    answered = np.isfinite(y)
    y0 = np.where(answered, y, 0.0)
    cols, est, n, sw = [], [], [], []
    for mask in masks:
        inside = np.asarray(mask, dtype=bool) & answered
        total_w = float(w[inside].sum())
        p = float((w * y0)[inside].sum() / total_w) if total_w > 0 else np.nan
        z = np.where(inside, w * (y0 - (p if total_w > 0 else 0.0)), 0.0)
        cols.append(z / total_w if total_w > 0 else z)
        est.append(p)
        n.append(int(inside.sum()))
        sw.append(total_w)
    cov = design_covariance(np.column_stack(cols), design, lonely_psu=lonely_psu)
    return DomainMeans(np.array(est), cov, np.array(n), np.array(sw))


def check_columns(data: pd.DataFrame, columns: list[str | None]) -> None:
    """One-line error naming the first missing column."""
    for col in columns:
        if col is not None and col not in data.columns:
            raise AnalysisInputError("not in the data", column=col)


def check_weights(w: np.ndarray, column: str) -> None:
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if len(bad):
        raise AnalysisInputError("weights must be numbers ≥ 0", column=column, row=int(bad[0]) + 1)


def binary_column(data: pd.DataFrame, column: str) -> np.ndarray:
    """A 0/1 column as floats (NaN kept: not asked); other values are an input error."""
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    raw_missing = data[column].isna().to_numpy()
    bad = np.flatnonzero(
        (np.isnan(values) & ~raw_missing) | (np.isfinite(values) & (values != 0) & (values != 1))
    )
    if len(bad):
        raise AnalysisInputError(
            f"value {data[column].iloc[bad[0]]!r} is not 0, 1 or blank",
            column=column,
            row=int(bad[0]) + 1,
        )
    return values
