"""The option values of :mod:`analysis`, importable without numpy or scipy (the command
line builds its parser from them before the data are read)."""

from __future__ import annotations

#: Interval methods (see :mod:`analysis.intervals`).
METHODS = ("korn-graubard", "beta", "logit", "wilson", "mean")
#: Methods whose false-达标 rate passed the Monte Carlo in ``benchmarks/coverage.py``
#: (≤ 2.5% at true rates ≤ 98.5% and at 99%, in every design the app uses). Another method
#: may give the estimate's interval, but one of these decides the verdict.
VERDICT_METHODS = ("korn-graubard",)
#: Treatments of a stratum with a single PSU (see :mod:`analysis.variance`).
LONELY_PSU = ("adjust", "certainty", "fail")
