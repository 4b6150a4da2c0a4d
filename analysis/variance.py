"""Taylor-linearised variance of domain proportions from per-PSU sums.

For each group g (an indicator in a domain, or in the whole sample) with PSU sums
``sum_w``, ``sum_wy`` (or their calibration residuals ``res_w``, ``res_wy``):

    p̂_g = Σ sum_wy / Σ sum_w,   z_ghj = (res_wy − p̂_g · res_w) / Σ sum_w,
    V̂_g = Σ_h f_h · n_h/(n_h − 1) · Σ_j (z_ghj − z̄_gh)²,

where j runs over *all* n_h PSUs of stratum h (PSUs with nobody in the domain have
z = 0) and f_h = 1 − n_h/N_h when an fpc is given, else 1. This is R's ``svyrecvar`` for
``svydesign(ids=~psu, strata=~stratum, weights=~w, nest=TRUE)``.

Strata with a single PSU ("lonely PSUs", ``lonely_psu=``):

``"fail"``       raise :class:`analysis.errors.LonelyPSUError`;
``"certainty"``  the stratum adds no variance (it was sampled with certainty);
``"adjust"``     its PSU total is centred at 0, the whole-sample mean of the scores, not at
                 its own mean (R's ``survey.lonely.psu = "adjust"``), so it adds f_h·z².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.errors import LonelyPSUError
from analysis.options import LONELY_PSU

__all__ = ["LONELY_PSU", "GroupVariance", "group_variance"]


@dataclass(frozen=True)
class GroupVariance:
    """Per-group results (arrays indexed by group code)."""

    n: np.ndarray
    sum_w: np.ndarray
    sum_w2: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    df: np.ndarray
    touches_lonely: np.ndarray
    psus_in: np.ndarray | None = None  # PSUs with a respondent in the group
    max_cell_n: np.ndarray | None = None  # most respondents in one of its PSUs
    all_psus_taken: np.ndarray | None = None  # every stratum it touches has f_h = 0
    w_per_n_min: np.ndarray | None = None  # least and most mean weight of its PSU cells
    w_per_n_max: np.ndarray | None = None


def group_variance(
    group: np.ndarray,
    psu: np.ndarray,
    psu_stratum: np.ndarray,
    n_h: np.ndarray,
    sums: dict[str, np.ndarray],
    n_groups: int,
    *,
    f_h: np.ndarray | None = None,
    lonely_psu: str = "adjust",
    stratum_labels=None,
    copies: np.ndarray | None = None,
) -> GroupVariance:
    """Variance for every group at once from (group, PSU) cells.

    Parameters
    ----------
    group, psu : numpy.ndarray
        Group code and global PSU code of each cell; cells must be unique.
    psu_stratum : numpy.ndarray
        Stratum code of each PSU.
    n_h : numpy.ndarray
        PSUs per stratum in the whole sample.
    sums : dict
        ``n, sum_w, sum_wy, sum_w2, res_w, res_wy`` per cell.
    n_groups : int
        Number of groups.
    f_h : numpy.ndarray, optional
        Finite population correction 1 − n_h/N_h per stratum.
    lonely_psu : {"adjust", "certainty", "fail"}
        What a stratum with one PSU contributes.
    copies : numpy.ndarray, optional
        Per cell, how many PSUs alike in every sum it stands for (``n_h`` counts them
        all); each sum is that of one of them. Default 1.
    """
    if lonely_psu not in LONELY_PSU:
        raise ValueError(f"lonely_psu must be one of {', '.join(LONELY_PSU)}, not {lonely_psu!r}")
    n_strata = len(n_h)
    lonely = n_h == 1
    if lonely_psu == "fail" and lonely.any():
        label = np.flatnonzero(lonely)[0]
        if stratum_labels is not None:
            label = stratum_labels[label]
        raise LonelyPSUError(
            f"stratum {label!r} has only one PSU; choose lonely_psu='certainty' or 'adjust'"
        )

    def per_group(values):
        return np.bincount(group, weights=values, minlength=n_groups)

    def times(values):  # a cell's sum over all the PSUs it stands for
        return values if copies is None else values * copies

    n = per_group(times(sums["n"])).round().astype(np.int64)
    sum_w = per_group(times(sums["sum_w"]))
    sum_wy = per_group(times(sums["sum_wy"]))
    sum_w2 = per_group(times(sums["sum_w2"])) if "sum_w2" in sums else np.full(n_groups, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sum_wy / sum_w
        z = (sums["res_wy"] - p[group] * sums["res_w"]) / sum_w[group]
    z = np.where(np.isfinite(z), z, 0.0)

    # (group, stratum) pairs that occur, numbered compactly: a dense groups × strata table
    # would be huge with many waves (strata) and domains, and is mostly empty.
    gh_code, gh_group, gh_stratum = _pairs(group, psu_stratum[psu], n_strata)
    size = len(gh_group)
    s1 = np.bincount(gh_code, weights=times(z), minlength=size)
    if copies is None:
        present = np.bincount(gh_code, minlength=size)
    else:
        present = np.bincount(gh_code, weights=copies, minlength=size)
    nh_cell = n_h[gh_stratum].astype(float)
    mean = s1 / nh_cell
    centred = z - mean[gh_code]
    ss = np.bincount(gh_code, weights=times(centred * centred), minlength=size)
    ss += (nh_cell - present) * mean * mean
    lonely_cell = lonely[gh_stratum]
    if lonely_psu == "adjust":
        ss = np.where(lonely_cell, np.bincount(gh_code, weights=times(z * z), minlength=size), ss)
    else:
        ss = np.where(lonely_cell, 0.0, ss)
    f = np.ones(n_strata) if f_h is None else f_h
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(lonely, f, f * n_h / (n_h - 1.0))
    variance = np.bincount(gh_group, weights=ss * scale[gh_stratum], minlength=n_groups)
    stage2 = 0.0
    if "ssu_aa" in sums:
        stage2 = _second_stage(
            group, psu, psu_stratum, n_h, sums, p, sum_w, n_groups, f_h, lonely_psu, copies
        )

    answered = sums["n"] > 0
    psus_in = np.bincount(group, weights=times(answered.astype(float)), minlength=n_groups)
    in_stratum = np.bincount(gh_code, weights=answered, minlength=size) > 0
    df = psus_in - np.bincount(gh_group, weights=in_stratum, minlength=n_groups)
    touches = np.bincount(gh_group, weights=in_stratum & lonely_cell, minlength=n_groups) > 0
    taken = np.zeros(n_strata, dtype=bool) if f_h is None else f_h <= 0
    not_taken = in_stratum & ~taken[gh_stratum]
    all_taken = (np.bincount(gh_group, weights=not_taken, minlength=n_groups) == 0) & (psus_in > 0)
    max_cell_n = np.zeros(n_groups)
    np.maximum.at(max_cell_n, group, sums["n"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(answered, sums["sum_w"] / sums["n"], np.nan)
    w_min, w_max = np.full(n_groups, np.inf), np.full(n_groups, -np.inf)
    np.fmin.at(w_min, group, ratio)
    np.fmax.at(w_max, group, ratio)
    return GroupVariance(
        n=n,
        sum_w=sum_w,
        sum_w2=sum_w2,
        estimate=p,
        variance=variance + stage2,
        df=df.astype(np.int64),
        touches_lonely=touches,
        psus_in=psus_in,
        max_cell_n=max_cell_n,
        all_psus_taken=all_taken,
        w_per_n_min=w_min,
        w_per_n_max=w_max,
    )


def _pairs(group, stratum, n_strata):
    """Compact codes of the (group, stratum) pairs present, with each pair's two parts."""
    key = group.astype(np.int64) * n_strata + stratum
    uniques, code = np.unique(key, return_inverse=True)
    return code.ravel(), uniques // n_strata, uniques % n_strata


