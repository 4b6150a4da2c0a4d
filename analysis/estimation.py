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
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.intervals import METHODS, proportion_interval
from analysis.planning import required_total_n
from analysis.totals import SINGLE_STRATUM, PsuTotals, _factorize_first, aggregate_totals
from analysis.variance import LONELY_PSU, group_variance

VERDICTS = ("met", "not_met", "undetermined")
_REQUIRED = ("indicator", "domain", "stratum", "psu", "n", "sum_w", "sum_wy")


@dataclass(frozen=True)
class EstimateRow:
    """One indicator in one domain (``domain=None``: the whole sample).

    Attributes
    ----------
    indicator : str
        Indicator name (e.g. ``"满意率"`` or a column name).
    domain : object or None
        Domain label (e.g. community), None for the whole sample.
    n : int
        Respondents in the domain with an answer (0/1) to the indicator.
    estimate : float
        Weighted proportion p̂ = Σwy / Σw (NaN when n = 0).
    se : float
        Taylor-linearised standard error.
    ci_low, ci_high : float
        Confidence interval (method and level in ``EstimateResult.design``).
    df : int
        Design degrees of freedom: PSUs with a respondent in the domain minus the strata
        they are in.
    deff : float
        Design effect V̂ / (p̂(1 − p̂)/n); NaN when p̂ is 0 or 1.
    n_eff : float
        Effective sample size p̂(1 − p̂)/V̂ (n when p̂ is 0 or 1 or V̂ is 0).
    verdict : str
        ``"met"`` (ci_low ≥ target, 达标), ``"not_met"`` (ci_high < target, 未达标) or
        ``"undetermined"`` (待定).
    needed_n : int or None
        More completed interviews that would settle an undetermined verdict at the current
        p̂ and design effect; 0 when settled; None when it can never be settled (then
        ``"never_settles"`` is in ``flags``).
    flags : tuple of str
        Any of ``all_yes``, ``all_no`` (exact Clopper–Pearson interval on n used),
        ``zero_variance``, ``df_nonpositive``, ``lonely_psu``, ``never_settles``,
        ``no_respondents``.
    """

    indicator: str
    domain: object
    n: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: int
    deff: float
    n_eff: float
    verdict: str
    needed_n: int | None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DesignInfo:
    """The design and options behind an :class:`EstimateResult`."""

    weight: str | None
    strata: str | None
    cluster: str | None
    by: str | None
    fpc: str | None
    method: str
    level: float
    target: float
    lonely_psu: str
    n_strata: int
    n_psu: int
    lonely_strata: tuple
    calibrated: bool
    n_rows: int | None = None
    deff_w: float | None = None


@dataclass(frozen=True)
class EstimateResult:
    """Estimates for all indicators and domains."""

    rows: tuple[EstimateRow, ...]
    design: DesignInfo

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (one column per :class:`EstimateRow` field)."""
        return pd.DataFrame([asdict(r) for r in self.rows], columns=list(_ROW_FIELDS))

    def to_dict(self) -> dict:
        """JSON-ready ``{"design": {...}, "results": [...]}`` (NaN becomes None)."""
        return {
            "design": {k: _plain(v) for k, v in asdict(self.design).items()},
            "results": [{k: _plain(getattr(r, k)) for k in _ROW_FIELDS} for r in self.rows],
        }


_ROW_FIELDS = tuple(EstimateRow.__dataclass_fields__)


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
    calibration=None,
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
    _check_data(data, indicators, weight, strata, cluster, by, fpc)
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
    return estimate_from_totals(
        totals.table,
        psu_counts=totals.psu_counts,
        method=method,
        level=level,
        target=target,
        fpc=fpc_map,
        lonely_psu=lonely_psu,
        _describe={
            "weight": weight,
            "strata": strata,
            "cluster": cluster,
            "by": by,
            "fpc": fpc,
            "n_rows": len(data),
            "deff_w": float(len(w) * np.sum(w * w) / np.sum(w) ** 2) if len(w) else None,
        },
        _domains=totals.domains,
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
    _describe: dict | None = None,
    _domains: tuple | None = None,
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
    if isinstance(totals, PsuTotals):
        psu_counts = totals.psu_counts if psu_counts is None else psu_counts
        _domains = totals.domains
        totals = totals.table
    _check_options(method, level, target, lonely_psu)
    missing = [c for c in _REQUIRED if c not in totals.columns]
    if missing:
        raise AnalysisInputError("missing from the totals", column=missing[0])
    table = _with_whole_sample(totals)

    ind_code, ind_labels = pd.factorize(table["indicator"], sort=False)
    dom_code, dom_labels = pd.factorize(table["domain"], sort=_domains is None)
    if _domains is not None:
        dom_labels = pd.Index(_domains, dtype=object)
        dom_code = _codes_in(table["domain"], dom_labels)
    n_dom = len(dom_labels) + 1  # slot 0: whole sample
    group_raw = ind_code * n_dom + (dom_code + 1)

    s_code, s_labels = pd.factorize(_single_stratum(table["stratum"]), sort=True)
    label_code, label_uniques = pd.factorize(table["psu"])
    key = s_code.astype(np.int64) * (len(label_uniques) + 1) + label_code
    psu_code, first = _factorize_first(key)
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
    lonely = tuple(_plain(s_labels[i]) for i in np.flatnonzero(n_h == 1))
    info = {"weight": None, "strata": None, "cluster": None, "by": None, "fpc": None}
    info.update(_describe or {})
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
    dom_labels = [_plain(x) for x in dom_labels]
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


def _check_options(method, level, target, lonely_psu):
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    if not 0 < target < 1:
        raise ValueError(f"target must be between 0 and 1, not {target!r}")
    if lonely_psu not in LONELY_PSU:
        raise ValueError(f"lonely_psu must be one of {', '.join(LONELY_PSU)}, not {lonely_psu!r}")


def _check_data(data, indicators, weight, strata, cluster, by, fpc):
    """Validate respondent data; messages name the column and the 1-based data row."""
    if len(data) == 0:
        raise AnalysisInputError("no data rows")
    for col in [*indicators, weight, strata, cluster, by, fpc]:
        if col is not None and col not in data.columns:
            raise AnalysisInputError("no such column", column=col)
    if not indicators:
        raise AnalysisInputError("give at least one indicator")
    for col in indicators:
        values = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        raw_missing = data[col].isna().to_numpy()
        bad = np.flatnonzero(~raw_missing & ~((values == 0) | (values == 1)))
        if len(bad):
            raise AnalysisInputError(
                f"value {_show(data[col].iloc[bad[0]])} is not 0, 1 or blank",
                column=col,
                row=int(bad[0]) + 1,
            )
    w = pd.to_numeric(data[weight], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(w >= 0) | ~np.isfinite(w))
    if len(bad):
        what = "missing" if pd.isna(data[weight].iloc[bad[0]]) else "not a weight ≥ 0"
        raise AnalysisInputError(
            f"weight is {what}",
            column=weight,
            row=int(bad[0]) + 1,
        )


def _show(value) -> str:
    """A cell value as the user typed it (numbers without numpy's repr)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value) if isinstance(value, str) else str(value)


def _plain(value):
    """numpy scalars to Python, NaN to None (for JSON)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
