"""Key drivers of satisfaction: which areas (市政设施, 交通秩序, 市容环境 …) move overall 满意率.

Two views of the same respondents, both design-based (weights, strata, PSUs):

**The readable view** (what a secretary reads). For each area a with answer Aᵢ ∈ {0, 1}
(1 = 满意 or 比较满意 with the area) and overall satisfaction Yᵢ:

    rate_a  = p̂(A = 1)                       share satisfied with the area
    lift_a  = p̂(Y | A = 1) − p̂(Y | A = 0)    how much higher overall satisfaction is
                                             among those satisfied with the area
    gain_a  = (1 − rate_a) · lift_a          potential gain if fixed: overall satisfaction
                                             would rise by about this much if those
                                             dissatisfied with the area became as satisfied
                                             overall as those who are not

Areas are ranked by ``gain``. The SE of ``lift`` is the linearised SE of a difference of
two domain means in one design (R: ``svyby(~y, ~a, des, svymean, covmat=TRUE)`` +
``svycontrast``). ``gain`` is an association, not a proof of cause: it says where
dissatisfaction and overall dissatisfaction go together.

**The model** (for the analyst): logit P(Y = 1) = β₀ + Σ_a β_a A_a, a weighted logistic
GLM with PSU-clustered SEs (:func:`analysis.survey_logit.survey_logit`, equal to R's
``svyglm(family = quasibinomial())``). β_a is the log odds ratio of overall satisfaction
for area a holding the other areas fixed.

**Too few to say.** An area needs at least ``min_group`` respondents on each side (satisfied
and not satisfied with it) before its lift is reported; the model needs ``min_group``
respondents not satisfied overall and at least 20 respondents per term. Below that
``enough`` is False and the page falls back to the street or the city.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.linearized import (
    binary_column,
    check_columns,
    check_weights,
    domain_df,
    domain_means,
    make_design,
)
from analysis.survey_logit import LogitFit, survey_logit

#: Respondents needed on each side of an area (satisfied / not) to report its lift.
MIN_GROUP = 10
#: Respondents needed per model term.
PER_TERM = 20


@dataclass(frozen=True)
class AreaEffect:
    """One area: how satisfied people are with it and how that goes with 满意率.

    ``lift``, ``gain`` and their interval are None when fewer than ``min_group``
    respondents are on one side (``enough`` False). ``coef``/``odds_ratio``/``p_value``
    come from the model (None when the area is not in it).
    """

    area: str
    n: int
    rate: float
    n_dissatisfied: int
    satisfied_if_satisfied: float | None
    satisfied_if_not: float | None
    lift: float | None
    lift_se: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    df: int
    gain: float | None
    enough: bool
    coef: float | None = None
    odds_ratio: float | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class DriversResult:
    """Areas ranked by potential gain (those without enough data last), and the model."""

    outcome: str
    n: int
    overall: float
    areas: tuple[AreaEffect, ...]
    model: LogitFit | None
    model_note: str | None
    min_group: int

    @property
    def enough(self) -> bool:
        """At least one area has enough respondents on both sides to be ranked."""
        return any(a.enough for a in self.areas)

    def top(self, k: int = 3) -> list[AreaEffect]:
        """The ``k`` areas with the largest positive potential gain."""
        ranked = [a for a in self.areas if a.enough and a.gain is not None and a.gain > 0]
        return ranked[:k]


def key_drivers(
    data: pd.DataFrame,
    *,
    outcome: str,
    areas: Sequence[str],
    weight: str,
    strata: str | None = None,
    cluster: str | None = None,
    domain: tuple[str, object] | None = None,
    level: float = 0.95,
    min_group: int = MIN_GROUP,
    lonely_psu: str = "adjust",
    model: bool = True,
) -> DriversResult:
    """Which areas drive overall satisfaction, in one domain or the whole sample.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent; ``outcome`` and ``areas`` hold 0/1 (blank: not asked).
    outcome : str
        Overall satisfaction column (1 = 满意 or 比较满意).
    areas : sequence of str
        Area satisfaction columns.
    weight, strata, cluster : str
        The design, as in :func:`analysis.estimate`.
    domain : (column, value), optional
        Restrict to one domain (e.g. ``("community", "桃园社区")``) the way R's
        ``subset(design, ...)`` does: the other rows keep their PSUs in the variance.
    level : float
        Confidence level of the intervals.
    min_group : int
        Respondents needed on each side of an area.
    lonely_psu : {"adjust", "certainty", "fail"}
        As in :func:`analysis.estimate`.
    model : bool
        Fit the logistic model too (False: the readable view only).

    Returns
    -------
    DriversResult

    Raises
    ------
    AnalysisInputError
        A missing column, a value other than 0/1/blank, a negative weight.
    """
    areas = list(areas)
    if not areas:
        raise AnalysisInputError("no area columns given", column=None)
    check_columns(data, [outcome, *areas, weight, strata, cluster, domain and domain[0]])
    w = data[weight].to_numpy(dtype=float)
    check_weights(w, weight)
    y = binary_column(data, outcome)
    a = np.column_stack([binary_column(data, c) for c in areas])
    design = make_design(
        None if strata is None else data[strata],
        None if cluster is None else data[cluster],
        len(data),
    )
    inside = np.ones(len(data), dtype=bool)
    if domain is not None:
        inside = (data[domain[0]] == domain[1]).to_numpy()
    has_y = inside & np.isfinite(y)
    overall = domain_means(y, w, [has_y], design, lonely_psu=lonely_psu)
    effects = [
        _area_effect(name, y, a[:, k], w, has_y, design, level, min_group, lonely_psu)
        for k, name in enumerate(areas)
    ]
    fit, note = None, "not asked for"
    if model:
        fit, note = _model(y, a, w, has_y, design, areas, effects, level, min_group, lonely_psu)
    if fit is not None:
        effects = [_with_model(e, fit) for e in effects]
    order = sorted(
        range(len(effects)),
        key=lambda i: (not effects[i].enough, -(effects[i].gain or 0.0), i),
    )
    return DriversResult(
        outcome=outcome,
        n=int(has_y.sum()),
        overall=float(overall.estimate[0]),
        areas=tuple(effects[i] for i in order),
        model=fit,
        model_note=note,
        min_group=min_group,
    )


def _area_effect(name, y, area, w, has_y, design, level, min_group, lonely_psu):
    both = has_y & np.isfinite(area)
    yes, no = both & (area == 1), both & (area == 0)
    rate = domain_means(area, w, [both], design, lonely_psu=lonely_psu).estimate[0]
    n_yes, n_no = int(yes.sum()), int(no.sum())
    df = domain_df(both, design)
    enough = n_yes >= min_group and n_no >= min_group
    if n_yes == 0 or n_no == 0:
        p_yes = float(np.average(y[yes], weights=w[yes])) if n_yes and w[yes].sum() > 0 else None
        return AreaEffect(
            name,
            int(both.sum()),
            float(rate),
            n_no,
            p_yes,
            None,
            None,
            None,
            None,
            None,
            df,
            None,
            False,
        )
    means = domain_means(y, w, [yes, no], design, lonely_psu=lonely_psu)
    lift = float(means.estimate[0] - means.estimate[1])
    var = means.cov[0, 0] + means.cov[1, 1] - 2 * means.cov[0, 1]
    se = float(np.sqrt(max(var, 0.0)))
    half = float(stats.t.ppf(0.5 + level / 2, max(df, 1))) * se
    return AreaEffect(
        area=name,
        n=int(both.sum()),
        rate=float(rate),
        n_dissatisfied=n_no,
        satisfied_if_satisfied=float(means.estimate[0]),
        satisfied_if_not=float(means.estimate[1]),
        lift=lift if enough else None,
        lift_se=se if enough else None,
        lift_ci_low=lift - half if enough else None,
        lift_ci_high=lift + half if enough else None,
        df=df,
        gain=(1 - float(rate)) * lift if enough else None,
        enough=enough,
    )


def _model(y, a, w, has_y, design, areas, effects, level, min_group, lonely_psu):
    """The logistic model on complete cases of the areas with enough variation."""
    keep = [k for k, e in enumerate(effects) if e.enough]
    if not keep:
        return None, "no area has enough respondents on both sides"
    used = has_y & np.all(np.isfinite(a[:, keep]), axis=1)
    n_not = int((used & (y == 0)).sum())
    n_yes = int((used & (y == 1)).sum())
    if min(n_not, n_yes) < min_group:
        return None, (
            f"{n_not} respondents not satisfied overall among {int(used.sum())} with every "
            f"area answered: fewer than {min_group}, no model"
        )
    if used.sum() < PER_TERM * (len(keep) + 1):
        return None, f"{int(used.sum())} complete answers: too few for {len(keep)} areas"
    x = np.where(used[:, None], a[:, keep], 0.0)
    fit = survey_logit(
        y=np.where(used, y, 0.0),
        x=x,
        w=w,
        design=design,
        names=[areas[k] for k in keep],
        used=used,
        level=level,
        lonely_psu=lonely_psu,
    )
    if not fit.converged:
        return None, "the model did not converge (an area separates the answers perfectly)"
    left_out = [areas[k] for k in range(len(areas)) if k not in keep]
    note = (
        f"areas left out of the model (too few on one side): {', '.join(left_out)}"
        if left_out
        else None
    )
    return fit, note


def _with_model(effect: AreaEffect, model: LogitFit) -> AreaEffect:
    if effect.area not in model.names:
        return effect
    term = model.term(effect.area)
    return replace(
        effect, coef=term["coef"], odds_ratio=float(np.exp(term["coef"])), p_value=term["p_value"]
    )