def _second_stage(
    group, psu, psu_stratum, n_h, sums, p, sum_w, n_groups, f_h, lonely_psu, copies=None
):
    """Within-PSU variance of a two-stage design (R's ``multistage``), per group.

    PSU j of stratum h adds (n_h/N_h) · (1 − m_j/M_j) · m_j/(m_j − 1) · Σ_k (z_jk − z̄_j)²
    over its m_j sampled second-stage units (SSUs) of M_j; a PSU with one SSU adds
    (n_h/N_h)(1 − 1/M_j)·z² under "adjust" and nothing under "certainty". Without a
    first-stage fpc n_h/N_h is 0 (the with-replacement "ultimate cluster" variance).
    The cell sums ``ssu_aa, ssu_ab, ssu_bb`` are Σ_k a_k², Σ_k a_k b_k, Σ_k b_k² of the SSU
    sums a = Σwy, b = Σw, so Σ_k z_jk² = (aa − 2p·ab + p²·bb)/S² and Σ_k z_jk = z_j.
    """
    if f_h is None:
        return 0.0
    frac1 = 1.0 - f_h  # n_h / N_h
    m = sums["ssu_n"]
    big_m = sums["ssu_pop"]
    pg, s = p[group], sum_w[group]
    with np.errstate(divide="ignore", invalid="ignore"):
        zz = (sums["ssu_aa"] - 2 * pg * sums["ssu_ab"] + pg * pg * sums["ssu_bb"]) / (s * s)
        z = (sums["res_wy"] - pg * sums["res_w"]) / s
        f2 = np.where(np.isfinite(big_m), 1.0 - m / big_m, 1.0)
        within = np.where(m > 1, m / (m - 1.0) * (zz - z * z / m), zz)
    if lonely_psu == "fail" and np.any((m == 1) & (f2 > 1e-7)):
        raise LonelyPSUError("a PSU has only one second-stage unit; choose 'certainty' or 'adjust'")
    if lonely_psu == "certainty":
        within = np.where(m == 1, 0.0, within)
    contrib = frac1[psu_stratum[psu]] * np.where(f2 < 1e-7, 0.0, f2) * within
    contrib = np.where(np.isfinite(contrib), contrib, 0.0)
    if copies is not None:
        contrib = contrib * copies
    return np.bincount(group, weights=contrib, minlength=n_groups)
