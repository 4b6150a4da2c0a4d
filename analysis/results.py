"""Result types of :func:`analysis.estimate` and :func:`analysis.estimate_from_totals`.

Frozen dataclasses: ``EstimateResult`` (``.rows``, ``.design``, ``.to_frame()``,
``.to_dict()``), ``EstimateRow`` and ``DesignInfo``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

VERDICTS = ("met", "not_met", "undetermined")


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
            "design": {k: plain_value(v) for k, v in asdict(self.design).items()},
            "results": [{k: plain_value(getattr(r, k)) for k in _ROW_FIELDS} for r in self.rows],
        }


_ROW_FIELDS = tuple(EstimateRow.__dataclass_fields__)


def plain_value(value):
    """numpy scalars to Python, NaN to None (for JSON)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
