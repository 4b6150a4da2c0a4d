"""``copies``: one totals row standing for several alike PSUs gives exactly the figures
of the expanded table (one row per PSU), for every output of ``estimate_from_totals``."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.errors import AnalysisInputError


def assert_same(collapsed, expanded, rel=1e-12):
    """Every field of every row equal; floats to ``rel`` (NaN equals NaN)."""
    assert asdict(collapsed.design) == asdict(expanded.design)
    assert len(collapsed.rows) == len(expanded.rows)
    for a, b in zip(collapsed.rows, expanded.rows, strict=True):
        da, db = asdict(a), asdict(b)
        assert da.keys() == db.keys()
        for key in da:
            x, y = da[key], db[key]
            if isinstance(x, float) and isinstance(y, float):
                assert (math.isnan(x) and math.isnan(y)) or math.isclose(
                    x, y, rel_tol=rel, abs_tol=1e-15
                ), (a.indicator, a.domain, key, x, y)
            else:
                assert x == y, (a.indicator, a.domain, key, x, y)


def random_psus(rng, *, strata=6, two_stage=False):
    """PSUs with few distinct (weight, answers) so that many are alike; one lonely
    stratum; two indicators, one not asked of everybody."""
    rows = []
    for h in range(strata):
        n_psu = 1 if h == 0 else int(rng.integers(3, 30))
        weights = rng.choice([1.5, 2.25, 3.0 + h / 7], size=n_psu)
        for j in range(n_psu):
            dom = int(rng.integers(0, 3))
            for ind in ("a", "b"):
                if ind == "b" and rng.random() < 0.2:
                    continue
                n = int(rng.integers(1, 3)) if two_stage else 1
                yes = int(rng.integers(0, n + 1)) if rng.random() < 0.3 else n
                w = float(weights[j])
                row = {"indicator": ind, "domain": dom, "stratum": h, "psu": j, "n": n,
                       "sum_w": n * w, "sum_wy": yes * w, "sum_w2": n * w * w,
                       "sum_y": yes}  # fmt: skip
                if two_stage:
                    row.update(ssu_aa=yes * w * w, ssu_ab=yes * w * w, ssu_bb=n * w * w,
                               ssu_n=float(n), ssu_pop=float(n + 3))  # fmt: skip
                rows.append(row)
    return pd.DataFrame(rows)


def collapse(table: pd.DataFrame) -> pd.DataFrame:
    """Alike PSUs of a stratum (the same rows apart from the PSU label) → one, with copies."""
    value_cols = [c for c in table.columns if c not in ("stratum", "psu")]
    sig = (
        table.sort_values(["indicator", "domain"])
        .groupby(["stratum", "psu"])[value_cols]
        .apply(lambda g: tuple(map(tuple, g.to_numpy().tolist())))
    )
    sig = sig.rename("sig").reset_index()
    first = sig.groupby(["stratum", "sig"])["psu"].transform("min")
    count = sig.groupby(["stratum", "sig"])["psu"].transform("size")
    keep = sig[sig["psu"] == first][["stratum", "psu"]].assign(copies=count[sig["psu"] == first])
    out = table.merge(keep, on=["stratum", "psu"])
    assert len(out) < len(table)  # something collapsed
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("lonely_psu", ["adjust", "certainty"])
@pytest.mark.parametrize("with_fpc", [False, True])
def test_collapsed_equals_expanded(seed, lonely_psu, with_fpc):
    rng = np.random.default_rng(seed)
    table = random_psus(rng)
    fpc = None
    if with_fpc:
        seen = table.groupby("stratum")["psu"].nunique()
        fpc = {h: float(v + (0 if h == 1 else 7)) for h, v in seen.items()}  # one census stratum
    options = {"fpc": fpc, "lonely_psu": lonely_psu, "population": {0: 500.0, 1: 400, 2: 300}}
    expanded = analysis.estimate_from_totals(table, **options)
    collapsed = analysis.estimate_from_totals(collapse(table), **options)
    assert_same(collapsed, expanded)


@pytest.mark.parametrize("seed", [4, 5])
def test_collapsed_equals_expanded_two_stage(seed):
    rng = np.random.default_rng(seed)
    table = random_psus(rng, two_stage=True)
    seen = table.groupby("stratum")["psu"].nunique()
    fpc = {h: float(v + 5) for h, v in seen.items()}
    expanded = analysis.estimate_from_totals(table, fpc=fpc)
    collapsed = analysis.estimate_from_totals(collapse(table), fpc=fpc)
    assert_same(collapsed, expanded)


def test_collapsed_equals_expanded_calibrated():
    rng = np.random.default_rng(6)
    table = random_psus(rng)
    table["res_w"] = table["sum_w"] * 0.1 * (table["stratum"] % 3 - 1)
    table["res_wy"] = table["sum_wy"] * 0.2 * (table["stratum"] % 2)
    assert_same(
        analysis.estimate_from_totals(collapse(table)), analysis.estimate_from_totals(table)
    )


def test_copies_must_be_whole_numbers():
    table = random_psus(np.random.default_rng(7)).assign(copies=1.5)
    with pytest.raises(AnalysisInputError, match="whole number"):
        analysis.estimate_from_totals(table)


def test_copies_must_agree_within_a_psu():
    table = random_psus(np.random.default_rng(8))
    table["copies"] = np.where(table["indicator"] == "a", 2, 3)
    with pytest.raises(AnalysisInputError, match="differs between the rows of one PSU"):
        analysis.estimate_from_totals(table)


def test_psu_counts_count_copies():
    """n_h given explicitly must cover the copies (PSUs, not labels)."""
    table = pd.DataFrame({"indicator": "a", "domain": None, "stratum": [1, 1], "psu": [1, 2],
                          "n": 1, "sum_w": 1.0, "sum_wy": [1.0, 0.0], "copies": [5, 3]})  # fmt: skip
    result = analysis.estimate_from_totals(table)
    assert result.design.n_psu == 8
    assert result.rows[0].n == 8
    assert result.rows[0].estimate == pytest.approx(5 / 8)
    with pytest.raises(AnalysisInputError, match="psu_counts"):
        analysis.estimate_from_totals(table, psu_counts={1: 4})
