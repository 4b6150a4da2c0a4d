"""Plan a wave by simulation: before fieldwork, can this design settle 99% in each community?

Given the household frame (households per community and building), the rate expected in
each community, the expected response rate, an intra-building correlation ρ and a design,
``simulate_wave`` draws the wave ``replicates`` times (vectorised numpy) and estimates
every community the way the results pages do, reporting per community the probability of
each verdict (达标 / 未达标 / 待定) and the expected width of the interval.
``smallest_design`` searches the least sample (SRS: households; two-stage: buildings)
that gives a settled verdict (达标 or 未达标) with a chosen probability (default 80%).

**The model.** Each building b of community c has its own rate p_b ~ Beta with mean p_c
and intra-class correlation ρ (α = p_c(1−ρ)/ρ, β = (1−p_c)(1−ρ)/ρ; ρ = 0: p_b = p_c);
a sampled household responds with probability r and a respondent answers yes with
probability p_b. (Redrawn every replicate: the community's true rate is itself uncertain
before the wave, as it is.)

**The designs and their estimators** (equal probability within a community, which is the
stratum; the interval and verdict by :func:`analysis.proportion_interval` with the
chosen method):

* ``census`` — every household is visited; ``srs`` — n households per community without
  replacement. The household is the PSU: p̂ = yes/n, V̂ = (1 − n/N)·p̂(1 − p̂)/(n − 1),
  df = n − 1 (n respondents of N households). The interval is then intersected with what
  the households not heard from allow: the rate is at least yes/N and at most
  (yes + N − n)/N, so a community where everyone was heard has its rate exactly.
* ``two-stage`` — b buildings per community (equal probability), then m households per
  building. The building is the PSU; weights M_b/k_b (households / respondents of the
  building: non-response adjusted within the building), with-replacement linearised
  variance over the buildings, df = buildings with a respondent − 1.

**Checked** against the exact binomial calculation for SRS with ρ = 0
(:func:`exact_srs`): there the number of respondents is Binomial(n, r) and the yes
answers Binomial(k, p), so every verdict's probability is a finite sum
(tests/analysis/test_simulate.py, within 4 Monte Carlo standard errors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.intervals import METHODS, proportion_interval

DESIGNS = ("census", "srs", "two-stage")
VERDICTS = ("met", "not_met", "undetermined")
#: At most this many replicates are drawn at once (memory: replicates × buildings).
CHUNK = 250


@dataclass(frozen=True)
class WaveDesign:
    """``census``; ``srs`` with ``n`` households per community; ``two-stage`` with
    ``buildings`` × ``per_building``. ``n``/``buildings`` may be a per-community mapping."""

    kind: str
    n: int | Mapping | None = None
    buildings: int | Mapping | None = None
    per_building: int | None = None

    def __post_init__(self):
        if self.kind not in DESIGNS:
            raise AnalysisInputError(
                f"design must be one of {', '.join(DESIGNS)}, not {self.kind!r}"
            )
        if self.kind == "srs" and self.n is None:
            raise AnalysisInputError("an srs design needs n (households per community)")
        if self.kind == "two-stage" and (self.buildings is None or self.per_building is None):
            raise AnalysisInputError("a two-stage design needs buildings and per_building")
        if self.per_building is not None and self.per_building < 1:
            raise AnalysisInputError("per_building must be at least 1")


@dataclass(frozen=True)
class CommunityPlan:
    """What one community can expect from the wave.

    ``p_met``, ``p_not_met``, ``p_undetermined``: probabilities of each verdict (Monte Carlo
    standard error at most ``mc_se``); ``width``: mean interval width; ``sample``:
    households visited; ``completes``: mean completed interviews.
    """

    community: object
    households: int
    buildings: int
    expected: float
    sample: int
    completes: float
    p_met: float
    p_not_met: float
    p_undetermined: float
    width: float
    mc_se: float

    @property
    def p_settled(self) -> float:
        return self.p_met + self.p_not_met


@dataclass(frozen=True)
class PlanResult:
    """Per-community plans and the settings they were simulated with."""

    communities: tuple[CommunityPlan, ...]
    design: WaveDesign
    replicates: int
    seed: int
    response_rate: float
    icc: float
    method: str
    level: float
    target: float


@dataclass(frozen=True)
class SmallestDesign:
    """The least sample reaching ``goal`` probability of a settled verdict in a community.

    ``sample`` is households (srs) or buildings (two-stage) per community, None when even
    the whole community does not reach the goal; ``plan`` is the simulation at it (or at
    the largest sample tried).
    """

    community: object
    sample: int | None
    plan: CommunityPlan
    goal: float


@dataclass(frozen=True)
class _Frame:
    communities: list
    comm_of_b: np.ndarray  # community code of each building
    households: np.ndarray  # M_b
    expected: np.ndarray  # per community
    n_households: np.ndarray  # N_c
    n_buildings: np.ndarray  # B_c
    starts: np.ndarray  # first building of each community


def simulate_wave(
    frame: pd.DataFrame,
    *,
    expected: float | Mapping,
    design: WaveDesign,
    response_rate: float = 0.9,
    icc: float = 0.0,
    method: str = "korn-graubard",
    level: float = 0.95,
    target: float = 0.99,
    replicates: int = 1000,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> PlanResult:
    """Simulate a wave ``replicates`` times and summarise the verdicts per community.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per building: ``community``, ``building``, ``households`` (> 0).
    expected : float or mapping
        The rate expected in every community, or per community (e.g. the last wave's).
    design : WaveDesign
        The design to try.
    response_rate : float
        Expected share of visited households that complete the interview.
    icc : float
        Intra-building correlation of the answers (0 ≤ ρ < 1).
    method, level, target
        Interval method, confidence level and target, as in :func:`analysis.estimate`.
    replicates : int
        Simulated waves (≥ 100).
    seed : int
        Random seed: the same seed gives the same result.
    progress : callable, optional
        Called with the fraction done (0–1) after each chunk of replicates.

    Returns
    -------
    PlanResult
    """
    _check_options(response_rate, icc, method, level, target, replicates)
    f = _read_frame(frame, expected)
    rng = np.random.default_rng(seed)
    counts, widths, completes, visited = _run(
        f, design, response_rate, icc, method, level, target, replicates, rng, progress
    )
    plans = _plans(f, counts, widths, completes, visited, replicates)
    return PlanResult(
        tuple(plans), design, replicates, seed, response_rate, icc, method, level, target
    )


def smallest_design(
    frame: pd.DataFrame,
    *,
    expected: float | Mapping,
    design: WaveDesign,
    goal: float = 0.8,
    progress: Callable[[float], None] | None = None,
    **options,
) -> tuple[SmallestDesign, ...]:
    """Per community, the least sample with P(达标 or 未达标) ≥ ``goal``.

    For ``srs`` the number of households, for ``two-stage`` the number of buildings (with
    ``design.per_building`` households each); a ``census`` has nothing to choose and is
    simply simulated. Bisection over integers, all communities at once, with the
    simulation's own settings (``options`` as for :func:`simulate_wave`; the same seed at
    every step, so neighbouring sizes share their random numbers).
    """
    if not 0 < goal < 1:
        raise AnalysisInputError(f"goal must be between 0 and 1, got {goal!r}")
    f = _read_frame(frame, expected)
    if design.kind == "census":
        result = simulate_wave(
            frame, expected=expected, design=design, progress=progress, **options
        )
        return tuple(
            SmallestDesign(p.community, p.households if p.p_settled >= goal else None, p, goal)
            for p in result.communities
        )
    upper = f.n_households if design.kind == "srs" else f.n_buildings
    lo = np.zeros(len(f.communities), dtype=np.int64)  # known to fail (0: nothing tried)
    hi = upper.astype(np.int64).copy()  # candidate, checked below
    steps = int(np.ceil(np.log2(max(int(upper.max()), 2)))) + 1
    done = [0]

    def run(sizes):
        trial = _with_sizes(design, f.communities, sizes)
        res = simulate_wave(frame, expected=expected, design=trial, **options)
        done[0] += 1
        if progress is not None:
            progress(min(done[0] / steps, 1.0))
        return res.communities

    at_hi = run(hi)
    ok_hi = np.array([p.p_settled >= goal for p in at_hi])
    best = {i: at_hi[i] for i in range(len(hi))}
    while True:
        todo = ok_hi & (hi - lo > 1)
        if not todo.any():
            break
        mid = np.where(todo, (lo + hi) // 2, hi)
        at_mid = run(mid)
        for i in np.flatnonzero(todo):
            if at_mid[i].p_settled >= goal:
                hi[i], best[i] = mid[i], at_mid[i]
            else:
                lo[i] = mid[i]
    if progress is not None:
        progress(1.0)
    return tuple(
        SmallestDesign(f.communities[i], int(hi[i]) if ok_hi[i] else None, best[i], goal)
        for i in range(len(hi))
    )


def exact_srs(
    n: int,
    population: int,
    expected: float,
    *,
    response_rate: float = 1.0,
    method: str = "korn-graubard",
    level: float = 0.95,
    target: float = 0.99,
) -> dict[str, float]:
    """Exact probabilities of each verdict for SRS with ρ = 0 (what the simulation must give).

    k ~ Binomial(n, r) respondents, yes ~ Binomial(k, p): P(verdict) = Σ_k Σ_y
    P(k) P(y | k) 1[verdict(y, k)], with the simulation's estimator and interval.
    """
    k = np.arange(n + 1)
    pk = stats.binom.pmf(k, n, response_rate)
    kk, yy = np.meshgrid(k, k, indexing="ij")
    valid = yy <= kk
    py = np.where(valid, stats.binom.pmf(yy, kk, expected), 0.0)
    big_n = np.full(kk.shape, float(population))
    verdict, _ = _household_verdicts(
        np.minimum(yy, kk).astype(float), kk.astype(float), big_n, method, level, target
    )
    weights = pk[:, None] * py
    return {v: float(weights[(verdict == i) & valid].sum()) for i, v in enumerate(VERDICTS)}


# ---- the simulation ------------------------------------------------------------------------


def _run(f, design, r, icc, method, level, target, replicates, rng, progress):
    n_c = len(f.communities)
    counts = np.zeros((n_c, 3))
    widths = np.zeros(n_c)
    completes = np.zeros(n_c)
    visited = np.zeros(n_c)
    done = 0
    while done < replicates:
        size = min(CHUNK, replicates - done)
        p_b = _building_rates(f, icc, size, rng)
        s = _sample(f, design, size, rng)  # households visited per replicate × building
        k = rng.binomial(s, r)
        y = rng.binomial(k, p_b)
        if design.kind == "two-stage":
            verdict, width, n = _building_verdicts(f, y, k, method, level, target)
        else:
            n = _by_community(f, k)
            yes = _by_community(f, y)
            big_n = np.broadcast_to(f.n_households.astype(float), n.shape)
            verdict, width = _household_verdicts(yes, n, big_n, method, level, target)
        for i in range(3):
            counts[:, i] += (verdict == i).sum(axis=0)
        widths += width.sum(axis=0)
        completes += n.sum(axis=0)
        visited += _by_community(f, s).sum(axis=0)
        done += size
        if progress is not None:
            progress(done / replicates)
    return counts, widths, completes, visited


def _building_rates(f, icc, size, rng):
    p = f.expected[f.comm_of_b]
    shape = (size, len(p))
    if icc == 0:
        return np.broadcast_to(p, shape)
    a = p * (1 - icc) / icc
    b = (1 - p) * (1 - icc) / icc
    inner = (p > 0) & (p < 1)
    draws = rng.beta(np.where(inner, a, 1.0), np.where(inner, b, 1.0), size=shape)
    return np.where(inner, draws, p)


def _sample(f, design, size, rng):
    m = f.households
    if design.kind == "census":
        return np.broadcast_to(m, (size, len(m)))
    out = np.zeros((size, len(m)), dtype=np.int64)
    sizes = _sizes(design, f)
    for c in range(len(f.communities)):
        idx = np.flatnonzero(f.comm_of_b == c)
        if design.kind == "srs":
            take = int(min(sizes[c], f.n_households[c]))
            out[:, idx] = rng.multivariate_hypergeometric(m[idx], take, size=size)
        else:
            take = int(min(sizes[c], len(idx)))
            keys = rng.random((size, len(idx)))
            chosen = np.argsort(np.argsort(keys, axis=1), axis=1) < take
            out[:, idx] = np.where(chosen, np.minimum(m[idx], design.per_building), 0)
    return out


def _by_community(f, values):
    """Sum replicate × building values to replicate × community (buildings are sorted by
    community, so each community is one run of columns)."""
    return np.add.reduceat(np.asarray(values, dtype=float), f.starts, axis=1)


def _household_verdicts(yes, n, big_n, method, level, target):
    """Verdict code (0 met, 1 not met, 2 undetermined) and width; the household is the PSU."""
    answered = n > 0
    n1 = np.maximum(n, 1)
    p = np.where(answered, yes / n1, 0.5)
    fpc = np.clip(1 - n / big_n, 0, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n > 1, fpc * p * (1 - p) / (n1 - 1), 0.0)
    ci = proportion_interval(
        p.ravel(), var.ravel(), n1.ravel(), (n1 - 1).ravel(), method=method, level=level
    )
    low = np.maximum(ci.low.reshape(p.shape), yes / big_n)
    high = np.minimum(ci.high.reshape(p.shape), (yes + big_n - n) / big_n)
    low, high = np.where(answered, low, 0.0), np.where(answered, high, 1.0)
    return _verdict(low, high, target), high - low


def _building_verdicts(f, y, k, method, level, target):
    """Two-stage: building PSUs, weights M_b/k_b, with-replacement variance."""
    m = f.households.astype(float)
    has = k > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_b = np.where(has, y / np.maximum(k, 1), 0.0)
    weight_total = _by_community(f, np.where(has, m, 0.0))
    weighted_yes = _by_community(f, np.where(has, m * rate_b, 0.0))
    n = _by_community(f, k)
    psus = _by_community(f, has.astype(float))
    answered = weight_total > 0
    p = np.where(answered, weighted_yes / np.where(answered, weight_total, 1.0), 0.5)
    p_b = p[:, f.comm_of_b]
    z = np.where(has, m * (rate_b - p_b), 0.0) / np.maximum(weight_total, 1e-300)[:, f.comm_of_b]
    z_mean = _by_community(f, z) / np.maximum(psus, 1)
    dev2 = _by_community(f, np.where(has, (z - z_mean[:, f.comm_of_b]) ** 2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(psus > 1, psus / (psus - 1) * dev2, 0.0)
    df = psus - 1
    n1 = np.maximum(n, 1)
    ci = proportion_interval(
        p.ravel(), var.ravel(), n1.ravel(), df.ravel(), method=method, level=level
    )
    low = np.where(answered, ci.low.reshape(p.shape), 0.0)
    high = np.where(answered, ci.high.reshape(p.shape), 1.0)
    return _verdict(low, high, target), high - low, n


def _verdict(low, high, target):
    return np.where(low >= target, 0, np.where(high < target, 1, 2))


def _plans(f, counts, widths, completes, visited, replicates):
    plans = []
    for c, name in enumerate(f.communities):
        share = counts[c] / replicates
        plans.append(
            CommunityPlan(
                community=name,
                households=int(f.n_households[c]),
                buildings=int(f.n_buildings[c]),
                expected=float(f.expected[c]),
                sample=int(round(visited[c] / replicates)),
                completes=float(completes[c] / replicates),
                p_met=float(share[0]),
                p_not_met=float(share[1]),
                p_undetermined=float(share[2]),
                width=float(widths[c] / replicates),
                mc_se=float(np.sqrt(0.25 / replicates)),
            )
        )
    return plans


# ---- inputs ----------------------------------------------------------------------------------


def _read_frame(frame: pd.DataFrame, expected) -> _Frame:
    for col in ("community", "building", "households"):
        if col not in frame.columns:
            raise AnalysisInputError("not in the frame", column=col)
    if frame.empty:
        raise AnalysisInputError("the frame has no buildings")
    households = pd.to_numeric(frame["households"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(households >= 1) | (households != np.round(households)))
    if len(bad):
        raise AnalysisInputError(
            "households must be a whole number ≥ 1", column="households", row=int(bad[0]) + 1
        )
    code, communities = pd.factorize(frame["community"], sort=True)
    order = np.argsort(code, kind="stable")
    code, households = code[order], households[order]
    communities = list(communities)
    rates = np.array([_rate_for(expected, c) for c in communities], dtype=float)
    n_households = np.bincount(code, weights=households).astype(np.int64)
    return _Frame(
        communities=communities,
        comm_of_b=code,
        households=households.astype(np.int64),
        expected=rates,
        n_households=n_households,
        n_buildings=np.bincount(code),
        starts=np.searchsorted(code, np.arange(len(communities))),
    )


def _rate_for(expected, community) -> float:
    if isinstance(expected, Mapping):
        if community not in expected:
            raise AnalysisInputError(
                f"no expected rate for community {community!r}", column="expected"
            )
        value = expected[community]
    else:
        value = expected
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise AnalysisInputError(
            f"expected rate {value!r} is not a number", column="expected"
        ) from None
    if not 0 <= value <= 1:
        raise AnalysisInputError(
            f"expected rate {value!r} is not between 0 and 1", column="expected"
        )
    return value


def _check_options(r, icc, method, level, target, replicates):
    if not 0 < r <= 1:
        raise AnalysisInputError(f"response rate must be in (0, 1], got {r!r}")
    if not 0 <= icc < 1:
        raise AnalysisInputError(f"icc must be in [0, 1), got {icc!r}")
    if method not in METHODS:
        raise AnalysisInputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not (0 < level < 1 and 0 < target < 1):
        raise AnalysisInputError("level and target must be between 0 and 1")
    if replicates < 100:
        raise AnalysisInputError(f"replicates must be at least 100, got {replicates!r}")


def _sizes(design: WaveDesign, f: _Frame) -> np.ndarray:
    value = design.n if design.kind == "srs" else design.buildings
    if isinstance(value, Mapping):
        sizes = np.array([int(value.get(c, 0)) for c in f.communities])
    else:
        sizes = np.full(len(f.communities), int(value))
    if (sizes < 1).any():
        raise AnalysisInputError("sample sizes must be at least 1")
    return sizes


def _with_sizes(design: WaveDesign, communities, sizes) -> WaveDesign:
    mapping = {c: int(s) for c, s in zip(communities, sizes, strict=True)}
    if design.kind == "srs":
        return replace(design, n=mapping)
    return replace(design, buildings=mapping)
