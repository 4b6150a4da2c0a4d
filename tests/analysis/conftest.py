"""Fixtures for the analysis tests: the R reference data and small made-up designs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REFERENCE = Path(__file__).parent / "reference"
DESIGN = dict(strata="street", cluster="building", by="community")
INDICATORS = ["y1", "y2", "y3"]
MARGINS = [["community", "age_group"], ["community", "sex"]]


@pytest.fixture(scope="session")
def respondents() -> pd.DataFrame:
    """444 respondents made by make_reference.R (4 streets, 22 buildings, 5 communities)."""
    return pd.read_csv(REFERENCE / "respondents.csv")


@pytest.fixture(scope="session")
def population() -> pd.DataFrame:
    from analysis.weighting import read_population_csv

    return read_population_csv(REFERENCE / "population.csv")


@pytest.fixture(scope="session")
def r_reference() -> dict:
    """``{(config, indicator, domain, quantity): value}``; domain "" is the whole sample."""
    table = pd.read_csv(REFERENCE / "reference.csv", keep_default_na=False, dtype=str)
    return {
        (r.config, r.indicator, r.domain, r.quantity): np.nan if r.value == "NA" else float(r.value)
        for r in table.itertuples()
    }


def make_survey(
    seed: int = 0,
    *,
    n_strata: int = 3,
    psus_per_stratum: int = 6,
    per_psu: int = 20,
    n_domains: int = 4,
    rate: float = 0.95,
) -> pd.DataFrame:
    """A small stratified cluster sample with domains that cut across PSUs."""
    rng = np.random.default_rng(seed)
    rows = n_strata * psus_per_stratum * per_psu
    stratum = np.repeat(np.arange(n_strata), psus_per_stratum * per_psu)
    psu = np.repeat(np.arange(n_strata * psus_per_stratum), per_psu)
    return pd.DataFrame(
        {
            "street": [f"S{s}" for s in stratum],
            "building": [f"B{b:02d}" for b in psu],
            "community": [f"C{c}" for c in rng.integers(0, n_domains, rows)],
            "w": rng.uniform(50, 150, rows),
            "y": (rng.uniform(size=rows) < rate).astype(float),
        }
    )
