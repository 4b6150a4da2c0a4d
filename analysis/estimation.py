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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analysis.errors import AnalysisInputError
from analysis.finite import hypergeometric_interval, unheard_bounds
from analysis.intervals import proportion_interval, verdict_method_for
from analysis.planning import required_total_n
from analysis.results import DesignInfo, EstimateResult, EstimateRow, plain_value
from analysis.totals import (
    SINGLE_STRATUM,
    PsuTotals,
    aggregate_totals,
    cell_blocks,
    factorize_first,
)
from analysis.validate import check_data, check_options
from analysis.variance import group_variance

# pandas is imported in the functions that use it: survey-estimate's path
# (:func:`estimate_coded`) runs without it, and importing it is a third of that command's
# start-up.
if TYPE_CHECKING:
    import pandas as pd

    from analysis.weighting import Calibration

_REQUIRED = ("indicator", "domain", "stratum", "psu", "n", "sum_w", "sum_wy")


def estimate(
    data: pd.DataFrame,
    *,
    indicators: Sequence[str],
    weight: str,
    strata: str | None = None,
    cluster: str | Sequence[str] | None = None,
    by: str | None = None,
    method: str = "korn-graubard",
    level: float = 0.95,
    target: float = 0.99,
    fpc: str | Sequence[str] | None = None,
    lonely_psu: str = "adjust",
    calibration: Calibration | None = None,
    population: str | None = None,
    verdict_method: str | None = None,
    icc: float | Mapping | None = None,
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
    cluster : str or sequence of str, optional
        PSU column (e.g. building), nested in strata. None: each row is its own PSU.
        Two columns give a two-stage design (e.g. ``["building", "household"]``), as R's
        ``ids = ~building + household``; the second stage adds variance only with an
        ``fpc`` for the first.
    by : str, optional
        Domain column (e.g. community). Rows with a missing value count only in the whole
        sample.
    method : {"korn-graubard", "beta", "logit", "wilson", "mean"}
        Interval method (see :mod:`analysis.intervals`).
    level : float
        Confidence level.
    target : float
        Target rate for the verdict.
    fpc : str or sequence of str, optional
        Column with N_h, the number of PSUs in the population of each stratum (R's
        convention); for two stages, a second column with M_j, the second-stage units in
        the population of each PSU.
    lonely_psu : {"adjust", "certainty", "fail"}
        Treatment of strata with a single PSU (see :mod:`analysis.variance`).
    calibration : analysis.weighting.Calibration, optional
        From ``rake``/``poststratify``; ``weight`` should then be the calibrated weights.
        SEs then match R's ``calibrate()``.
    population : str, optional
        Column with the domain's known size N (households in the community; constant
        within a domain; with no ``by``, the whole sample's). Bounds the rate by what the
        unheard households allow, whatever the weights, and, for equal-probability
        samples, gives the exact hypergeometric interval (:mod:`analysis.finite`;
        :func:`finite_rows`).
    verdict_method : str, optional
        The method that decides verdicts (one of ``VERDICT_METHODS``); default ``method``
        when it may decide, else ``"korn-graubard"``.
    icc : float or mapping, optional
        Intra-PSU correlation to use for the verdict's design-effect floor and the
        all-yes rule, instead of the one pooled from the whole sample (per indicator when
        a mapping). See :func:`pooled_deff`.

    Returns
    -------
    EstimateResult

    Raises
    ------
    AnalysisInputError
        Missing column, indicator values other than 0/1/NaN, negative or missing weights,
        blank strata/cluster; the message names the column and the 1-based data row.
    """
    import pandas as pd

    clusters = _columns(cluster, "cluster")
    fpcs = _columns(fpc, "fpc")
    if len(fpcs) > max(len(clusters), 1):
        raise ValueError("give at most one fpc column per stage (cluster)")
    cluster1 = clusters[0] if clusters else None
    cluster2 = clusters[1] if len(clusters) > 1 else None
    fpc1 = fpcs[0] if fpcs else None
    fpc2 = fpcs[1] if len(fpcs) > 1 else None
    if cluster2 is not None and calibration is not None:
        raise ValueError("calibrated weights with a two-stage design are not supported")
    check_data(data, indicators, weight, strata, cluster1, by, fpc1)
    for col in (cluster2, fpc2, population):
        if col is not None and col not in data.columns:
            raise AnalysisInputError("no such column", column=col)
    totals = aggregate_totals(
        data,
        indicators=list(indicators),
        weight=weight,
        strata=strata,
        cluster=cluster1,
        by=by,
        calibration=calibration,
        cluster2=cluster2,
        fpc2=fpc2,
        counts=population is not None,
    )
    fpc_map = None
    if fpc1 is not None:
        key = data[strata] if strata is not None else pd.Series(None, index=data.index)
        fpc_map = pd.Series(data[fpc1].to_numpy(float), index=key).groupby(level=0).first()
        if strata is None:
            fpc_map = pd.Series([float(data[fpc1].iloc[0])], index=totals.psu_counts.index)
    w = data[weight].to_numpy(dtype=float)
    try:
        return _from_totals(
            totals.table,
            psu_counts=totals.psu_counts,
            method=method,
            level=level,
            target=target,
            fpc=fpc_map,
            lonely_psu=lonely_psu,
            population=_population_of(data, population, by),
            verdict_method=verdict_method,
            icc=icc,
            describe={
                "weight": weight,
                "strata": strata,
                "cluster": cluster1,
                "by": by,
                "fpc": fpc1,
                "cluster2": cluster2,
                "fpc2": fpc2,
                "population": population,
                "n_rows": len(data),
                "deff_w": float(len(w) * np.sum(w * w) / np.sum(w) ** 2) if len(w) else None,
            },
            domains=totals.domains,
        )
    except AnalysisInputError as err:
        if err.column != "population" or population is None:
            raise
        raise AnalysisInputError(err.problem, column=population) from None


def estimate_coded(
    column,
    codes,
    *,
    indicators: Sequence[str],
    weight: str,
    strata: str | None = None,
    cluster: str | None = None,
    by: str | None = None,
    method: str = "korn-graubard",
    level: float = 0.95,
    target: float = 0.99,
    lonely_psu: str = "adjust",
    verdict_method: str | None = None,
) -> EstimateResult:
    """:func:`estimate` for data already checked and coded, without pandas: what
    ``survey-estimate`` runs for a one-stage design without fpc or population.

    ``column(name)`` gives a checked column as floats (indicators 0/1/NaN, weights ≥ 0);
    ``codes`` comes from :func:`analysis.totals.codes_from_arrays`. The result is
    :func:`estimate`'s on the same data, to the last bit: the cells are built in the
    order ``estimate_from_totals`` finds them in ``aggregate_totals``' table
    (tests/analysis/test_cli.py compares the two).
    """
    blocks = cell_blocks(column, codes, indicators=list(indicators), weight=weight)
    blocks = [b for b in blocks if len(b[2])]
    present = sorted({k for k, *_ in blocks})  # indicators nobody answered have no cells
    ind_code = {k: i for i, k in enumerate(present)}
    n_dom = len(codes.domain_labels) + 1
    cell_group = np.concatenate(
        [np.full(len(d), ind_code[k] * n_dom) + d + 1 for k, _, d, _ in blocks]
    ).astype(np.int64)
    cell_psu = np.concatenate([p for *_, p in blocks])
    # The strata that have cells, in label order (codes' strata labels are sorted).
    n_strata = len(codes.strata_labels)
    has = np.zeros(n_strata, dtype=bool)
    has[codes.psu_stratum[cell_psu]] = True
    kept = np.flatnonzero(has)
    remap = np.full(n_strata, -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    n_h = np.bincount(codes.psu_stratum, minlength=n_strata)[kept].astype(np.int64)
    names = ("n", "sum_w", "sum_wy", "sum_w2")
    sums = {c: np.concatenate([s[c] for _, s, *_ in blocks]).astype(float) for c in names}
    sums["res_w"], sums["res_wy"] = sums["sum_w"], sums["sum_wy"]
    check_options(method, level, target, lonely_psu)
    w = column(weight)
    return _from_cells(
        cell_group,
        cell_psu,
        remap[codes.psu_stratum],
        n_h,
        sums,
        labels=(
            [indicators[k] for k in present],
            list(codes.domain_labels),
            [codes.strata_labels[i] for i in kept],
        ),
        f_h=None,
        psu_copies=None,
        opts=(
            method,
            level,
            target,
            lonely_psu,
            verdict_method_for(method, verdict_method),
            None,
        ),
        population=None,
        describe={
            "weight": weight,
            "strata": strata,
            "cluster": cluster,
            "by": by,
            "fpc": None,
            "cluster2": None,
            "fpc2": None,
            "population": None,
            "n_rows": len(w),
            "deff_w": float(len(w) * np.sum(w * w) / np.sum(w) ** 2) if len(w) else None,
        },
        calibrated=False,
    )


def _columns(value, name) -> list[str]:
    if value is None:
        return []
    columns = [value] if isinstance(value, str) else list(value)
    if not 1 <= len(columns) <= 2:
        raise ValueError(f"{name}: give one column, or two for a two-stage design")
    return columns


def _population_of(data, column, by) -> dict | None:
    """{domain label (None: whole sample): N} from a column constant within domains."""
    import pandas as pd

    if column is None:
        return None
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(values >= 1) | ~np.isfinite(values) | (values != np.round(values)))
    if len(bad):
        raise AnalysisInputError(
            "population must be a whole number of households ≥ 1",
            column=column,
            row=int(bad[0]) + 1,
        )
    if by is None:
        if np.any(values != values[0]):
            row = int(np.flatnonzero(values != values[0])[0]) + 1
            raise AnalysisInputError("population differs between rows", column=column, row=row)
        return {None: float(values[0])}
    frame = pd.DataFrame({"d": data[by].to_numpy(), "N": values})
    spread = frame.groupby("d", sort=False)["N"].agg(["min", "max"])
    differs = spread.index[spread["min"] != spread["max"]]
    if len(differs):
        row = int(np.flatnonzero((frame["d"] == differs[0]).to_numpy())[-1]) + 1
        raise AnalysisInputError(
            f"population differs within domain {differs[0]!r}", column=column, row=row
        )
    out = spread["min"].to_dict()
    if not frame["d"].isna().any():
        out[None] = float(spread["min"].sum())
    return out


def estimate_from_totals(
    totals: pd.DataFrame | PsuTotals,
    *,
    psu_counts: Mapping | pd.Series | None = None,
    method: str = "korn-graubard",
    level: float = 0.95,
    target: float = 0.99,
    fpc: Mapping | pd.Series | None = None,
    lonely_psu: str = "adjust",
    population: Mapping | pd.Series | None = None,
    verdict_method: str | None = None,
    icc: float | Mapping | None = None,
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
        Optional ``sum_y``: the respondents who answered yes, unweighted (needed for the
        bounds a known ``population`` sets when the weights differ within a domain;
        without it they are found only where the weights are equal, as n·p̂).
        Optional ``copies`` (a whole number ≥ 1, the same on every row of a PSU label):
        the label stands for that many PSUs of its stratum, alike in every column (each
        with the row's sums), so that identical PSUs — e.g. households of one weight and
        one answer pattern — are one row, not many. Results are those of the expanded
        table (the variance needs only Σz and Σz² per stratum and n_h).
    psu_counts : mapping or pandas.Series, optional
        n_h, PSUs per stratum in the whole sample *including PSUs with nobody in a
        domain*. Default: the distinct PSUs per stratum seen in ``totals``.
    method, level, target, lonely_psu
        As for :func:`estimate`.
    fpc : mapping or pandas.Series, optional
        N_h per stratum (population PSUs).
    population : mapping or pandas.Series, optional
        Households per domain, N (key None: the whole sample; default the sum over the
        domains when every domain has one). See :func:`estimate`.
    verdict_method, icc : optional
        As for :func:`estimate`.

    Returns
    -------
    EstimateResult

    Notes
    -----
    Two-stage designs: the optional columns ``ssu_aa, ssu_ab, ssu_bb`` (Σ over the
    second-stage units k of the cell of a_k², a_k·b_k, b_k² with a = Σwy, b = Σw),
    ``ssu_n`` (m_j: second-stage units sampled in the PSU, whole sample) and ``ssu_pop``
    (M_j) add the within-PSU variance (:func:`analysis.variance.group_variance`).
    """
    if population is not None:
        population = dict(population)
        if None not in population and len(population):
            population[None] = float(sum(population.values()))
    return _from_totals(
        totals,
        psu_counts=psu_counts,
        method=method,
        level=level,
        target=target,
        fpc=fpc,
        lonely_psu=lonely_psu,
        population=population,
        verdict_method=verdict_method,
        icc=icc,
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
    population=None,
    verdict_method=None,
    icc=None,
    describe: dict | None = None,
    domains: tuple | None = None,
) -> EstimateResult:
    """``estimate_from_totals`` plus what ``estimate`` knows about the design."""
    import pandas as pd

    if isinstance(totals, PsuTotals):
        psu_counts = totals.psu_counts if psu_counts is None else psu_counts
        domains = totals.domains
        totals = totals.table
    check_options(method, level, target, lonely_psu)
    verdict_method = verdict_method_for(method, verdict_method)
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
    psu_copies = _psu_copies(table, psu_code, first)
    seen = np.bincount(psu_stratum, weights=psu_copies, minlength=len(s_labels))
    n_h = _psu_counts(seen.round().astype(np.int64), s_labels, psu_counts)

    cell_code, cells = pd.factorize(group_raw * n_psu + psu_code)
    return _from_cells(
        np.asarray(cells // n_psu),
        np.asarray(cells % n_psu),
        psu_stratum,
        n_h,
        _cell_sums(table, cell_code, len(cells)),
        labels=(list(ind_labels), dom_labels, s_labels),
        f_h=_fpc_factor(fpc, s_labels, n_h),
        psu_copies=psu_copies,
        opts=(method, level, target, lonely_psu, verdict_method, icc),
        population=population,
        describe=describe,
        calibrated="res_w" in table.columns,
    )


def _from_cells(
    cell_group, cell_psu, psu_stratum, n_h, sums, *, labels, f_h, psu_copies, opts,
    population, describe, calibrated,
) -> EstimateResult:  # fmt: skip
    """The estimates from (group, PSU) cells — the part of ``estimate_from_totals`` after
    the labels are coded, without pandas (survey-estimate comes here directly).

    ``cell_group`` is indicator × (1 + domains) + (domain + 1) (0: whole sample),
    ``cell_psu`` a PSU number, ``sums`` the cell sums; ``labels`` = (indicator labels,
    domain labels, stratum labels) in code order.
    """
    method, level, target, lonely_psu, verdict_method, icc = opts
    ind_labels, dom_labels, s_labels = labels
    n_dom = len(dom_labels) + 1
    # Every indicator gets a row for the whole sample and every domain, even one where
    # nobody answered it (n = 0, flagged no_respondents).
    used_groups = np.arange(len(ind_labels) * n_dom)
    gv = group_variance(
        cell_group,
        cell_psu,
        psu_stratum,
        n_h,
        sums,
        len(used_groups),
        f_h=f_h,
        lonely_psu=lonely_psu,
        stratum_labels=list(s_labels),
        copies=None if psu_copies is None else psu_copies[cell_psu],
    )
    yes_counts = None
    if population is not None and "sum_y" in sums:  # unweighted yes per group
        cell_yes = sums["sum_y"]
        if psu_copies is not None:
            cell_yes = cell_yes * psu_copies[cell_psu]
        yes_counts = np.bincount(cell_group, weights=cell_yes, minlength=len(used_groups))
    pop_codes = None
    if population is not None:
        pop_codes = {0: population[None]} if None in population else {}
        for k, label in enumerate(dom_labels):
            if label in population:
                pop_codes[k + 1] = population[label]
    opts = (method, level, target, verdict_method, icc)
    rows = _rows(gv, used_groups, n_dom, ind_labels, dom_labels, opts, (pop_codes, yes_counts))
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
        calibrated=calibrated,
        verdict_method=verdict_method,
        **info,
    )
    return EstimateResult(rows=rows, design=design)


def _rows(gv, used_groups, n_dom, ind_labels, dom_labels, opts, finite):
    """One :class:`EstimateRow` per group: interval, verdict and what decided it.

    ``finite``: (population N per domain code or None, unweighted yes per group or None).
    """
    method, level, target, verdict_method, icc = opts
    population, yes_counts = finite
    p, var, n, df = gv.estimate, gv.variance, gv.n, gv.df
    empty = n == 0
    q = np.where(empty, 0.5, p)
    n1 = np.maximum(n, 1)
    fallback, source = pooled_deff(gv, used_groups, n_dom, list(ind_labels), icc)
    # The verdict's interval uses at least the wave's pooled design effect: from 8–12
    # buildings a domain's own V̂ is often far too small near 99% (the few "no" answers
    # sit in one or two buildings), and the Monte Carlo showed 5–11% false 达标 without it.
    floor_var = fallback * q * (1 - q) / n1
    floored = ~empty & (floor_var > var) & (var > 0)
    v_var = np.where(floored, floor_var, var)
    vci = proportion_interval(
        q, v_var, n1, df, method=verdict_method, level=level, deff_fallback=fallback
    )
    ci = vci
    if verdict_method != method:
        ci = proportion_interval(q, var, n1, df, method=method, level=level, deff_fallback=fallback)
    else:
        floored_shown = floored
    if verdict_method != method:
        floored_shown = np.zeros_like(floored)
    var = np.where(ci.zero_variance, 0.0, var)  # a rounding error is zero
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(ci.degenerate | empty, np.nan, var / (p * (1 - p) / n))
    low, high = np.where(empty, 0.0, ci.low), np.where(empty, 1.0, ci.high)
    v_low, v_high = np.where(empty, 0.0, vci.low), np.where(empty, 1.0, vci.high)
    why = np.where(ci.degenerate, "all_yes_df", "interval").astype(object)

    fin = finite_rows(gv, used_groups, n_dom, population, level, yes_counts)
    if fin is not None:
        # The interval, shown and the verdict's, clipped into what the unheard households
        # allow (the exact interval where it applies): a verdict the bounds settle is
        # settled whatever the interval says, and one the interval settles stays so.
        use = fin.counts & ~empty
        new = []
        for lo_, hi_ in ((low, high), (v_low, v_high)):
            nl = np.where(fin.exact, fin.exact_low, np.clip(lo_, fin.if_no, fin.if_yes))
            nh = np.where(fin.exact, fin.exact_high, np.clip(hi_, fin.if_no, fin.if_yes))
            new.append((np.where(use, nl, lo_), np.where(use, nh, hi_)))
        (low, high), (v_low, v_high) = new
        certain = (fin.if_no >= target) | (fin.if_yes < target)
        why = np.where(use & (fin.exact | certain), "exact_finite", why)

    verdict = np.where(v_low >= target, "met", np.where(v_high < target, "not_met", "undetermined"))
    verdict = np.where(empty, "undetermined", verdict)
    d_now = np.where(ci.degenerate | ci.zero_variance, fallback, deff)
    pop_arr = None if fin is None else np.where(fin.known, fin.population, np.nan)
    need = _needed_n(
        p,
        n,
        d_now,
        df,
        verdict == "undetermined",
        ~empty,
        pop_arr,
        gv.max_cell_n > 1,
        (target, level, verdict_method),
    )
    with np.errstate(divide="ignore", invalid="ignore"):  # the domain's own, unfloored
        n_eff = np.where(ci.degenerate | ci.zero_variance, ci.n_eff, q * (1 - q) / var)
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
            if need.status[i] == "never":
                flags.append("never_settles")
            if need.status[i] == "beyond_population":
                flags.append("beyond_population")
        known = fin is not None and bool(fin.known[i])
        uses_fallback = (
            bool(ci.degenerate[i] or ci.zero_variance[i] or floored_shown[i]) and not empty[i]
        )
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
                n_eff=float(n_eff[i]) if not empty[i] else 0.0,
                verdict=str(verdict[i]),
                needed_n=need.any[i],
                flags=tuple(flags),
                why=None if empty[i] else str(why[i]),
                verdict_method=verdict_method,
                verdict_low=float(v_low[i]) if not empty[i] else float("nan"),
                verdict_high=float(v_high[i]) if not empty[i] else float("nan"),
                finite_population=known and not empty[i],
                population=int(fin.population[i]) if known else None,
                rate_if_unheard_no=float(fin.if_no[i]) if known and fin.counts[i] else None,
                rate_if_unheard_yes=float(fin.if_yes[i]) if known and fin.counts[i] else None,
                deff_used=float(fallback[i]) if uses_fallback else float("nan"),
                deff_source=str(source[i]) if uses_fallback else None,
                needed_n_met=need.met[i],
                needed_n_not_met=need.not_met[i],
                needed_status=str(need.status[i]),
            )
        )
    return tuple(rows)


