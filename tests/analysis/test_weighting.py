"""Post-stratification and raking: margins met, reports honest, errors named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError
from analysis.weighting import kish_deff, poststratify, rake
from tests.analysis.conftest import MARGINS


def _margin_gap(data, weights, population, variables):
    got = pd.Series(weights.to_numpy()).groupby([data[v] for v in variables]).sum()
    want = population.groupby(variables)["count"].sum()
    return float((got / want - 1).abs().max())


def test_rake_meets_every_margin(respondents, population):
    result = rake(respondents, weight="w", margins=MARGINS, population=population)
    assert result.report.converged and result.report.iterations < 100
    for variables in MARGINS:
        assert _margin_gap(respondents, result.weights, population, variables) < 1e-9
    assert result.report.deff_w == pytest.approx(kish_deff(result.weights))
    assert result.report.deff_w_before == pytest.approx(kish_deff(respondents["w"]))


def test_poststratify_is_exact_in_one_step(respondents, population):
    result = poststratify(
        respondents, weight="w", cells=["community", "sex"], population=population
    )
    assert result.report.method == "poststratify" and result.report.iterations == 1
    assert _margin_gap(respondents, result.weights, population, ["community", "sex"]) < 1e-12


def test_trimming_bounds_the_adjustment(respondents, population):
    loose = rake(respondents, weight="w", margins=MARGINS, population=population)
    g = loose.weights / respondents["w"]
    bounds = (float(g.quantile(0.1)), float(g.quantile(0.9)))
    tight = rake(respondents, weight="w", margins=MARGINS, population=population, trim=bounds)
    g_tight = tight.weights / respondents["w"]
    assert g_tight.min() >= bounds[0] - 1e-12 and g_tight.max() <= bounds[1] + 1e-12
    assert tight.report.trimmed > 0
    impossible = rake(
        respondents, weight="w", margins=MARGINS, population=population, trim=(0.999, 1.001)
    )
    assert not impossible.report.converged and impossible.report.max_change > 1e-3


def test_kish_deff():
    assert kish_deff([1, 1, 1, 1]) == 1.0
    assert kish_deff([1, 3]) == pytest.approx(2 * 10 / 16)


def test_unit_without_population_cell(respondents, population):
    data = respondents.copy()
    data.loc[4, "sex"] = "X"
    with pytest.raises(AnalysisInputError, match=r"sex='X'.*data row 5"):
        rake(data, weight="w", margins=MARGINS, population=population)


def test_population_cell_without_respondents(respondents, population):
    extra = pd.DataFrame({"community": ["C9"], "age_group": ["60+"], "sex": ["F"], "count": [50]})
    with pytest.raises(AnalysisInputError, match="C9.*no respondents"):
        rake(respondents, weight="w", margins=MARGINS, population=pd.concat([population, extra]))


def test_weights_must_be_positive(respondents, population):
    data = respondents.assign(w=np.where(respondents.index == 7, -1.0, respondents["w"]))
    with pytest.raises(AnalysisInputError, match=r"column 'w'.*data row 8"):
        rake(data, weight="w", margins=MARGINS, population=population)


def test_calibration_rows_must_match(respondents, population):
    import analysis

    result = rake(respondents, weight="w", margins=MARGINS, population=population)
    with pytest.raises(ValueError, match="calibration is for 444 rows"):
        analysis.estimate(
            respondents.iloc[:10], indicators=["y1"], weight="w", calibration=result.calibration
        )
