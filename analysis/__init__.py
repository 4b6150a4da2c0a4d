"""analysis — design-based estimates for 创文模拟问卷 (知晓率 / 支持率 / 满意率 vs. 99%).

Pure statistics: imports only numpy, pandas, scipy and statsmodels. Stable public API
(the web app calls these; every result is a frozen dataclass):

``estimate(data, *, indicators, weight, strata=None, cluster=None, by=None,
method="korn-graubard", level=0.95, target=0.99, fpc=None, lonely_psu="adjust",
calibration=None, population=None, verdict_method=None, icc=None) -> EstimateResult``
    Weighted proportions of 0/1 indicators, Taylor-linearised SEs for stratified cluster
    designs (R's ``survey`` package with ``nest=TRUE``), domain estimates by ``by``,
    df, design effect, effective n, confidence interval, verdict and ``needed_n``.
``estimate_from_totals(totals, *, psu_counts=None, method=..., level=..., target=...,
fpc=None, lonely_psu="adjust", population=None, verdict_method=None, icc=None)
-> EstimateResult``
    The same from stored per-(indicator, domain, stratum, psu) sums ``n, sum_w, sum_wy``
    (optional ``sum_w2``, ``sum_y``, ``copies``, ``res_w``, ``res_wy``). ``estimate`` is
    exactly ``aggregate_totals`` followed by this function.
``aggregate_totals(data, *, indicators, weight, strata=None, cluster=None, by=None,
calibration=None, counts=False) -> PsuTotals``
    The sums ``estimate_from_totals`` needs (``.table``, ``.psu_counts``).
``plan_sample_size(target=0.99, expected=1.0, deff=1.0, level=0.95,
method="korn-graubard", *, population=None, power=0.8) -> SampleSizePlan``
    Completes per community needed to be able to conclude ``met`` (``n``), and for a
    ``power`` chance of concluding it (``n_power``, exact binomial; ``power_at_n``).
``best_lower_bound(n, *, level=0.95) -> float``
    The best lower bound n interviews can ever give (all yes).
``proportion_interval(p, var, n, df, *, method, level) -> Intervals``
    The interval methods, vectorised.
``analysis.weighting.rake(data, *, weight, margins, population, count="count",
max_iter=100, tol=1e-10, trim=None) -> WeightingResult``
``analysis.weighting.poststratify(data, *, weight, cells, population, count="count")
-> WeightingResult``
    New ``.weights``, a ``.report`` (iterations, converged, max_change, deff_w,
    deff_w_before, trimmed) and a ``.calibration`` to pass to ``estimate`` so that SEs
    account for the calibration (as R's ``calibrate()``).
``analysis.weighting.kish_deff(weights) -> float``,
``analysis.weighting.read_population_csv(path, *, count="count") -> DataFrame``

``key_drivers(data, *, outcome, areas, weight, strata=None, cluster=None, domain=None)
-> DriversResult``
    Which areas move overall satisfaction: per area its rate, lift and potential gain, and a
    survey logistic GLM (R's ``svyglm(family=quasibinomial())``). See analysis/drivers.py.
``wave_change(data, *, indicators, weight, wave, before, after, ...) -> ChangeResult``,
``trend_test(data, *, indicators, weight, wave, order=None, ...) -> tuple[Trend]``
    Whether a change between waves is real (independent or linked samples).
``simulate_wave(frame, *, expected, design, response_rate, icc, ...) -> PlanResult``,
``smallest_design(frame, *, expected, design, goal=0.8, ...)``
    Plan a wave by simulation (``WaveDesign("census" | "srs" | "two-stage", ...)``).

``EstimateResult.rows`` holds :class:`EstimateRow` (indicator, domain, n, estimate, se,
ci_low, ci_high, df, deff, n_eff, verdict, needed_n, flags, why, verdict_method,
verdict_low, verdict_high, finite_population, population, rate_if_unheard_no,
rate_if_unheard_yes, deff_used, deff_source, needed_n_met, needed_n_not_met,
needed_status); ``domain=None`` is the whole sample. ``verdict`` is ``"met"`` / ``"not_met"`` / ``"undetermined"``. Errors in the input
raise :class:`AnalysisInputError` naming the column and row. See docs/methodology.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Names are imported on first use (PEP 562) so that ``survey-estimate`` can overlap its
# heavy imports (scipy) with reading the CSV, and importing ``analysis`` stays cheap.
_EXPORTS = {
    "AnalysisInputError": "analysis.errors",
    "LonelyPSUError": "analysis.errors",
    "DesignInfo": "analysis.results",
    "EstimateResult": "analysis.results",
    "EstimateRow": "analysis.results",
    "estimate": "analysis.estimation",
    "estimate_from_totals": "analysis.estimation",
    "METHODS": "analysis.options",
    "VERDICT_METHODS": "analysis.options",
    "Intervals": "analysis.intervals",
    "proportion_interval": "analysis.intervals",
    "SampleSizePlan": "analysis.planning",
    "best_lower_bound": "analysis.planning",
    "plan_sample_size": "analysis.planning",
    "PsuTotals": "analysis.totals",
    "aggregate_totals": "analysis.totals",
    "key_drivers": "analysis.drivers",
    "wave_change": "analysis.trends",
    "trend_test": "analysis.trends",
    "WaveDesign": "analysis.simulate",
    "simulate_wave": "analysis.simulate",
    "smallest_design": "analysis.simulate",
}

__all__ = [
    "AnalysisInputError",
    "DesignInfo",
    "EstimateResult",
    "EstimateRow",
    "Intervals",
    "LonelyPSUError",
    "METHODS",
    "PsuTotals",
    "VERDICT_METHODS",
    "SampleSizePlan",
    "WaveDesign",
    "aggregate_totals",
    "best_lower_bound",
    "estimate",
    "estimate_from_totals",
    "key_drivers",
    "plan_sample_size",
    "proportion_interval",
    "simulate_wave",
    "smallest_design",
    "trend_test",
    "wave_change",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and editors
    from analysis.drivers import key_drivers
    from analysis.errors import AnalysisInputError, LonelyPSUError
    from analysis.estimation import estimate, estimate_from_totals
    from analysis.intervals import Intervals, proportion_interval
    from analysis.options import METHODS, VERDICT_METHODS
    from analysis.planning import SampleSizePlan, best_lower_bound, plan_sample_size
    from analysis.results import DesignInfo, EstimateResult, EstimateRow
    from analysis.simulate import WaveDesign, simulate_wave, smallest_design
    from analysis.totals import PsuTotals, aggregate_totals
    from analysis.trends import trend_test, wave_change
