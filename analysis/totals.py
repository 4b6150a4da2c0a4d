"""Aggregate respondent rows to per-(indicator, domain, stratum, PSU) sums.

These sums are sufficient for everything :func:`analysis.estimate_from_totals` reports:

``n``
    respondents with an answer (0 or 1) to the indicator;
``sum_w``, ``sum_wy``
    Σw and Σw·y over them: p̂ = Σ sum_wy / Σ sum_w and the PSU score totals
    z_hj = (sum_wy − p̂·sum_w) / Σw;
``sum_w2``
    Σw² (Kish's weighting effect per domain; not needed for the variance);
``sum_y`` (only when asked: ``counts=True``)
    Σy, the respondents who answered yes, unweighted: with the domain's population N
    known, the rate of all N households lies in [Σy/N, (Σy + N − n)/N] whatever the
    weights (:mod:`analysis.finite`);
``res_w``, ``res_wy`` (only for calibrated weights)
    the same two sums of the calibration residuals (see :mod:`analysis.calibration`),
    which replace ``sum_w`` and ``sum_wy`` in z_hj. They may be non-zero in PSUs with
    nobody in the domain, so such rows appear with ``n = 0``.

Rows with ``domain`` missing (None) hold the whole sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analysis.errors import AnalysisInputError

# pandas is imported where it is used: survey-estimate sums dictionary-encoded columns
# without it (:func:`cell_blocks`), and importing pandas is a third of its start-up.
if TYPE_CHECKING:
    import pandas as pd

    from analysis.weighting import Calibration

#: Stratum label of a design without strata.
SINGLE_STRATUM = "(one stratum)"
TOTALS_COLUMNS = ("indicator", "domain", "stratum", "psu", "n", "sum_w", "sum_wy", "sum_w2")


@dataclass(frozen=True)
class PsuTotals:
    """Per-PSU sums and the design facts that go with them.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``indicator, domain, stratum, psu, n, sum_w, sum_wy, sum_w2``, with
        ``counts=True`` also ``sum_y`` and, for calibrated weights, ``res_w, res_wy``. ``domain`` is None for the whole sample.
    psu_counts : pandas.Series
        n_h: PSUs per stratum in the whole sample (index: stratum).
    domains : tuple
        Domain labels in output order (sorted).
    """

    table: pd.DataFrame
    psu_counts: pd.Series
    domains: tuple


@dataclass(frozen=True)
class _Codes:
    stratum: np.ndarray  # per row
    psu: np.ndarray  # per row, global PSU number
    psu_stratum: np.ndarray  # per PSU
    strata_labels: pd.Index  # (or any sequence of labels: survey-estimate's arrays)
    psu_labels: pd.Index  # unique PSU labels (a label may recur in several strata)
    psu_label: np.ndarray  # per PSU, its label's code
    domain: np.ndarray  # per row, -1 when outside every domain
    domain_labels: pd.Index
    psu_first: np.ndarray | None = None  # per PSU, its first row


def design_codes(
    data: pd.DataFrame, *, strata: str | None, cluster: str | None, by: str | None
) -> _Codes:
    """Integer codes for strata, PSUs (nested in strata) and domains."""
    import pandas as pd

    n = len(data)
    if strata is None:
        s_code, s_labels = np.zeros(n, dtype=np.int64), pd.Index([SINGLE_STRATUM], dtype=object)
    else:
        s_code, s_labels = pd.factorize(data[strata], sort=True)
        _no_blanks(s_code, strata)
    if cluster is None:
        psu = np.arange(n, dtype=np.int64)
        psu_labels, psu_label = pd.RangeIndex(1, n + 1), psu
        psu_stratum, psu_first = s_code, psu
    else:
        c_code, c_labels = pd.factorize(data[cluster])
        _no_blanks(c_code, cluster)
        psu, psu_stratum, psu_label, psu_first = nest_psus(s_code, c_code, len(c_labels))
        psu_labels = pd.Index(c_labels)
    if by is None:
        d_code, d_labels = np.full(n, -1, dtype=np.int64), pd.Index([])
    else:
        d_code, d_labels = pd.factorize(data[by], sort=True)
    return _Codes(
        s_code, psu, psu_stratum, s_labels, psu_labels, psu_label, d_code, d_labels, psu_first
    )


def nest_psus(s_code, c_code, n_labels, label_first=None):
    """PSUs nested in strata from stratum and PSU-label codes (numbered in order of first
    appearance): per row the PSU number in order of first appearance; per PSU its stratum,
    its label's code and its first row. ``label_first``: each label's first row, if known.
    """
    if label_first is None:
        label_first = np.full(n_labels, len(c_code), dtype=np.int64)
        np.minimum.at(label_first, c_code, np.arange(len(c_code)))
    label_stratum = s_code[label_first]
    if np.array_equal(label_stratum[c_code], s_code):
        # Every label in one stratum (the usual case): the PSUs are the labels, in the
        # same order; no (stratum, label) key to number (0.5 s at 10,000,000 rows).
        return c_code, label_stratum, np.arange(n_labels), label_first
    key = s_code.astype(np.int64) * (n_labels + 1) + c_code
    psu, first = factorize_first(key)
    return psu, s_code[first], c_code[first], first


def codes_from_arrays(
    n: int,
    strata: tuple[np.ndarray, list] | None,
    cluster: tuple[np.ndarray, list] | None,
    by: tuple[np.ndarray, list] | None,
) -> _Codes:
    """:class:`_Codes` from codes already made (survey-estimate's dictionary-encoded
    columns): each of ``strata``, ``by`` is (codes ≥ 0 per row, labels) with the labels
    sorted; ``cluster`` is (codes, labels) numbered in order of first appearance — what
    :func:`design_codes` gets from ``pandas.factorize``, so the sums come out identical."""
    if strata is None:
        s_code, s_labels = np.zeros(n, dtype=np.int8), [SINGLE_STRATUM]
    else:
        s_code, s_labels = strata
    if cluster is None:
        psu = np.arange(n, dtype=np.int64)
        psu_labels, psu_label, psu_stratum, psu_first = range(1, n + 1), psu, s_code, psu
    else:
        c_code, psu_labels, *first = cluster
        psu, psu_stratum, psu_label, psu_first = nest_psus(
            s_code, c_code, len(psu_labels), first[0] if first else None
        )
        psu = psu.astype(np.intp, copy=False)  # once: np.bincount would convert it each time
    if by is None:
        d_code, d_labels = np.full(n, -1, dtype=np.int8), []
    else:
        d_code, d_labels = by
    return _Codes(
        s_code, psu, psu_stratum, s_labels, psu_labels, psu_label, d_code, d_labels, psu_first
    )


def aggregate_totals(
    data: pd.DataFrame,
    *,
    indicators: list[str] | tuple[str, ...],
    weight: str,
    strata: str | None = None,
    cluster: str | None = None,
    by: str | None = None,
    calibration: Calibration | None = None,
    cluster2: str | None = None,
    fpc2: str | None = None,
    counts: bool = False,
) -> PsuTotals:
    """Sum respondent rows to PSU totals per indicator and domain (one grouped pass).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent. Indicator values 0/1; NaN means "not asked / not
        applicable" and leaves the row out of that indicator.
    indicators, weight, strata, cluster, by
        Column names, as for :func:`analysis.estimate`.
    calibration : Calibration, optional
        From :func:`analysis.weighting.rake` / ``poststratify``; adds ``res_w, res_wy``.
    cluster2, fpc2 : str, optional
        Second-stage units (nested in the PSUs) and their population count per PSU: adds
        ``ssu_aa, ssu_ab, ssu_bb, ssu_n, ssu_pop`` (see
        :func:`analysis.estimate_from_totals`).
    counts : bool
        Also ``sum_y``, the unweighted yes count per cell (one more pass per indicator;
        :func:`analysis.estimate` asks for it when the population N is given).

    Returns
    -------
    PsuTotals
    """
    import pandas as pd

    codes = design_codes(data, strata=strata, cluster=cluster, by=by)
    in_dom = codes.domain >= 0
    stage2 = None
    if cluster2 is not None:
        _, pair = _pairs(codes, in_dom)
        stage2 = _Stage2(data, codes, cluster2, fpc2, in_dom, pair)
    blocks = cell_blocks(
        lambda name: data[name].to_numpy(dtype=float),
        codes,
        indicators=indicators,
        weight=weight,
        calibration=calibration,
        stage2=stage2,
        counts=counts,
    )
    frames = [_frame(k, indicators, s, d, p, codes) for k, s, d, p in blocks]
    table = pd.concat(frames, ignore_index=True)
    counts = np.bincount(codes.psu_stratum, minlength=len(codes.strata_labels))
    psu_counts = pd.Series(counts, index=codes.strata_labels, name="n_h")
    return PsuTotals(table=table, psu_counts=psu_counts, domains=tuple(codes.domain_labels))


def _pairs(codes: _Codes, in_dom: np.ndarray):
    """(domain, PSU) pairs of the rows in a domain: (the pairs' codes, per row in a domain)."""
    n_psu = len(codes.psu_label)
    domain, psu = codes.domain, codes.psu
    if not in_dom.all():
        domain, psu = domain[in_dom], psu[in_dom]
    elif codes.psu_first is not None and np.array_equal(
        domain[codes.psu_first][psu], domain
    ):  # fmt: skip
        # Every PSU in one domain (buildings in a community): the pairs are the PSUs, in
        # the same order (PSUs are numbered in order of first appearance).
        return codes.psu_first, psu
    pair, first = factorize_first(domain.astype(np.int64) * n_psu + psu)
    return first, pair


def cell_blocks(column, codes: _Codes, *, indicators, weight, calibration=None,
                stage2=None, counts=False) -> list:  # fmt: skip
    """The sums of :func:`aggregate_totals` as arrays, one block per indicator and kind
    (domain × PSU, whole sample × PSU): ``[(indicator position, sums, domain code (-1:
    whole sample), PSU number), ...]``, cells with nobody left out. ``column(name)``
    gives a column as floats (NaN: blank). No pandas unless calibrated."""
    w = column(weight)
    n_psu = len(codes.psu_label)
    in_dom = codes.domain >= 0
    everyone_in = bool(in_dom.all())

    def dom(values):  # rows in a domain; no copy when every row is in one (the usual case)
        return values if everyone_in else values[in_dom]

    first, pair = _pairs(codes, in_dom)
    pair_psu = dom(codes.psu)[first]
    pair_dom = dom(codes.domain)[first]
    w_dom = dom(w)
    psu_index = np.arange(n_psu)
    n_dom = len(codes.domain_labels)

    blocks = []
    complete = None  # Σ1, Σw, Σw² per pair are shared by indicators answered by everyone
    for position, name in enumerate(indicators):
        y = column(name)
        valid = ~np.isnan(y)
        everyone = bool(valid.all())
        wv = w if everyone else np.where(valid, w, 0.0)
        wy = np.multiply(w, y)
        if not everyone:
            wy[~valid] = 0.0
        if everyone and complete is not None:
            pair_sums = dict(complete, sum_wy=np.bincount(pair, dom(wy), len(first)))
        else:
            pair_sums = _sums(pair, len(first), dom(wv), dom(wy), dom(valid), w_dom)
            if everyone:
                complete = pair_sums
        yes = None
        if counts:
            yes = y if everyone else np.where(valid, y, 0.0)
            pair_sums = dict(pair_sums, sum_y=np.bincount(pair, dom(yes), len(first)))
        # The whole sample per PSU: the domain sums added up, plus rows in no domain.
        whole = {c: np.bincount(pair_psu, weights=v, minlength=n_psu) for c, v in pair_sums.items()}
        if not everyone_in:
            out = ~in_dom
            rest = _sums(codes.psu[out], n_psu, wv[out], wy[out], valid[out], w[out])
            if yes is not None:
                rest["sum_y"] = np.bincount(codes.psu[out], yes[out], n_psu)
            whole = {c: whole[c] + rest[c] for c in whole}
        whole["n"] = whole["n"].round().astype(np.int64)
        if stage2 is not None:
            pair_sums = dict(pair_sums, **stage2.domain_sums(wv, wy, len(first), pair_psu))
            whole.update(stage2.whole_sums(wv, wy))
        sums = [pair_sums, whole]
        dom_of = [pair_dom, np.full(n_psu, -1)]
        psu_of = [pair_psu, psu_index]
        if calibration is not None:
            from analysis.calibration import residual_totals

            extra = residual_totals(
                calibration, w, valid, wy, codes.domain, codes.psu, n_dom, n_psu
            )
            sums, dom_of, psu_of = _merge_residuals(sums, dom_of, psu_of, extra, n_dom)
        for s, d, p in zip(sums, dom_of, psu_of, strict=True):
            keep = (s["n"] > 0) | (s.get("res_w", s["n"]) != 0) | (s.get("res_wy", s["n"]) != 0)
            blocks.append((position, {k: v[keep] for k, v in s.items()}, d[keep], p[keep]))
    return blocks


class _Stage2:
    """Second-stage units (SSUs) nested in PSUs: the within-PSU sums of a two-stage design."""

    def __init__(self, data, codes, column, fpc, in_dom, pair):
        import pandas as pd

        c_code, c_labels = pd.factorize(data[column])
        _no_blanks(c_code, column)
        key = codes.psu.astype(np.int64) * (len(c_labels) + 1) + c_code
        self.ssu, first = factorize_first(key)
        self.ssu_psu = codes.psu[first]
        n_psu = len(codes.psu_label)
        self.m = np.bincount(self.ssu_psu, minlength=n_psu).astype(float)
        self.big_m = np.full(n_psu, np.inf)
        if fpc is not None:
            big = pd.to_numeric(data[fpc], errors="coerce").to_numpy(float)
            self.big_m = np.full(n_psu, np.nan)
            self.big_m[codes.psu[first]] = big[first]
            bad = np.flatnonzero(~(self.big_m >= self.m))
            if len(bad):
                row = int(np.flatnonzero(codes.psu == bad[0])[0]) + 1
                raise AnalysisInputError(
                    "population second-stage units must be at least the sampled ones",
                    column=fpc,
                    row=row,
                )
        self.in_dom = in_dom
        dom_key = pair.astype(np.int64) * (len(first) + 1) + self.ssu[in_dom]
        self.dom_ssu, dom_first = factorize_first(dom_key)
        self.dom_ssu_pair = pair[dom_first]

    def _squares(self, group, a_b, target, size):
        a = np.bincount(group, weights=a_b[0])
        b = np.bincount(group, weights=a_b[1])
        return {
            "ssu_aa": np.bincount(target, weights=a * a, minlength=size),
            "ssu_ab": np.bincount(target, weights=a * b, minlength=size),
            "ssu_bb": np.bincount(target, weights=b * b, minlength=size),
        }

    def domain_sums(self, wv, wy, size, pair_psu):
        wv_d, wy_d = wv[self.in_dom], wy[self.in_dom]
        out = self._squares(self.dom_ssu, (wy_d, wv_d), self.dom_ssu_pair, size)
        out["ssu_n"] = self.m[pair_psu]
        out["ssu_pop"] = self.big_m[pair_psu]
        return out

    def whole_sums(self, wv, wy):
        size = len(self.m)
        out = self._squares(self.ssu, (wy, wv), self.ssu_psu, size)
        out["ssu_n"] = self.m
        out["ssu_pop"] = self.big_m
        return out


def _sums(group, size, wv, wy, valid, w):
    valid_rows = valid if valid.all() else None
    return {
        "n": (
            np.bincount(group, minlength=size)
            if valid_rows is not None
            else np.bincount(group, weights=valid, minlength=size).astype(np.int64)
        ),
        "sum_w": np.bincount(group, weights=wv, minlength=size),
        "sum_wy": np.bincount(group, weights=wy, minlength=size),
        "sum_w2": np.bincount(group, weights=wv * w, minlength=size),
    }


def _merge_residuals(sums, dom_of, psu_of, extra, n_dom):
    """Put calibration residual sums next to the plain sums, on the union of their cells."""
    import pandas as pd

    out_s, out_d, out_p = [], [], []
    for s, d, p in zip(sums, dom_of, psu_of, strict=True):
        target = np.where(d < 0, n_dom, d)
        key = pd.MultiIndex.from_arrays([target, p], names=["target", "psu"])
        frame = pd.DataFrame(s, index=key)
        res = extra.loc[extra["target"].isin(np.unique(target))].set_index(["target", "psu"])
        merged = frame.join(res, how="outer").fillna(0.0)
        merged["n"] = merged["n"].astype(np.int64)
        t = merged.index.get_level_values(0).to_numpy()
        out_s.append({c: merged[c].to_numpy() for c in merged.columns})
        out_d.append(np.where(t == n_dom, -1, t))
        out_p.append(merged.index.get_level_values(1).to_numpy())
    return out_s, out_d, out_p


def _frame(k, indicators, s, dom, psu, codes):
    """A block of the totals table; labels as categoricals (cheap for a million PSUs)."""
    import pandas as pd

    out = {
        "indicator": pd.Categorical.from_codes(np.full(len(dom), k), list(indicators)),
        "domain": pd.Categorical.from_codes(dom, codes.domain_labels),
        "stratum": pd.Categorical.from_codes(codes.psu_stratum[psu], codes.strata_labels),
        "psu": pd.Categorical.from_codes(codes.psu_label[psu], codes.psu_labels),
    }
    out.update(s)
    return pd.DataFrame(out)


def factorize_first(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the integer ``key`` numbered in order of first appearance (as
    ``pandas.factorize``) and the position of each code's first occurrence."""
    key = np.asarray(key)
    if key.dtype.kind not in "iu" or key.dtype.itemsize > 8:
        key = key.astype(np.int64)
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low, high = int(key.min()), int(key.max())
    if high - low <= 4 * n + 4096 and n < 2**31 - 1:
        # A table over the key's range instead of a hash or a sort: 10 ms at 1,000,000
        # rows (pandas.factorize 10–30 ms, numpy.unique 45 ms); int32 halves its memory.
        slot = key - np.int64(low) if low else key
        first = np.full(high - low + 1, n, dtype=np.int32)
        np.minimum.at(first, slot, np.arange(n, dtype=np.int32))
        seen = np.flatnonzero(first < n)
    else:
        uniques, first, slot = np.unique(key, return_index=True, return_inverse=True)
        seen = np.arange(len(uniques))
    order = seen[np.argsort(first[seen], kind="stable")]
    rank = np.empty(len(first), dtype=np.int64 if len(order) >= 2**31 else np.int32)
    rank[order] = np.arange(len(order))
    return rank[slot.ravel()].astype(np.int64), first[order].astype(np.int64)


def _no_blanks(code: np.ndarray, column: str) -> None:
    bad = np.flatnonzero(code < 0)
    if len(bad):
        raise AnalysisInputError(
            "blank value",
            column=column,
            row=int(bad[0]) + 1,
        )
