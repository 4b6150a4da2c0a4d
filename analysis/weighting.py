"""Weighting to population margins: post-stratification and raking, with trimming.

Public functions
----------------
``poststratify(data, *, weight, cells, population, count="count")``
    Weights whose totals equal the population count of every cell (e.g. age group × sex
    per community).
``rake(data, *, weight, margins, population, count="count", max_iter=100, tol=1e-10,
trim=None)``
    Iterative proportional fitting to several margins at once (e.g. community × age group
    and community × sex); the same weights as R's ``rake()`` / ``calibrate(...,
    calfun="raking")``.
``kish_deff(weights)``
    Kish's weighting design effect n Σw² / (Σw)².
``read_population_csv(path)``
    A population table from a CSV (the variables plus a count column).

Both weighting functions return a :class:`WeightingResult` with the new ``weights``, a
``report`` and a ``calibration`` to pass to :func:`analysis.estimate` so that standard
errors account for the calibration as R's ``calibrate()`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError


@dataclass(frozen=True, eq=False)
class Calibration:
    """What the variance needs to know about a calibration.

    Attributes
    ----------
    base_weights : numpy.ndarray
        Weights before calibration (w₀), one per data row.
    cells : tuple of numpy.ndarray
        For each margin, each row's cell number (0-based).
    n_cells : tuple of int
        Cells per margin.
    """

    base_weights: np.ndarray
    cells: tuple[np.ndarray, ...]
    n_cells: tuple[int, ...]

    @property
    def n_columns(self) -> int:
        """Total number of cell indicators."""
        return int(sum(self.n_cells))


@dataclass(frozen=True)
class WeightingReport:
    """How the weighting went.

    Attributes
    ----------
    method : str
        ``"poststratify"`` or ``"rake"``.
    iterations : int
        Full passes over the margins.
    converged : bool
        Every margin met to ``tol`` (relative) and, with trimming, every factor in bounds.
    max_change : float
        Largest relative adjustment of a margin total in the last pass.
    deff_w : float
        Kish's n Σw² / (Σw)² of the new weights.
    deff_w_before : float
        The same for the weights before.
    trimmed : int
        Rows whose adjustment factor sits at a trimming bound.
    """

    method: str
    iterations: int
    converged: bool
    max_change: float
    deff_w: float
    deff_w_before: float
    trimmed: int = 0


@dataclass(frozen=True, eq=False)
class WeightingResult:
    """New weights, a report, and the calibration to pass to ``estimate``."""

    weights: pd.Series
    report: WeightingReport
    calibration: Calibration = field(repr=False)


def kish_deff(weights: Sequence[float] | np.ndarray | pd.Series) -> float:
    """Kish's design effect due to unequal weights, ``n Σw² / (Σw)²``."""
    w = np.asarray(weights, dtype=float)
    return float(len(w) * np.sum(w * w) / np.sum(w) ** 2)


def read_population_csv(path: str | Path, *, count: str = "count") -> pd.DataFrame:
    """Read population counts (e.g. community, age_group, sex, count) from a CSV.

    Identifiers are read as text so that ``"001"`` stays ``"001"``.
    """
    table = pd.read_csv(path, dtype=str)
    if count not in table.columns:
        raise AnalysisInputError("missing from the population file", column=count)
    table[count] = pd.to_numeric(table[count], errors="raise")
    return table


def poststratify(
    data: pd.DataFrame,
    *,
    weight: str,
    cells: Sequence[str],
    population: pd.DataFrame,
    count: str = "count",
) -> WeightingResult:
    """Post-stratify ``weight`` so each cell's total equals its population count.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents.
    weight : str
        Column of base weights (w₀, e.g. inverse selection probabilities).
    cells : sequence of str
        Variables that define the post-strata, e.g. ``["community", "age_group", "sex"]``.
    population : pandas.DataFrame
        Population counts with the ``cells`` variables (more detailed tables are summed).
    count : str
        Count column of ``population``.

    Returns
    -------
    WeightingResult
    """
    return _calibrate(data, weight, [list(cells)], population, count, 1, 0.0, None, "poststratify")


