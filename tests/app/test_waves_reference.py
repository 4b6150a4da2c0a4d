"""Every design a wave can be drawn with, estimated the way the result pages do
(fieldwork/design.py → analysis.estimate_from_totals), against R's survey package:
estimates and SEs to 1e-9. The data and R's numbers come from
tests/app/reference/make_waves_reference.R (committed; R is not a test dependency):

    svydesign(ids=~household, strata=~community, weights=~weight, fpc=~N)        # census, srs
    svydesign(ids=~building+household, strata=~community, weights=~weight,
              fpc=~B+M)                                                           # two-stage
    svydesign(ids=~building, strata=~community, weights=~weight)                  # two-stage PPS
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis
from survey_app.fieldwork import design as wave_design

HERE = Path(__file__).parent / "reference"
DATA = pd.read_csv(HERE / "waves_data.csv")
REFERENCE = pd.read_csv(HERE / "waves_reference.csv", keep_default_na=False)
CASES = {"census": ("census", True), "srs": ("srs", True), "two-stage": ("two-stage", False),
         "two-stage-pps": ("two-stage", True)}  # fmt: skip


def inputs_for(case: str) -> wave_design.WaveInputs:
    """The data as the app holds it: running sums per community × building (n, yes) with
    the building's weight, and each community's frame sizes."""
    source, pps = CASES[case]
    d = DATA[DATA["design"] == source].copy()
    codes = {c: i + 1 for i, c in enumerate(sorted(d["community"].unique()))}
    buildings = {b: i + 1 for i, b in enumerate(sorted(d["building"].unique()))}
    d["community_id"] = d["community"].map(codes)
    d["building_id"] = d["building"].map(buildings)
    g = d.groupby(["community_id", "building_id"]).agg(
        n=("y", "size"),
        positive=("y", "sum"),
        weight=("weight", "first"),
        building_size=("M", "first"),
    )
    totals = g.reset_index()
    totals.insert(0, "indicator", "y")
    totals["street_id"] = 1
    communities = {}
    for comm, cid in codes.items():
        part = d[d["community"] == comm]
        communities[cid] = {"households": int(part["N"].iloc[0]), "buildings": int(part["B"].iloc[0]),
                            "sampled": len(part), "eligible": len(part), "respondents": len(part),
                            "street_id": 1}  # fmt: skip
    return wave_design.WaveInputs(1, source, pps, totals, communities), {
        v: k for k, v in codes.items()
    }


@pytest.mark.parametrize("case", list(CASES))
def test_design_matches_r(case):
    inputs, names = inputs_for(case)
    labels = inputs.totals["community_id"].map(names)
    table = pd.concat(
        [wave_design.estimation_table(inputs, labels), wave_design.estimation_table(inputs, None)],
        ignore_index=True,
    )
    result = analysis.estimate_from_totals(
        table, fpc=wave_design.fpc(inputs), method="korn-graubard"
    )
    got = {r.domain: r for r in result.rows}
    ref = REFERENCE[REFERENCE["design"] == case]
    assert len(ref) == 4
    for _, row in ref.iterrows():
        r = got[row["domain"] or None]
        assert r.estimate == pytest.approx(float(row["estimate"]), abs=1e-9), row["domain"]
        assert r.se == pytest.approx(float(row["se"]), abs=1e-9), row["domain"]


def test_weights_sum_to_each_communitys_households():
    """1/π × the non-response adjustment: a community's weights add up to its N."""
    for case in ("census", "srs"):
        inputs, _ = inputs_for(case)
        t = inputs.totals
        sums = (t["n"] * t["weight"]).groupby(t["community_id"]).sum()
        sizes = pd.Series({k: v["households"] for k, v in inputs.communities.items()})
        assert np.allclose(sums.sort_index(), sizes.sort_index())
