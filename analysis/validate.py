"""Checks of respondent data and options, with messages that name column and row."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analysis.errors import AnalysisInputError
from analysis.intervals import METHODS
from analysis.variance import LONELY_PSU

if TYPE_CHECKING:  # check_data imports it: check_options is on survey-estimate's path
    import pandas as pd


def check_options(method, level, target, lonely_psu):
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    if not 0 < target < 1:
        raise ValueError(f"target must be between 0 and 1, not {target!r}")
    if lonely_psu not in LONELY_PSU:
        raise ValueError(f"lonely_psu must be one of {', '.join(LONELY_PSU)}, not {lonely_psu!r}")


def check_data(data, indicators, weight, strata, cluster, by, fpc):
    """Validate respondent data; messages name the column and the 1-based data row."""
    import pandas as pd

    if len(data) == 0:
        raise AnalysisInputError("no data rows")
    for col in [*indicators, weight, strata, cluster, by, fpc]:
        if col is not None and col not in data.columns:
            raise AnalysisInputError("no such column", column=col)
    if not indicators:
        raise AnalysisInputError("give at least one indicator")
    for col in indicators:
        values = _numbers(data[col])
        raw_missing = np.isnan(values) if _is_float(data[col]) else data[col].isna().to_numpy()
        bad = np.flatnonzero(~raw_missing & ~((values == 0) | (values == 1)))
        if len(bad):
            raise AnalysisInputError(
                f"value {_show(data[col].iloc[bad[0]])} is not 0, 1 or blank",
                column=col,
                row=int(bad[0]) + 1,
            )
    w = _numbers(data[weight])
    bad = np.flatnonzero(~(w >= 0) | ~np.isfinite(w))
    if len(bad):
        raw = data[weight].iloc[bad[0]]
        what = "missing" if pd.isna(raw) else f"{_show(raw)}, not a number ≥ 0"
        raise AnalysisInputError(
            f"weight is {what}",
            column=weight,
            row=int(bad[0]) + 1,
        )


def _is_float(values: pd.Series) -> bool:
    return values.dtype.kind == "f" and isinstance(values.dtype, np.dtype)


def _numbers(values: pd.Series) -> np.ndarray:
    """A column as floats (NaN where not a number), without a copy when it already is."""
    import pandas as pd

    if _is_float(values):
        return values.to_numpy(dtype=float, copy=False)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _show(value) -> str:
    """A cell value as the user typed it (numbers without numpy's repr)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value) if isinstance(value, str) else str(value)
