"""``estimate`` is aggregate-then-``estimate_from_totals``: both routes give identical rows."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.weighting import rake
from tests.analysis.conftest import DESIGN, INDICATORS, MARGINS, make_survey


def _rows(result):
    """Rows as tuples, NaN made comparable (NaN != NaN would fail identical rows)."""
    return [
        tuple("NaN" if isinstance(v, float) and np.isnan(v) else v for v in astuple(r))
        for r in result.rows
    ]


def test_from_totals_is_identical(respondents):
    direct = analysis.estimate(respondents, indicators=INDICATORS, weight="w", **DESIGN)
    totals = analysis.aggregate_totals(respondents, indicators=INDICATORS, weight="w", **DESIGN)
    labels = ["indicator", "domain", "stratum", "psu"]
    stored = totals.table.astype({c: object for c in labels})  # as read back from a database
    stored["domain"] = stored["domain"].where(stored["domain"].notna(), None)
    again = analysis.estimate_from_totals(stored, psu_counts=totals.psu_counts)
    assert _rows(again) == _rows(direct)


def test_from_totals_without_whole_sample_rows(respondents):
    """The web app may store domain rows only: the whole sample is their sum."""
    direct = analysis.estimate(respondents, indicators=INDICATORS, weight="w", **DESIGN)
    totals = analysis.aggregate_totals(respondents, indicators=INDICATORS, weight="w", **DESIGN)
    domain_rows = totals.table[totals.table["domain"].notna()]
    again = analysis.estimate_from_totals(domain_rows, psu_counts=totals.psu_counts)
    for a, b in zip(again.rows, direct.rows, strict=True):
        assert (a.indicator, a.domain, a.n, a.df, a.verdict) == (
            b.indicator,
            b.domain,
            b.n,
            b.df,
            b.verdict,
        )
        assert (a.estimate, a.se, a.ci_low, a.ci_high) == pytest.approx(
            (b.estimate, b.se, b.ci_low, b.ci_high), rel=1e-12
        )


def test_psu_counts_must_include_psus_outside_the_domain():
    """Storing only one community's PSUs, n_h must still count all PSUs of the stratum."""
    data = make_survey(3, n_domains=2)
    data["community"] = np.where(data["building"] < "B05", "C0", "C1")  # C0 in stratum S0 only
    totals = analysis.aggregate_totals(data, indicators=["y"], weight="w", **DESIGN)
    c0 = totals.table[totals.table["domain"] == "C0"]
    right = analysis.estimate_from_totals(c0, psu_counts=totals.psu_counts)
    wrong = analysis.estimate_from_totals(c0)  # n_h from the C0 rows only: subsetting
    full = analysis.estimate(data, indicators=["y"], weight="w", **DESIGN)
    (expected,) = [r for r in full.rows if r.domain == "C0"]
    (got,) = [r for r in right.rows if r.domain == "C0"]
    (bad,) = [r for r in wrong.rows if r.domain == "C0"]
    assert astuple(got)[:8] == astuple(expected)[:8]
    assert bad.se != pytest.approx(expected.se, rel=1e-6)


def test_repeated_totals_rows_are_added_up(respondents):
    totals = analysis.aggregate_totals(respondents, indicators=["y1"], weight="w", **DESIGN)
    table = totals.table
    half = table.assign(**{c: table[c] / 2 for c in ("sum_w", "sum_wy", "sum_w2")})
    doubled = pd.concat([half, half.assign(n=0)], ignore_index=True)
    doubled["n"] = np.concatenate([table["n"].to_numpy(), np.zeros(len(table), dtype=int)])
    a = analysis.estimate_from_totals(doubled, psu_counts=totals.psu_counts)
    b = analysis.estimate_from_totals(table, psu_counts=totals.psu_counts)
    for x, y in zip(a.rows, b.rows, strict=True):
        assert (x.estimate, x.se) == pytest.approx((y.estimate, y.se), rel=1e-12)
        assert (x.n, x.df) == (y.n, y.df)


def test_calibrated_totals_route_is_identical(respondents, population):
    raked = rake(respondents, weight="w", margins=MARGINS, population=population)
    data = respondents.assign(w=raked.weights)
    options = dict(indicators=INDICATORS, weight="w", **DESIGN)
    direct = analysis.estimate(data, **options, calibration=raked.calibration)
    totals = analysis.aggregate_totals(data, **options, calibration=raked.calibration)
    assert {"res_w", "res_wy"} <= set(totals.table.columns)
    assert _rows(analysis.estimate_from_totals(totals)) == _rows(direct)
    assert direct.design.calibrated


def test_missing_answers_are_outside_the_domain(respondents):
    """NaN = not asked: the same as R's na.rm=TRUE, i.e. a domain restricted to answers."""
    y = respondents["y2"]
    as_domain = respondents.assign(answered=np.where(y.notna(), "yes", "no"), y2=y.fillna(0))
    result = analysis.estimate(
        respondents, indicators=["y2"], weight="w", strata="street", cluster="building"
    )
    domain = analysis.estimate(
        as_domain, indicators=["y2"], weight="w", strata="street", cluster="building", by="answered"
    )
    (whole,) = [r for r in result.rows if r.domain is None]
    (answered,) = [r for r in domain.rows if r.domain == "yes"]
    assert (whole.n, whole.df) == (answered.n, answered.df)
    assert (whole.estimate, whole.se) == pytest.approx((answered.estimate, answered.se), rel=1e-12)


def test_rows_order_and_shape(respondents):
    result = analysis.estimate(respondents, indicators=["y3", "y1"], weight="w", **DESIGN)
    keys = [(r.indicator, r.domain) for r in result.rows]
    domains = [None, "C1", "C2", "C3", "C4", "C5"]
    assert keys == [("y3", d) for d in domains] + [("y1", d) for d in domains]
    frame = result.to_frame()
    assert list(frame.columns[:12]) == [
        "indicator",
        "domain",
        "n",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "deff",
        "n_eff",
        "verdict",
        "needed_n",
    ]