def pooled_deff(gv, used_groups, n_dom, ind_labels, icc=None):
    """A design effect that does not collapse to 0 where a domain's own variance is silent.

    For each indicator, the intra-PSU correlation is pooled from its whole-sample row:
    ρ̂ = (deff_wave / deff_w,wave − 1) / (m̄_wave − 1), with m̄ the respondents per PSU and
    deff_w Kish's weighting effect (1 when Σw² is not known), and floored at 0. A domain
    then gets deff = max(1, deff_w · (1 + (m̄ − 1) ρ̂)). When the indicator is all yes (or
    all no) in the whole sample as well, the largest ρ̂ of the other indicators is used;
    when there is none, ρ̂ = 0. ``icc`` (a number, or a mapping indicator → number)
    replaces ρ̂ where given (source ``"given"``): a page that estimates one community can
    pass its wave's. Returns (deff per group, source per group).
    """
    n_ind = len(ind_labels)
    p, var, n = gv.estimate, gv.variance, gv.n.astype(float)
    psus = gv.psus_in if gv.psus_in is not None else n
    with np.errstate(divide="ignore", invalid="ignore"):
        m_bar = np.where(psus > 0, n / psus, 1.0)
        kish = n * gv.sum_w2 / gv.sum_w**2
        kish = np.where(np.isfinite(kish) & (kish >= 1), kish, 1.0)
        own = var / (p * (1 - p) / n)
        rho = (own / kish - 1) / (m_bar - 1)
    ind = used_groups // n_dom
    whole = np.flatnonzero(used_groups % n_dom == 0)
    usable = (
        (p > 1e-12)
        & (p < 1 - 1e-12)
        & (var > 1e-10 * p * (1 - p) / np.maximum(n, 1))
        & (m_bar > 1 + 1e-9)
        & np.isfinite(rho)
    )
    rho_ind = np.full(n_ind, np.nan)
    for g in whole:
        if usable[g]:
            rho_ind[ind[g]] = max(rho[g], 0.0)
    source_ind = np.where(np.isfinite(rho_ind), "wave", "none").astype(object)
    if np.isfinite(rho_ind).any():
        other = np.nanmax(rho_ind)
        source_ind = np.where(np.isfinite(rho_ind), source_ind, "wave_other_indicators")
        rho_ind = np.where(np.isfinite(rho_ind), rho_ind, other)
    rho_ind = np.where(np.isfinite(rho_ind), rho_ind, 0.0)
    if icc is not None:
        given = icc if isinstance(icc, Mapping) else dict.fromkeys(ind_labels, icc)
        for k, label in enumerate(ind_labels):
            value = given.get(label)
            if value is not None and np.isfinite(value) and value >= 0:
                rho_ind[k] = float(value)
                source_ind[k] = "given"
    deff = np.maximum(1.0, kish * (1 + (m_bar - 1) * rho_ind[ind]))
    return deff, source_ind[ind]


