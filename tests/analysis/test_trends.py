"""Change between waves and the trend test against R (reference/insight_reference.R:
svyby + svycontrast on the two waves stacked, svyglm(y ~ wave, quasibinomial))."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import AnalysisInputError
from analysis.trends import trend_test, wave_change
from tests.analysis.insight_ref import insight_data, insight_reference

REF = insight_reference()
DATA = insight_data()
LINKS = {
    "independent": dict(cluster="building", linked=False),
    "linked": dict(cluster="building", unit="household"),
    "linked_household": dict(unit="household"),
}


@pytest.mark.parametrize("config", LINKS)
def test_change_equals_svycontrast(config):
    result = wave_change(
        DATA,
        indicators=["y", "a7"],
        weight="w",
        wave="wave",
        before=1,
        after=2,
        strata="street",
        by="community",
        **LINKS[config],
    )
    assert result.linked == (config != "independent")
    assert (result.overlap > 0) == (config != "independent")
    assert len(result.rows) == 2 * 7
    for row in result.rows:
        key = (config, f"{row.indicator}|{row.domain or ''}")
        assert row.diff == pytest.approx(REF[(*key, "diff")], rel=1e-9, abs=1e-12)
        assert row.se == pytest.approx(REF[(*key, "se")], rel=1e-9)
        if row.domain is not None:
            assert row.df == REF[(*key, "df")]
        assert row.ci_low < row.diff < row.ci_high
        assert row.significant == (row.ci_low > 0 or row.ci_high < 0)


def test_linking_narrows_the_interval_for_a_panel_of_buildings():
    common = dict(
        indicators=["y"],
        weight="w",
        wave="wave",
        before=1,
        after=2,
        strata="street",
        cluster="building",
    )
    independent = wave_change(DATA, linked=False, **common).rows[0]
    linked = wave_change(DATA, unit="household", **common).rows[0]
    assert linked.diff == independent.diff
    assert linked.se < independent.se


def test_no_unit_means_independent_samples():
    result = wave_change(
        DATA, indicators=["y"], weight="w", wave="wave", before=2, after=3, cluster="building"
    )
    assert not result.linked and result.overlap == 0


@pytest.mark.parametrize(
    "config, options",
    [
        ("trend", dict(cluster="building", unit="household")),
        ("trend_independent", dict(cluster="building", linked=False)),
    ],
)
def test_trend_equals_svyglm(config, options):
    rows = trend_test(
        DATA, indicators=["y"], weight="w", wave="wave", strata="street", by="community", **options
    )
    whole = next(r for r in rows if r.domain is None)
    assert whole.slope == pytest.approx(REF[(config, "wave", "coef")], rel=1e-9)
    assert whole.se == pytest.approx(REF[(config, "wave", "se")], rel=1e-6)
    assert whole.p_value == pytest.approx(REF[(config, "wave", "p")], rel=1e-6)
    assert whole.ci_low == pytest.approx(REF[(config, "wave", "ci_low")], rel=1e-6)
    assert whole.df == REF[(config, "", "df")]
    assert whole.waves == 3 and whole.n == len(DATA)
    if config == "trend":
        c3 = next(r for r in rows if r.domain == "C3")
        assert c3.slope == pytest.approx(REF[("trend_C3", "wave", "coef")], rel=1e-9)
        assert c3.se == pytest.approx(REF[("trend_C3", "wave", "se")], rel=1e-6)
        assert c3.p_value == pytest.approx(REF[("trend_C3", "wave", "p")], rel=1e-6)
        assert c3.df == REF[("trend_C3", "", "df")]


def test_trend_per_wave_has_the_slope_sign():
    rows = trend_test(DATA, indicators=["y", "a1"], weight="w", wave="wave", cluster="building")
    for row in rows:
        assert np.sign(row.per_wave) == np.sign(row.slope)


def test_missing_wave_is_a_clear_error():
    with pytest.raises(AnalysisInputError, match="no respondents in wave 7"):
        wave_change(DATA, indicators=["y"], weight="w", wave="wave", before=1, after=7)
    with pytest.raises(AnalysisInputError, match="column 'nope'"):
        wave_change(DATA, indicators=["nope"], weight="w", wave="wave", before=1, after=2)


def test_change_from_estimates_equals_wave_change_for_independent_samples():
    import analysis
    from analysis.trends import change_from_estimates

    common = dict(indicators=["y"], weight="w", strata="street", cluster="building", by="community")
    full = wave_change(DATA, wave="wave", before=1, after=2, linked=False, **common)
    for wave_no in (1, 2):
        part = DATA[DATA["wave"] == wave_no]
        est = analysis.estimate(part, **common)
        rows = {r.domain: r for r in est.rows}
        if wave_no == 1:
            first = rows
        else:
            second = rows
    for row in full.rows:
        a, b = first[row.domain], second[row.domain]
        change = change_from_estimates((a.estimate, a.se, a.df), (b.estimate, b.se, b.df))
        assert change.diff == pytest.approx(row.diff, abs=1e-12)
        assert change.se == pytest.approx(row.se, rel=1e-9)
        assert change.df == row.df
        assert change.p_value == pytest.approx(row.p_value, rel=1e-9)
