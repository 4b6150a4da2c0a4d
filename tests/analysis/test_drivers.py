"""Key drivers against R (reference/insight_reference.R: svyglm(family = quasibinomial()),
svyby + svycontrast) to 1e-6, and the readable view's rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError
from analysis.drivers import key_drivers
from analysis.linearized import make_design
from analysis.survey_logit import survey_logit
from tests.analysis.insight_ref import AREAS, insight_data, insight_reference

REF = insight_reference()
DATA = insight_data()
CONFIGS = {
    "drivers": dict(strata="street", cluster="building"),
    "drivers_D1": dict(strata="street", cluster="building", domain=("district", "D1")),
    "drivers_no_strata": dict(cluster="building"),
}


@pytest.mark.parametrize("config", CONFIGS)
def test_model_equals_svyglm(config):
    result = key_drivers(DATA, outcome="y", areas=AREAS, weight="w", **CONFIGS[config])
    model = result.model
    assert model is not None and model.converged
    assert model.df == REF[(config, "", "df")]
    for i, name in enumerate(model.names):
        for quantity, values in [
            ("coef", model.coef),
            ("se", model.se),
            ("p", model.p_value),
            ("ci_low", model.ci_low),
            ("ci_high", model.ci_high),
        ]:
            assert values[i] == pytest.approx(REF[(config, name, quantity)], rel=1e-6, abs=1e-9)
    by_area = {a.area: a for a in result.areas}
    assert by_area["a7"].coef == pytest.approx(REF[(config, "a7", "coef")], rel=1e-6)
    assert by_area["a7"].odds_ratio == pytest.approx(np.exp(REF[(config, "a7", "coef")]), rel=1e-6)


def test_lift_equals_svycontrast():
    result = key_drivers(
        DATA, outcome="y", areas=AREAS, weight="w", strata="street", cluster="building", min_group=1
    )
    for effect in result.areas:
        key = ("lift", effect.area)
        assert effect.rate == pytest.approx(REF[(*key, "rate")], rel=1e-9)
        assert effect.lift == pytest.approx(REF[(*key, "lift")], rel=1e-9)
        assert effect.lift_se == pytest.approx(REF[(*key, "lift_se")], rel=1e-9)
        assert effect.df == REF[(*key, "df")]
        assert effect.gain == pytest.approx((1 - effect.rate) * effect.lift)


def test_ranked_by_potential_gain():
    result = key_drivers(
        DATA, outcome="y", areas=AREAS, weight="w", strata="street", cluster="building"
    )
    gains = [a.gain for a in result.areas if a.enough]
    assert gains == sorted(gains, reverse=True)
    top = result.top(3)
    assert len(top) == 3 and all(a.gain > 0 for a in top)
    assert 0 < result.overall < 1 and result.n == len(DATA)


@pytest.mark.filterwarnings("ignore:cov_type not fully supported with var_weights")
def test_without_strata_equals_statsmodels_cluster_robust():
    """No strata: the sandwich is statsmodels' cluster-robust covariance with G/(G-1)."""
    import statsmodels.api as sm

    data = DATA.dropna(subset=AREAS).reset_index(drop=True)
    x = data[AREAS].to_numpy(float)
    w = data["w"].to_numpy(float)
    design = make_design(None, data["building"], len(data))
    fit = survey_logit(data["y"].to_numpy(float), x, w, design, names=AREAS)
    sm_fit = sm.GLM(
        data["y"], sm.add_constant(x), family=sm.families.Binomial(), var_weights=w
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data["building"])[0]})
    g, n, k = 24, len(data), x.shape[1] + 1
    correction = (n - 1) / (n - k)  # statsmodels' extra factor; R and we use G/(G-1) only
    assert g == design.n_h.sum()
    np.testing.assert_allclose(fit.coef, sm_fit.params, rtol=1e-8)
    np.testing.assert_allclose(fit.cov * correction, sm_fit.cov_params(), rtol=1e-8)


def test_too_few_interviews_is_said_not_guessed():
    small = DATA[DATA["community"] == "C1"].head(40)
    result = key_drivers(small, outcome="y", areas=AREAS, weight="w", cluster="building")
    assert result.model is None and result.model_note
    assert all((a.lift is None) == (not a.enough) for a in result.areas)
    assert result.top(3) == [a for a in result.top(3) if a.enough]


def test_area_without_dissatisfied_is_not_ranked():
    data = DATA.assign(a9=1)
    result = key_drivers(data, outcome="y", areas=AREAS, weight="w", cluster="building")
    a9 = next(a for a in result.areas if a.area == "a9")
    assert not a9.enough and a9.lift is None and a9.rate == 1.0
    assert result.areas[-1].area == "a9" or not result.areas[-1].enough
    assert "a9" not in result.model.names


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.drop(columns="a3"), "column 'a3'"),
        (lambda d: d.assign(a2=d["a2"].replace(1, 2)), "column 'a2': value"),
        (lambda d: d.assign(w=-d["w"]), "column 'w'"),
    ],
)
def test_bad_input_names_the_column(change, message):
    with pytest.raises(AnalysisInputError, match=message):
        key_drivers(change(DATA), outcome="y", areas=AREAS, weight="w")
