"""One-stage designs (household PSUs): ``estimation_table`` collapses alike households
into rows with ``copies``; the figures are those of one row per household (the table
before the collapse, kept here as the reference), to 1e-12, for every design, with and
without the fpc, on non-response-adjusted weights, for the domains the pages use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from survey_app.fieldwork import design as wave_design
from tests.analysis.test_copies import assert_same


def expanded_table(inputs, domain):
    """One row per household (yes rows, then no rows per building): the reference."""
    t = inputs.totals
    dom = np.full(len(t), np.nan) if domain is None else np.asarray(domain, dtype=float)
    w = t["weight"].to_numpy(float)
    n = t["n"].to_numpy(np.int64)
    yes = t["positive"].to_numpy(np.int64)
    stratum = wave_design.stratum_code(inputs.wave_id, t["community_id"].to_numpy(np.int64))
    rep = np.repeat(np.arange(len(t)), n)
    i = np.arange(len(rep)) - np.repeat(np.cumsum(n) - n, n)
    y = (i < yes[rep]).astype(float)
    return pd.DataFrame(
        {
            "indicator": t["indicator"].to_numpy(object)[rep],
            "domain": dom[rep],
            "stratum": stratum[rep],
            "psu": t["building_id"].to_numpy(np.int64)[rep] * 100000 + i,
            "n": np.ones(len(rep), dtype=np.int64),
            "sum_w": w[rep],
            "sum_wy": w[rep] * y,
            "sum_w2": w[rep] ** 2,
            "sum_y": y,
        }
    )


def random_inputs(seed: int, kind: str, pps: bool = False) -> wave_design.WaveInputs:
    """12 communities in 3 streets, 1–6 buildings each (one community of one building with
    one respondent: a lonely stratum), three indicators (support not asked of all), weights
    1/π × a non-response adjustment per building."""
    rng = np.random.default_rng(seed)
    rows, communities = [], {}
    building = 0
    for c in range(1, 13):
        n_b = 1 if c == 1 else int(rng.integers(1, 7))
        base = float(rng.uniform(1.2, 6.0))
        respondents = 0
        for _ in range(n_b):
            building += 1
            n = 1 if c == 1 else int(rng.integers(1, 40))
            respondents += n
            w = base * float(rng.uniform(1.0, 1.6))  # non-response adjustment
            for ind, share in (("awareness", 1.0), ("support", 0.8), ("satisfaction", 1.0)):
                n_i = n if share == 1.0 else int(rng.binomial(n, share))
                if n_i == 0:
                    continue
                yes = int(rng.binomial(n_i, 0.93))
                rows.append((ind, c, (c - 1) // 4 + 1, building, n_i, yes, w))
        communities[c] = {"households": int(respondents * rng.uniform(1.1, 3)), "buildings": n_b,
                          "sampled": respondents + 5, "eligible": respondents + 3,
                          "respondents": respondents, "street_id": (c - 1) // 4 + 1}  # fmt: skip
    cols = ["indicator", "community_id", "street_id", "building_id", "n", "positive", "weight"]
    totals = pd.DataFrame(rows, columns=cols)
    totals["building_size"] = np.nan
    return wave_design.WaveInputs(7, kind, pps, totals, communities)


def estimates(inputs, table_for, fpc):
    t = inputs.totals
    parts = [
        table_for(inputs, t["community_id"].astype(float)),
        table_for(inputs, -t["street_id"].astype(float)),
        table_for(inputs, None),
    ]
    population = {float(c): v["households"] for c, v in inputs.communities.items()}
    return analysis.estimate_from_totals(
        pd.concat(parts, ignore_index=True),
        method="korn-graubard",
        fpc=wave_design.fpc(inputs) if fpc else None,
        population=population,
    )


CASES = [("census", False), ("srs", False), ("systematic", False), ("upload", False),
         ("upload", True)]  # fmt: skip


@pytest.mark.parametrize("kind,pps", CASES)
@pytest.mark.parametrize("fpc", [True, False])
@pytest.mark.parametrize("seed", [11, 12])
def test_collapsed_household_rows_equal_expanded(kind, pps, fpc, seed):
    inputs = random_inputs(seed, kind, pps)
    collapsed = wave_design.estimation_table(inputs, None)
    assert len(collapsed) < int(inputs.totals["n"].sum()) / 3
    heard = (collapsed["copies"] * collapsed["n"]).groupby(collapsed["indicator"]).sum()
    assert heard.to_dict() == inputs.totals.groupby("indicator")["n"].sum().to_dict()
    assert_same(
        estimates(inputs, wave_design.estimation_table, fpc),
        estimates(inputs, expanded_table, fpc),
    )


def test_one_community_as_the_secretary_page():
    inputs = random_inputs(13, "srs")
    t = inputs.totals[inputs.totals["community_id"] == 5].reset_index(drop=True)
    sub = wave_design.WaveInputs(7, "srs", False, t, {5: inputs.communities[5]})
    domain = t["community_id"].astype(float)
    got, want = (
        analysis.estimate_from_totals(make(sub, domain), fpc=wave_design.fpc(sub))
        for make in (wave_design.estimation_table, expanded_table)
    )
    assert_same(got, want)


def test_snapshot_is_strict_json_and_round_trips():
    """A frozen wave's inputs have no NaN (PostgreSQL's JSON refuses it: closing a wave
    from before designs failed there) and come back as they were."""
    import json

    inputs = random_inputs(14, "srs")
    legacy = wave_design.WaveInputs(7, None, False, inputs.totals, inputs.communities)
    data = wave_design.to_snapshot(legacy)
    text = json.dumps(data, allow_nan=False)
    back = wave_design.from_snapshot(json.loads(text))
    pd.testing.assert_frame_equal(back.totals, legacy.totals, check_dtype=False)
    assert back.totals["building_size"].isna().all()
    assert back.communities == legacy.communities