def rake(
    data: pd.DataFrame,
    *,
    weight: str,
    margins: Sequence[Sequence[str]],
    population: pd.DataFrame | Sequence[pd.DataFrame],
    count: str = "count",
    max_iter: int = 100,
    tol: float = 1e-10,
    trim: tuple[float, float] | None = None,
) -> WeightingResult:
    """Rake ``weight`` to population margins by iterative proportional fitting.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents.
    weight : str
        Column of base weights w₀.
    margins : sequence of sequences of str
        Each margin's variables, e.g. ``[["community", "age_group"], ["community", "sex"]]``.
    population : pandas.DataFrame or sequence of DataFrames
        One table with all variables and ``count`` (summed to each margin), or one table
        per margin.
    count : str
        Count column.
    max_iter : int
        Most passes over the margins.
    tol : float
        Converged when no margin total moves by more than ``tol`` (relative) in a pass.
    trim : (float, float), optional
        Bounds on the adjustment factor g = w / w₀, e.g. ``(0.3, 3.0)``; factors are
        clipped after every margin step, and raking continues with the rest.

    Returns
    -------
    WeightingResult
        ``report.converged`` is False (not an exception) when the margins could not be
        met, e.g. because trimming bounds are too tight.
    """
    return _calibrate(data, weight, margins, population, count, max_iter, tol, trim, "rake")


def _calibrate(data, weight, margins, population, count, max_iter, tol, trim, method):
    w0 = _base_weights(data, weight)
    tables = _margin_tables(margins, population, count)
    cells, targets = [], []
    for variables, table in zip(margins, tables, strict=True):
        code, total = _match_cells(data, list(variables), table, count)
        cells.append(code)
        targets.append(total)
    g = np.ones(len(w0))
    max_change, converged, iterations = np.inf, False, 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported below
        max_change = 0.0
        for code, total in zip(cells, targets, strict=True):
            current = np.bincount(code, weights=w0 * g, minlength=len(total))
            factor = total / current
            max_change = max(max_change, float(np.max(np.abs(factor - 1))))
            g *= factor[code]
            if trim is not None:
                np.clip(g, trim[0], trim[1], out=g)
        if max_change < tol or method == "poststratify":
            converged = True
            break
    weights = w0 * g
    trimmed = 0 if trim is None else int(np.sum((g <= trim[0]) | (g >= trim[1])))
    report = WeightingReport(
        method=method,
        iterations=iterations,
        converged=converged,
        max_change=max_change,
        deff_w=kish_deff(weights),
        deff_w_before=kish_deff(w0),
        trimmed=trimmed,
    )
    cal = Calibration(
        base_weights=w0,
        cells=tuple(cells),
        n_cells=tuple(len(t) for t in targets),
    )
    return WeightingResult(pd.Series(weights, index=data.index, name=weight), report, cal)


def _base_weights(data: pd.DataFrame, weight: str) -> np.ndarray:
    if weight not in data.columns:
        raise AnalysisInputError("no such column", column=weight)
    w0 = pd.to_numeric(data[weight], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(w0 > 0))
    if len(bad):
        raise AnalysisInputError(
            "weight is not a positive number",
            column=weight,
            row=int(bad[0]) + 1,
        )
    return w0


def _margin_tables(margins, population, count) -> list[pd.DataFrame]:
    if isinstance(population, pd.DataFrame):
        return [
            population.groupby(list(m), sort=True, observed=True)[count].sum().reset_index()
            for m in margins
        ]
    if len(population) != len(margins):
        raise ValueError("give one population table per margin, or one table for all")
    return list(population)


def _match_cells(data, variables, table, count):
    """Each row's cell number in ``table`` and the table's totals, checked both ways."""
    for v in variables:
        if v not in data.columns:
            raise AnalysisInputError(f"no such column in the data (margin {variables})", column=v)
        if v not in table.columns:
            raise AnalysisInputError("missing from the population table", column=v)
    table = table.groupby(variables, sort=True, observed=True)[count].sum().reset_index()
    keys = pd.MultiIndex.from_arrays([table[v].astype(str) for v in variables])
    units = pd.MultiIndex.from_arrays([data[v].astype(str) for v in variables])
    code = keys.get_indexer(units)
    missing = np.flatnonzero(code < 0)
    if len(missing):
        row = int(missing[0])
        cell = ", ".join(f"{v}={data[v].iloc[row]!r}" for v in variables)
        raise AnalysisInputError(
            f"({cell}) has no population count in margin {variables}",
            column=variables[0],
            row=row + 1,
        )
    total = table[count].to_numpy(dtype=float)
    empty = np.flatnonzero((np.bincount(code, minlength=len(total)) == 0) & (total > 0))
    if len(empty):
        cell = ", ".join(f"{v}={table[v].iloc[empty[0]]!r}" for v in variables)
        raise AnalysisInputError(
            f"population cell ({cell}) has no respondents: collapse it with a neighbour",
            column=variables[0],
        )
    keep = np.bincount(code, minlength=len(total)) > 0
    remap = np.cumsum(keep) - 1
    return remap[code], total[keep]
