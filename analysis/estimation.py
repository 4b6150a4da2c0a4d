"""Design-based estimates of binary indicators by domain, with verdicts against a target.

Two entry points, one result type:

``estimate(data, *, indicators, weight, strata=None, cluster=None, by=None, ...)``
    From respondent rows. Implemented as :func:`analysis.totals.aggregate_totals` followed
    by ``estimate_from_totals``, so both routes give identical numbers.
``estimate_from_totals(totals, *, psu_counts=None, ...)``
    From stored per-(indicator, domain, stratum, PSU) sums, for answering fast when the
    responses live in a database.

Both return :class:`EstimateResult`: ``.rows`` holds one :class:`EstimateRow` per indicator
per domain plus one per indicator with ``domain=None`` for the whole sample; ``.design``
describes the design.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.intervals import proportion_interval
from analysis.planning import required_total_n
from analysis.results import DesignInfo, EstimateResult, EstimateRow, plain_value
from analysis.totals import SINGLE_STRATUM, PsuTotals, aggregate_totals, factorize_first
from analysis.validate import check_data, check_options
from analysis.variance import group_variance

if TYPE_CHECKING:
    from analysis.weighting import Calibration

_REQUIRED = ("indicator", "domain", "stratum", "psu", "n", "sum_w", "sum_wy")


def estimate(
    data: pd.DataFrame,
    *,
    indicators: Sequence[str],
    weight: str,
    strata: str | None = None,
    cluster: str | None = None,
    by: str | None = None,
    method: str = "korn-graubard",
    level: float = 0.95,
    target: float = 0.99,
    fpc: str | None = None,
    lonely_psu: str = "adjust",
    calibration: Calibration | None = None,
) -> EstimateResult:
    """Weighted proportions with design-based SEs, intervals and verdicts, by domain.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    indicators : sequence of str
        Columns holding 0/1 (NaN: not asked / not applicable, left out of that indicator
        as R's ``na.rm=TRUE`` does — outside the domain for the variance).
    weight : str
        Column of sampling (or calibrated) weights, ≥ 0.
    strata : str, optional
        Stratum column (e.g. street). None: one stratum.
    cluster : str, optional
        PSU column (e.g. building), nested in strata. None: each row is its own PSU.
    by : str, optional
        Domain column (e.g. community). Rows with a missing value count only in the whole
        sample.
    method : {"korn-graubard", "beta", "logit", "wilson", "mean"}
        Interval method (see :mod:`analysis.intervals`).
    level : float
        Confidence level.
    target : float
        Target rate for the verdict.
    fpc : str, optional
        Column with N_h, the number of PSUs in the population of each stratum.
    lonely_psu : {"adjust", "certainty", "fail"}
        Treatment of strata with a single PSU (see :mod:`analysis.variance`).
    calibration : analysis.weighting.Calibration, optional
        From ``rake``/``poststratify``; ``weight`` should then be the calibrated weights.
        SEs then match R's ``calibrate()``.

    Returns
    -------
    EstimateResult

    Raises
    ------
    AnalysisInputError
        Missing column, indicator values other than 0/1/NaN, negative or missing weights,
        blank strata/cluster; the message names the column and the 1-based data row.
    """
    check_data(data, indicators, weight, strata, cluster, by, fpc)
    totals = aggregate_totals(
        data,
        indicators=list(indicators),
        weight=weight,
        strata=strata,
        cluster=cluster,
        by=by,
        calibration=calibration,
    )
    fpc_map = None
    if fpc is not None:
        key = data[strata] if strata is not None else pd.Series(None, index=data.index)
        fpc_map = pd.Series(data[fpc].to_numpy(float), index=key).groupby(level=0).first()
        if strata is None:
            fpc_map = pd.Series([float(data[fpc].iloc[0])], index=totals.psu_counts.index)
    w = data[weight].to_numpy(dtype=float)
    return _from_totals(
        totals.table,
        psu_counts=totals.psu_counts,
        method=method,
        level=level,
        target=target,
        fpc=fpc_map,
        lonely_psu=lonely_psu,
        describe={
            "weight": weight,
            "strata": strata,
            "cluster": cluster,
            "by": by,
            "fpc": fpc,
            "n_rows": len(data),
            "deff_w": float(len(w) * np.sum(w * w) / np.sum(w) ** 2) if len(w) else None,
        },
        domains=totals.domains,
    )


def estimate_from_totals(
    totals: pd.DataFrame | PsuTotals,
    *,
    psu_counts: Mapping | pd.Series | None = None,
    method: str = "korn-graubard",
    level: float = 0.95,
    target: float = 0.99,
    fpc: Mapping | pd.Series | None = None,
    lonely_psu: str = "adjust",
) -> EstimateResult:
    """Estimates from per-(indicator, domain, stratum, PSU) sums.

    Parameters
    ----------
    totals : pandas.DataFrame or PsuTotals
        Columns ``indicator, domain, stratum, psu, n, sum_w, sum_wy``; optional
        ``sum_w2`` (Σw², for reporting) and ``res_w, res_wy`` (calibration residual sums,
        see :mod:`analysis.calibration`). ``n`` counts respondents with an answer.
        Rows whose ``domain`` is missing hold the whole sample; if there are none, the
        whole sample is the sum of the domains (right when every respondent is in exactly
        one domain). Several rows for one (indicator, domain, stratum, psu) are added up.
    psu_counts : mapping or pandas.Series, optional
        n_h, PSUs per stratum in the whole sample *including PSUs with nobody in a
        domain*. Default: the distinct PSUs per stratum seen in ``totals``.
    method, level, target, lonely_psu
        As for :func:`estimate`.
    fpc : mapping or pandas.Series, optional
        N_h per stratum (population PSUs).

    Returns
    -------
    EstimateResult
    """
    return _from_totals(
        totals,
        psu_counts=psu_counts,
        method=method,
        level=level,
        target=target,
        fpc=fpc,
        lonely_psu=lonely_psu,
    )


def _from_totals(
    totals,
    *,
    psu_counts,
    method,
    level,
    target,
    fpc,
    lonely_psu,
    describe: dict | None = None,
    domains: tuple | None = None,
) -> EstimateResult:
    """``estimate_from_totals`` plus what ``estimate`` knows about the design."""
    if isinstance(totals, PsuTotals):
        psu_counts = totals.psu_counts if psu_counts is None else psu_counts
        domains = totals.domains
        totals = totals.table
    check_options(method, level, target, lonely_psu)
    missing = [c for c in _REQUIRED if c not in totals.columns]
    if missing:
        raise AnalysisInputError("missing from the totals", column=missing[0])
    table = _with_whole_sample(totals)

    ind_code, ind_labels = pd.factorize(table["indicator"], sort=False)
    dom_code, dom_labels = pd.factorize(table["domain"], sort=domains is None)
    if domains is not None:
        dom_labels = pd.Index(domains, dtype=object)
        dom_code = _codes_in(table["domain"], dom_labels)
    n_dom = len(dom_labels) + 1  # slot 0: whole sample
    group_raw = ind_code * n_dom + (dom_code + 1)

    s_code, s_labels = pd.factorize(_single_stratum(table["stratum"]), sort=True)
    label_code, label_uniques = pd.factorize(table["psu"])
    key = s_code.astype(np.int64) * (len(label_uniques) + 1) + label_code
    psu_code, first = factorize_first(key)
    psu_stratum = s_code[first].astype(np.int64)
    n_psu = len(first)
    n_h = _psu_counts(np.bincount(psu_stratum, minlength=len(s_labels)), s_labels, psu_counts)

    cell_code, cells = pd.factorize(group_raw * n_psu + psu_code)
    # Every indicator gets a row for the whole sample and every domain, even one where
    # nobody answered it (n = 0, flagged no_respondents).
    cell_group = np.asarray(cells // n_psu)
    used_groups = np.arange(len(ind_labels) * n_dom)
    sums = _cell_sums(table, cell_code, len(cells))
    f_h = _fpc_factor(fpc, s_labels, n_h)
    gv = group_variance(
        cell_group,
        np.asarray(cells % n_psu),
        psu_stratum,
        n_h,
        sums,
        len(used_groups),
        f_h=f_h,
        lonely_psu=lonely_psu,
        stratum_labels=list(s_labels),
    )
    rows = _rows(gv, used_groups, n_dom, ind_labels, dom_labels, method, level, target)
    lonely = tuple(plain_value(s_labels[i]) for i in np.flatnonzero(n_h == 1))
    info = {"weight": None, "strata": None, "cluster": None, "by": None, "fpc": None}
    info.update(describe or {})
    design = DesignInfo(
        method=method,
        level=level,
        target=target,
        lonely_psu=lonely_psu,
        n_strata=len(n_h),
        n_psu=int(n_h.sum()),
        lonely_strata=lonely,
        calibrated="res_w" in table.columns,
        **info,
    )
    return EstimateResult(rows=rows, design=design)


def _rows(gv, used_groups, n_dom, ind_labels, dom_labels, method, level, target):
    p, var, n, df = gv.estimate, gv.variance, gv.n, gv.df
    empty = n == 0
    ci = proportion_interval(
        np.where(empty, 0.5, p), var, np.maximum(n, 1), df, method=method, level=level
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(ci.degenerate | empty, np.nan, var / (p * (1 - p) / n))
    low, high = np.where(empty, 0.0, ci.low), np.where(empty, 1.0, ci.high)
    verdict = np.where(low >= target, "met", np.where(high < target, "not_met", "undetermined"))
    verdict = np.where(empty, "undetermined", verdict)
    needed = _needed_n(p, n, deff, df, verdict == "undetermined", target, level, method, ~empty)
    dom_labels = [plain_value(x) for x in dom_labels]
    ind_labels = list(ind_labels)
    rows = []
    for i, g in enumerate(used_groups.tolist()):
        ind, dom = divmod(int(g), n_dom)
        flags = []
        if empty[i]:
            flags.append("no_respondents")
        elif ci.degenerate[i]:
            flags.append("all_yes" if p[i] > 0.5 else "all_no")
        if not empty[i]:
            if ci.zero_variance[i]:
                flags.append("zero_variance")
            if ci.df_nonpositive[i]:
                flags.append("df_nonpositive")
            if gv.touches_lonely[i]:
                flags.append("lonely_psu")
            if needed[i] is None and verdict[i] == "undetermined":
                flags.append("never_settles")
        rows.append(
            EstimateRow(
                indicator=ind_labels[ind],
                domain=None if dom == 0 else dom_labels[dom - 1],
                n=int(n[i]),
                estimate=float(p[i]) if not empty[i] else float("nan"),
                se=float(np.sqrt(var[i])) if not empty[i] else float("nan"),
                ci_low=float(low[i]) if not empty[i] else float("nan"),
                ci_high=float(high[i]) if not empty[i] else float("nan"),
                df=int(df[i]),
                deff=float(deff[i]),
                n_eff=float(ci.n_eff[i]) if not empty[i] else 0.0,
                verdict=str(verdict[i]),
                needed_n=needed[i],
                flags=tuple(flags),
            )
        )
    return tuple(rows)


def _needed_n(p, n, deff, df, undetermined, target, level, method, answered):
    """More interviews to settle each undetermined verdict (0 if settled, None if never)."""
    out: list[int | None] = [0] * len(p)
    todo = np.flatnonzero(undetermined & answered)
    if len(todo):
        d = np.where(np.isfinite(deff[todo]) & (deff[todo] > 0), deff[todo], 1.0)
        df_per_n = np.maximum(df[todo], 1) / n[todo]
        total = required_total_n(p[todo], target, d, df_per_n, level, method, n[todo])
        for i, t in zip(todo, total, strict=True):
            out[i] = None if not np.isfinite(t) else max(int(t) - int(n[i]), 1)
    for i in np.flatnonzero(undetermined & ~answered):
        out[i] = None
    return out


def _with_whole_sample(totals: pd.DataFrame) -> pd.DataFrame:
    whole = totals["domain"].isna()
    if whole.any():
        return totals
    derived = totals.assign(domain=None)
    return pd.concat([totals, derived], ignore_index=True)


def _cell_sums(table, cell_code, size):
    def total(col):
        return np.bincount(cell_code, weights=table[col].to_numpy(float), minlength=size)

    sums = {c: total(c) for c in ("n", "sum_w", "sum_wy")}
    if "sum_w2" in table.columns:
        sums["sum_w2"] = total("sum_w2")
    calibrated = "res_w" in table.columns
    sums["res_w"] = total("res_w") if calibrated else sums["sum_w"]
    sums["res_wy"] = total("res_wy") if calibrated else sums["sum_wy"]
    return sums


def _psu_counts(seen: np.ndarray, s_labels, psu_counts) -> np.ndarray:
    """n_h: given, or the distinct PSUs per stratum seen in the totals (``seen``)."""
    if psu_counts is None:
        return seen.astype(np.int64)
    given = pd.Series(psu_counts)
    given.index = _single_stratum(given.index.to_series())
    n_h = np.array([given.get(label, np.nan) for label in s_labels], dtype=float)
    bad = np.flatnonzero(~(n_h >= seen))
    if len(bad):
        raise AnalysisInputError(
            f"psu_counts gives {n_h[bad[0]]} PSUs for stratum {s_labels[bad[0]]!r}, but the "
            f"totals have {seen[bad[0]]} there",
            column="psu",
        )
    return n_h.astype(np.int64)


def _codes_in(values: pd.Series, labels: pd.Index) -> np.ndarray:
    """Position of each value in ``labels`` (-1 if missing); fast for categoricals."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        remap = np.append(labels.get_indexer(values.cat.categories), -1)
        return remap[values.cat.codes.to_numpy()]
    return labels.get_indexer(values)


def _fpc_factor(fpc, s_labels, n_h):
    if fpc is None:
        return None
    given = pd.Series(fpc)
    given.index = _single_stratum(given.index.to_series())
    big_n = np.array([given.get(label, np.nan) for label in s_labels], dtype=float)
    if not np.all(big_n >= n_h):
        raise AnalysisInputError(
            "population PSUs per stratum must be at least the sampled PSUs", column="fpc"
        )
    return (big_n - n_h) / big_n


def _single_stratum(values: pd.Series) -> pd.Series:
    """Stratum labels with a missing label (no strata) made a real one."""
    if not values.isna().any():
        return values
    values = values.astype(object)
    return values.where(values.notna(), SINGLE_STRATUM)