@dataclass(frozen=True)
class _Finite:
    known: np.ndarray  # N given for the group
    population: np.ndarray
    counts: np.ndarray  # yes is known as a count of households
    if_no: np.ndarray
    if_yes: np.ndarray
    exact: np.ndarray  # the hypergeometric interval applies
    exact_low: np.ndarray
    exact_high: np.ndarray


def finite_rows(gv, used_groups, n_dom, population, level, yes_counts=None):
    """What a known population size N says about each group (None when none is known).

    ``yes_counts`` (per group, the respondents who answered yes, unweighted: the totals'
    ``sum_y``) makes the bounds known whatever the weights: the rate of all N households
    lies in [yes/N, (yes + N − n)/N]. Without it, yes = n·p̂ is a count of households
    only where the weights in the group are equal. If, besides, the weights are equal and
    the sample is an equal-probability sample of households — no clustering inside the
    group (one respondent per PSU), or every PSU of its strata taken (fpc:
    1 − n_h/N_h = 0) — the hypergeometric interval is exact
    (:func:`analysis.finite.hypergeometric_interval`).
    """
    if population is None:
        return None
    big_n = np.asarray([population.get(int(g % n_dom), np.nan) for g in used_groups], float)
    known = np.isfinite(big_n) & (big_n > 0)
    if not known.any():
        return None
    n = gv.n.astype(float)
    too_many = np.flatnonzero(known & (n > big_n))
    if len(too_many):
        i = too_many[0]
        raise AnalysisInputError(
            f"{int(n[i])} respondents but a population of {int(big_n[i])} households",
            column="population",
        )
    with np.errstate(invalid="ignore"):
        same_w = (gv.w_per_n_max - gv.w_per_n_min) <= 1e-9 * np.abs(gv.w_per_n_max)
    if yes_counts is None:
        yes = gv.estimate * n
        whole = same_w
    else:
        yes = np.asarray(yes_counts, dtype=float)
        whole = (yes >= -1e-6) & (yes <= n + 1e-6)
    with np.errstate(invalid="ignore"):
        counts = known & (n > 0) & whole & (np.abs(yes - np.round(yes)) < 1e-6)
    yes = np.where(counts, np.round(yes), 0.0)
    pop = np.where(known, big_n, 1.0)
    if_no, if_yes = unheard_bounds(yes, np.where(counts, n, 0), pop)
    one_each = gv.max_cell_n <= 1
    exact = counts & same_w & (one_each | gv.all_psus_taken)
    e_low, e_high = np.zeros(len(n)), np.ones(len(n))
    if exact.any():
        lo, hi = hypergeometric_interval(yes[exact], n[exact], big_n[exact], level=level)
        e_low[exact], e_high[exact] = lo, hi
    return _Finite(known, np.where(known, big_n, 0), counts, if_no, if_yes, exact, e_low, e_high)


