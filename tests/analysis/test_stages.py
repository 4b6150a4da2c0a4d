"""Finite population corrections and two-stage designs against R's survey package.

Reference: reference/make_stages.R (outputs committed: stages.csv, stages_reference.csv)::

    svydesign(ids = ~building, strata = ~street, fpc = ~N_b, weights = ~w, nest = TRUE)
    svydesign(ids = ~building + household, strata = ~street, fpc = ~N_b + M_h,
              weights = ~w, nest = TRUE)

with ``survey.lonely.psu`` "adjust" and "certainty"; street S1 had every building taken
(a census of buildings: no first-stage variance, only the within-building one), one
building has a single sampled household (a lonely second-stage unit), some households two
respondents. Estimates and SEs to 1e-9 (relative), df exactly, for the whole sample and
three communities that cut across streets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from tests.analysis.conftest import REFERENCE


@pytest.fixture(scope="module")
def stages() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "stages.csv")


@pytest.fixture(scope="module")
def reference() -> dict:
    table = pd.read_csv(REFERENCE / "stages_reference.csv", keep_default_na=False, dtype=str)
    return {
        (r.config, r.indicator, r.domain, r.quantity): np.nan if r.value == "NA" else float(r.value)
        for r in table.itertuples()
    }


CONFIGS = {
    "one_stage_fpc": dict(cluster="building", fpc="N_b"),
    "two_stage": dict(cluster=["building", "household"], fpc=["N_b", "M_h"]),
}


@pytest.mark.parametrize("lonely", ["adjust", "certainty"])
@pytest.mark.parametrize("config", CONFIGS)
def test_estimates_and_ses_equal_r(stages, reference, config, lonely):
    result = analysis.estimate(
        stages,
        indicators=["y1", "y2"],
        weight="w",
        strata="street",
        by="community",
        lonely_psu=lonely,
        **CONFIGS[config],
    )
    assert len(result.rows) == 2 * 4
    for row in result.rows:
        key = (f"{config}_{lonely}", row.indicator, row.domain or "")
        assert row.estimate == pytest.approx(reference[(*key, "estimate")], rel=1e-9)
        assert row.df == reference[(*key, "df")]
        if "all_yes" in row.flags or "zero_variance" in row.flags:
            assert reference[(*key, "se")] < 1e-12
            continue
        assert row.se == pytest.approx(reference[(*key, "se")], rel=1e-9)


def test_second_stage_adds_variance_and_census_of_buildings_keeps_it(stages, reference):
    one = analysis.estimate(
        stages, indicators=["y1"], weight="w", strata="street", cluster="building", fpc="N_b"
    )
    two = analysis.estimate(
        stages,
        indicators=["y1"],
        weight="w",
        strata="street",
        cluster=["building", "household"],
        fpc=["N_b", "M_h"],
    )
    assert two.rows[0].se > one.rows[0].se
    assert two.design.cluster2 == "household" and two.design.fpc2 == "M_h"
    # only street S1 (every building taken): no first-stage variance, the second's remains
    s1 = stages[stages["street"] == "S1"]
    only = analysis.estimate(
        s1, indicators=["y1"], weight="w", strata="street", cluster="building", fpc="N_b"
    ).rows[0]
    both = analysis.estimate(
        s1,
        indicators=["y1"],
        weight="w",
        strata="street",
        cluster=["building", "household"],
        fpc=["N_b", "M_h"],
    ).rows[0]
    assert only.se == 0.0 and both.se > 0.0


def test_two_stage_through_the_totals_route(stages):
    """estimate() is aggregate_totals + estimate_from_totals, for two stages too."""
    options = dict(indicators=["y1", "y2"], weight="w", strata="street", by="community")
    direct = analysis.estimate(
        stages, **options, cluster=["building", "household"], fpc=["N_b", "M_h"]
    )
    totals = analysis.aggregate_totals(
        stages, **options, cluster="building", cluster2="household", fpc2="M_h"
    )
    fpc = stages.groupby("street")["N_b"].first()
    routed = analysis.estimate_from_totals(totals, fpc=fpc)
    flat = [x for r in routed.rows for x in (r.estimate, r.se)]
    assert flat == pytest.approx([x for r in direct.rows for x in (r.estimate, r.se)], rel=1e-12)
