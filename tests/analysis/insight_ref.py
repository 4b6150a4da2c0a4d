"""The R reference for the insight analyses (reference/insight_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REFERENCE = Path(__file__).parent / "reference"
AREAS = [f"a{i}" for i in range(1, 10)]


def insight_data() -> pd.DataFrame:
    """870 respondents in 3 waves, 3 streets, 24 buildings, 6 communities."""
    return pd.read_csv(REFERENCE / "insight.csv")


def insight_reference() -> dict:
    """``{(config, key, quantity): value}``."""
    table = pd.read_csv(REFERENCE / "insight_reference.csv", keep_default_na=False, dtype=str)
    return {
        (r.config, r.key, r.quantity): np.nan if r.value == "NA" else float(r.value)
        for r in table.itertuples()
    }