@dataclass(frozen=True)
class _Needed:
    any: list
    met: list
    not_met: list
    status: list


def _needed_n(p, n, deff, df, undetermined, answered, population, clustered, opts):
    """More interviews to settle each undetermined verdict, in p̂'s direction.

    Where PSUs hold several respondents (``clustered``) the df stay as they are — more
    interviews come from the same buildings —; otherwise they grow with n.
    """
    target, level, method = opts
    size = len(p)
    out_any: list[int | None] = [None] * size
    met: list[int | None] = [None] * size
    not_met: list[int | None] = [None] * size
    status = np.where(answered, "settled", "no_respondents").astype(object)
    todo = np.flatnonzero(undetermined & answered)
    if len(todo):
        d = np.where(np.isfinite(deff[todo]) & (deff[todo] > 0), deff[todo], 1.0)
        df_per_n = np.maximum(df[todo], 1) / n[todo]
        df_fixed = np.where(clustered[todo], df[todo], np.nan)
        pop = None if population is None else population[todo]
        total = required_total_n(
            p[todo], target, d, df_per_n, level, method, n[todo], population=pop, df_fixed=df_fixed
        )
        for k, i in enumerate(todo):
            if not np.isfinite(total[k]):
                beyond = pop is not None and np.isfinite(pop[k]) and p[i] != target
                status[i] = "beyond_population" if beyond else "never"
                continue
            more = max(int(total[k]) - int(n[i]), 1)
            out_any[i] = more
            (met if p[i] > target else not_met)[i] = more
            status[i] = "more"
    return _Needed(out_any, met, not_met, list(status))


