"""The rules where we deliberately differ from R, and the verdict's edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import AnalysisInputError, LonelyPSUError
from analysis.planning import bounds_at
from tests.analysis.conftest import DESIGN, make_survey


def _srs(n_yes: int, n: int, domain: str = "C1") -> pd.DataFrame:
    """n respondents, each its own PSU, equal weights."""
    return pd.DataFrame({"w": 1.0, "y": [1.0] * n_yes + [0.0] * (n - n_yes), "community": domain})


def _one(result, domain=None):
    (row,) = [r for r in result.rows if r.domain == domain]
    return row


def test_100_of_100_yes_is_not_proof_of_99_percent():
    row = _one(analysis.estimate(_srs(100, 100), indicators=["y"], weight="w"))
    assert row.ci_low == pytest.approx(0.9638, abs=1e-4)
    assert row.ci_high == 1.0
    assert row.verdict == "undetermined"
    assert row.needed_n == 268  # 368 in all
    assert row.flags == ("all_yes",)


def test_368_of_368_yes_is_met():
    row = _one(analysis.estimate(_srs(368, 368), indicators=["y"], weight="w"))
    assert row.ci_low >= 0.99
    assert (row.verdict, row.needed_n, row.needed_status) == ("met", None, "settled")
    assert _one(analysis.estimate(_srs(367, 367), indicators=["y"], weight="w")).ci_low < 0.99


@pytest.mark.parametrize("method", analysis.METHODS)
def test_all_no_gives_exact_upper_bound(method):
    row = _one(analysis.estimate(_srs(0, 40), indicators=["y"], weight="w", method=method))
    assert (row.estimate, row.ci_low) == (0.0, 0.0)
    assert row.ci_high == pytest.approx(1 - 0.025 ** (1 / 40))
    assert row.n_eff == 40
    assert row.verdict == "not_met"
    assert row.flags == ("all_no",)


def test_all_yes_with_rounding_error_in_the_sums():
    """p̂ = 1 − 1e-16 from a rounding error is still all yes, never an interval [1, 1]."""
    totals = pd.DataFrame(
        {
            "indicator": "y",
            "domain": "C1",
            "stratum": "S1",
            "psu": range(50),
            "n": 1,
            "sum_w": 0.1,
            "sum_wy": 0.1 * (1 - 1e-16),
        }
    )
    row = _one(analysis.estimate_from_totals(totals), "C1")
    assert "all_yes" in row.flags
    assert row.ci_low == pytest.approx(0.025 ** (1 / 50))
    assert row.ci_high == 1.0


def test_nonpositive_df_is_flagged_not_nan():
    data = make_survey(1)
    data.loc[data["building"] == "B00", "community"] = "alone"  # one PSU, one stratum
    result = analysis.estimate(data, indicators=["y"], weight="w", **DESIGN)
    row = _one(result, "alone")
    assert row.df == 0
    assert "df_nonpositive" in row.flags
    assert 0 <= row.ci_low <= row.estimate <= row.ci_high <= 1
    assert row.verdict in analysis.results.VERDICTS


def test_lonely_psu_options():
    data = make_survey(2)
    data.loc[data["street"] == "S2", "building"] = "B99"  # stratum S2 now has a single PSU
    options = dict(indicators=["y"], weight="w", **DESIGN)
    with pytest.raises(LonelyPSUError, match="S2"):
        analysis.estimate(data, **options, lonely_psu="fail")
    adjust = analysis.estimate(data, **options, lonely_psu="adjust")
    certainty = analysis.estimate(data, **options, lonely_psu="certainty")
    assert adjust.design.lonely_strata == ("S2",)
    whole_a, whole_c = _one(adjust), _one(certainty)
    assert "lonely_psu" in whole_a.flags
    assert whole_a.se > whole_c.se  # adjust adds the lonely PSU's deviation from 0
    assert whole_a.estimate == whole_c.estimate
    with pytest.raises(ValueError, match="lonely_psu"):
        analysis.estimate(data, **options, lonely_psu="average")


def test_verdicts_met_not_met_undetermined():
    met = _one(analysis.estimate(_srs(2000, 2000), indicators=["y"], weight="w"))
    not_met = _one(analysis.estimate(_srs(900, 1000), indicators=["y"], weight="w"))
    undetermined = _one(analysis.estimate(_srs(396, 400), indicators=["y"], weight="w"))
    assert (met.verdict, met.needed_n, met.needed_status) == ("met", None, "settled")
    assert (not_met.verdict, not_met.needed_n) == ("not_met", None)
    assert not_met.ci_high < 0.99
    assert undetermined.verdict == "undetermined"
    assert undetermined.ci_low < 0.99 <= undetermined.ci_high


def test_needed_n_settles_at_the_current_estimate():
    """Adding needed_n interviews at the same p̂ and deff settles; one fewer does not."""
    row = _one(analysis.estimate(_srs(297, 300), indicators=["y"], weight="w"))  # p̂ = 0.99
    assert row.verdict == "undetermined"
    assert row.needed_n is None and "never_settles" in row.flags

    row = _one(analysis.estimate(_srs(995, 1000), indicators=["y"], weight="w"))
    assert row.verdict == "undetermined" and row.needed_n > 0
    total = 1000 + row.needed_n
    low, _ = bounds_at(
        np.array([0.995, 0.995]),
        np.array([total, total - 1.0]),
        np.array([row.deff, row.deff]),  # n/(n-1) here
        np.array([0.999, 0.999]),  # df per interview, as now (999 df for 1000)
        0.95,
        "korn-graubard",
    )
    assert low[0] >= 0.99 > low[1]


def test_a_community_of_40_can_never_show_99_percent():
    row = _one(analysis.estimate(_srs(40, 40), indicators=["y"], weight="w"))
    assert row.verdict == "undetermined"
    assert row.ci_low == pytest.approx(analysis.best_lower_bound(40))
    assert row.ci_low < 0.92
    assert 40 + row.needed_n == 368


def test_domain_nobody_answered_has_a_row():
    data = make_survey(4)
    data.loc[data["community"] == "C1", "y"] = np.nan
    row = _one(analysis.estimate(data, indicators=["y"], weight="w", **DESIGN), "C1")
    assert row.n == 0 and np.isnan(row.estimate)
    assert row.flags == ("no_respondents",)
    assert (row.verdict, row.needed_n) == ("undetermined", None)


def test_zero_variance_inside_zero_one_is_flagged():
    """Two PSUs with identical score totals: V̂ = 0 although 0 < p̂ < 1."""
    data = pd.DataFrame({"w": 1.0, "y": [1.0, 0.0, 1.0, 0.0], "b": ["a", "a", "b", "b"]})
    row = _one(analysis.estimate(data, indicators=["y"], weight="w", cluster="b"))
    assert row.se == 0 and "zero_variance" in row.flags
    assert row.n_eff == 4 and row.ci_low < 0.5 < row.ci_high


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("y", 2, r"column 'y': value 2 is not 0, 1 or blank \(data row 3\)"),
        ("y", "yes", r"column 'y': value 'yes' is not 0, 1 or blank \(data row 3\)"),
        ("w", -1.0, r"column 'w': weight is -1, not a number ≥ 0 \(data row 3\)"),
        ("w", np.nan, r"column 'w': weight is missing \(data row 3\)"),
        ("street", np.nan, r"column 'street': blank value \(data row 3\)"),
    ],
)
def test_bad_input_names_column_and_row(column, value, message):
    data = make_survey(5).astype({"y": object, "street": object})
    data.loc[2, column] = value
    with pytest.raises(AnalysisInputError, match=message) as caught:
        analysis.estimate(data, indicators=["y"], weight="w", **DESIGN)
    assert (caught.value.column, caught.value.row) == (column, 3)


def test_missing_column_and_empty_data():
    data = make_survey(6)
    with pytest.raises(AnalysisInputError, match="column 'nope'"):
        analysis.estimate(data, indicators=["nope"], weight="w")
    with pytest.raises(AnalysisInputError, match="no data rows"):
        analysis.estimate(data.iloc[:0], indicators=["y"], weight="w")


def test_fpc_shrinks_the_variance():
    data = make_survey(7).assign(N=10)
    with_fpc = _one(analysis.estimate(data, indicators=["y"], weight="w", **DESIGN, fpc="N"))
    without = _one(analysis.estimate(data, indicators=["y"], weight="w", **DESIGN))
    assert with_fpc.se == pytest.approx(without.se * np.sqrt(1 - 6 / 10))