def _with_whole_sample(totals: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    whole = totals["domain"].isna()
    if whole.any():
        return totals
    derived = totals.assign(domain=None)
    return pd.concat([totals, derived], ignore_index=True)


def _cell_sums(table, cell_code, size):
    def total(col):
        return np.bincount(cell_code, weights=table[col].to_numpy(float), minlength=size)

    sums = {c: total(c) for c in ("n", "sum_w", "sum_wy")}
    for c in ("sum_w2", "sum_y"):
        if c in table.columns:
            sums[c] = total(c)
    calibrated = "res_w" in table.columns
    sums["res_w"] = total("res_w") if calibrated else sums["sum_w"]
    sums["res_wy"] = total("res_wy") if calibrated else sums["sum_wy"]
    if "ssu_aa" in table.columns:
        for c in ("ssu_aa", "ssu_ab", "ssu_bb"):
            sums[c] = total(c)
        for c in ("ssu_n", "ssu_pop"):  # per PSU, the same on each of its rows
            out = np.full(size, np.nan)
            np.fmax.at(out, cell_code, table[c].to_numpy(float))
            sums[c] = out
    return sums


def _psu_copies(table, psu_code, first) -> np.ndarray | None:
    """Per PSU label, how many PSUs it stands for (the ``copies`` column), or None."""
    if "copies" not in table.columns:
        return None
    copies = table["copies"].to_numpy(float)
    bad = np.flatnonzero(~((copies >= 1) & (copies == np.floor(copies))))
    if len(bad):
        raise AnalysisInputError("copies must be a whole number ≥ 1", column="copies",
                                 row=int(bad[0]) + 1)  # fmt: skip
    per_psu = copies[first]
    differs = np.flatnonzero(copies != per_psu[psu_code])
    if len(differs):
        raise AnalysisInputError("copies differs between the rows of one PSU", column="copies",
                                 row=int(differs[0]) + 1)  # fmt: skip
    return per_psu


def _psu_counts(seen: np.ndarray, s_labels, psu_counts) -> np.ndarray:
    """n_h: given, or the distinct PSUs per stratum seen in the totals (``seen``)."""
    import pandas as pd

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
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        remap = np.append(labels.get_indexer(values.cat.categories), -1)
        return remap[values.cat.codes.to_numpy()]
    return labels.get_indexer(values)


def _fpc_factor(fpc, s_labels, n_h):
    import pandas as pd

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
