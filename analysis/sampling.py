"""Drawing a wave's sample from the household frame — reproducibly, with known
inclusion probabilities and ordered reserve replicates.

Pure numpy: the frame comes in as arrays (one element per active household), the draw
goes out as arrays. The web app stores what comes out with every sampled household.

Designs (``design=``):

``census``      全覆盖入户: every household of every stratum; π = 1.
``srs``         ``per_stratum`` households (or ``share`` of them) per stratum, without
                replacement; π = k/N.
``systematic``  households sorted by cluster (building) and sort key, a random start and
                a fixed (fractional) interval N/t through the list, so the sample spreads
                over the buildings (implicit stratification); π = k/N.
``two-stage``   ``clusters`` buildings per stratum, with probability proportional to their
                households (``pps=True``, randomised systematic PPS with certainty
                selections) or equal probability, then ``per_cluster`` households in each
                chosen building (srs); π = π_b · k_b/M_b.
``upload``      see :func:`uploaded`: a sample drawn elsewhere, with its probabilities.

Reserve replicates. Each stratum (each chosen building for two-stage) is drawn as one
ordered list: the main sample (replicate 1) then ``reserves`` replicates of
``reserve_size`` units each. The list is a random permutation of a random sample (srs,
two-stage) or a random permutation of a systematic sample of the whole list's size
(systematic), so the units of replicates 1..r together are again a sample of the same
design with k = n + (r − 1)·s units: releasing the next replicate keeps every inclusion
probability exact (:func:`inclusion_probabilities`), and a refusal is never replaced by a
hand-picked neighbour.

Reproducible: every stratum draws from its own generator seeded with (``seed``, CRC-32 of
the stratum label), over its units sorted by (cluster, sort key), so the draw depends only
on the seed and the frame — not on the frame's row order nor on the other strata.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

DESIGNS = ("census", "srs", "systematic", "two-stage", "upload")


@dataclass(frozen=True)
class Draw:
    """The units drawn (main sample and reserves), one element per drawn unit.

    Attributes
    ----------
    design : str
        One of :data:`DESIGNS`.
    rows : numpy.ndarray
        Positions of the drawn units in the frame arrays.
    replicate : numpy.ndarray
        1 for the main sample, 2, 3, … for the reserve replicates in release order.
    stratum, psu : numpy.ndarray
        The unit's stratum and its primary sampling unit: the building for two-stage,
        the unit itself (its frame position) otherwise.
    pool : numpy.ndarray
        Where the last stage drew from: the stratum, or the building for two-stage.
    pool_size : numpy.ndarray
        Units in the pool (N of the stratum, or M_b of the building).
    psu_prob : numpy.ndarray
        First-stage inclusion probability π_b of the building (1 for one-stage designs).
    stratum_size : dict
        N_h, units of each stratum in the frame.
    stratum_psus : dict
        Buildings of each stratum in the frame (the first-stage population for two-stage).
    given_prob : numpy.ndarray or None
        For ``upload``: the probabilities given with the sample.
    """

    design: str
    rows: np.ndarray
    replicate: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    pool: np.ndarray
    pool_size: np.ndarray
    psu_prob: np.ndarray
    stratum_size: dict
    stratum_psus: dict
    given_prob: np.ndarray | None = None

    def probabilities(self, released: int = 1) -> np.ndarray:
        """π of every drawn unit once replicates 1..``released`` are out (NaN for units
        of replicates not yet released)."""
        if self.given_prob is not None:
            return np.where(self.replicate <= released, self.given_prob, np.nan)
        return inclusion_probabilities(
            self.pool, self.pool_size, self.psu_prob, self.replicate, released
        )


def inclusion_probabilities(
    pool: np.ndarray,
    pool_size: np.ndarray,
    psu_prob: np.ndarray,
    replicate: np.ndarray,
    released: int | np.ndarray,
) -> np.ndarray:
    """π_i = π_b · k/M for units whose replicate is released, NaN for the others.

    Parameters
    ----------
    pool, pool_size, psu_prob, replicate : numpy.ndarray
        As in :class:`Draw` (one element per drawn unit).
    released : int or numpy.ndarray
        Replicates released: one number for all, or one per unit (the same for every unit
        of a pool).

    Returns
    -------
    numpy.ndarray
        k counts the released units of the unit's pool.
    """
    replicate = np.asarray(replicate)
    out = replicate <= np.asarray(released)
    codes, _ = _factorize(np.asarray(pool, dtype=object))
    k = np.bincount(codes, weights=out.astype(float))[codes]
    prob = np.asarray(psu_prob, dtype=float) * k / np.asarray(pool_size, dtype=float)
    return np.where(out, prob, np.nan)


def draw(
    stratum: np.ndarray,
    cluster: np.ndarray,
    sort_key: np.ndarray,
    *,
    design: str,
    seed: int,
    per_stratum: int | None = None,
    share: float | None = None,
    clusters: int | None = None,
    per_cluster: int | None = None,
    pps: bool = True,
    reserves: int = 0,
    reserve_size: int | None = None,
) -> Draw:
    """Draw a sample from a frame given as equal-length arrays.

    Parameters
    ----------
    stratum, cluster, sort_key : numpy.ndarray
        Per frame unit (household): its stratum (community), cluster (building) and a
        sort key (household code) for the systematic order.
    design : {"census", "srs", "systematic", "two-stage"}
    seed : int
        Everything drawn follows from it (with the frame).
    per_stratum, share : int, float
        Main sample size per stratum for srs/systematic: a number (capped at N) or a
        share of N (rounded up). One of the two.
    clusters, per_cluster : int
        Two-stage: buildings per stratum and households per chosen building.
    pps : bool
        Two-stage: buildings with probability proportional to their households.
    reserves, reserve_size : int
        Reserve replicates per pool and units in each (default: a fifth of the main
        sample, at least 1). Fewer when the pool runs out.

    Returns
    -------
    Draw

    Raises
    ------
    ValueError
        Unknown design, missing or impossible size, empty frame.
    """
    stratum, cluster, sort_key = (np.asarray(a, dtype=object) for a in (stratum, cluster, sort_key))
    if not (len(stratum) == len(cluster) == len(sort_key)):
        raise ValueError("stratum, cluster and sort_key must have the same length")
    if len(stratum) == 0:
        raise ValueError("the frame has no households")
    if design not in DESIGNS or design == "upload":
        raise ValueError(
            f"design must be one of census, srs, systematic, two-stage, not {design!r}"
        )
    if reserves < 0 or (reserve_size is not None and reserve_size < 1):
        raise ValueError("reserves must be ≥ 0 and reserve_size ≥ 1")
    _check_sizes(design, per_stratum, share, clusters, per_cluster)
    parts = []
    strata_labels = sorted(set(stratum.tolist()), key=str)
    stratum_size, stratum_psus = {}, {}
    for label in strata_labels:
        rows = np.flatnonzero(stratum == label)
        rows = rows[_order(cluster[rows], sort_key[rows])]
        stratum_size[label] = len(rows)
        stratum_psus[label] = len(set(cluster[rows].tolist()))
        rng = np.random.default_rng([seed, zlib.crc32(str(label).encode())])
        args = (rng, rows, cluster, per_stratum, share, reserves, reserve_size)
        if design == "census":
            parts.append(_census(label, rows))
        elif design == "srs":
            parts.append(_one_stage(label, *args, systematic=False))
        elif design == "systematic":
            parts.append(_one_stage(label, *args, systematic=True))
        else:
            parts.append(
                _two_stage(
                    label, rng, rows, cluster, clusters, per_cluster, pps, reserves, reserve_size
                )
            )
    columns = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    return Draw(design, *columns, stratum_size=stratum_size, stratum_psus=stratum_psus)


def uploaded(
    stratum: np.ndarray, rows: np.ndarray, probabilities: np.ndarray | None = None
) -> Draw:
    """A sample drawn elsewhere: the frame's ``stratum`` array, the chosen ``rows`` and
    their selection probabilities (default: k/N within the stratum). One replicate."""
    stratum = np.asarray(stratum, dtype=object)
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        raise ValueError("the uploaded sample has no households")
    if len(set(rows.tolist())) != len(rows):
        raise ValueError("a household appears twice in the uploaded sample")
    labels, counts = np.unique(stratum.astype(str), return_counts=True)
    size = {str(k): int(v) for k, v in zip(labels, counts, strict=True)}
    s = stratum[rows]
    taken = {k: int(v) for k, v in zip(*np.unique(s.astype(str), return_counts=True), strict=True)}
    if probabilities is None:
        prob = np.array([taken[str(x)] / size[str(x)] for x in s], dtype=float)
    else:
        prob = np.asarray(probabilities, dtype=float)
        if len(prob) != len(rows) or not np.all((prob > 0) & (prob <= 1)):
            raise ValueError("selection probabilities must be in (0, 1], one per household")
    by_label = {str(x): x for x in stratum.tolist()}
    return Draw(
        "upload",
        rows,
        np.ones(len(rows), dtype=np.int64),
        s,
        rows.astype(object),
        s,
        np.array([size[str(x)] for x in s], dtype=np.int64),
        np.ones(len(rows)),
        stratum_size={by_label[k]: v for k, v in size.items()},
        stratum_psus={by_label[k]: v for k, v in size.items()},
        given_prob=prob,
    )


# --- the designs -------------------------------------------------------------------------


def _census(label, rows):
    n = len(rows)
    return (
        rows,
        np.ones(n, dtype=np.int64),
        np.full(n, label, dtype=object),
        rows.astype(object),
        np.full(n, label, dtype=object),
        np.full(n, n, dtype=np.int64),
        np.ones(n),
    )


def _one_stage(
    label, rng, rows, cluster, per_stratum, share, reserves, reserve_size, *, systematic
):
    big_n = len(rows)
    n = _main_size(big_n, per_stratum, share)
    sizes = _replicate_sizes(big_n, n, reserves, reserve_size)
    total = sum(sizes)
    if systematic:
        interval = big_n / total
        start = rng.uniform(0.0, interval)
        chosen = rows[np.floor(start + interval * np.arange(total)).astype(np.int64)]
        chosen = chosen[rng.permutation(total)]
    else:
        chosen = rows[rng.permutation(big_n)[:total]]
    replicate = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    return (
        chosen,
        replicate,
        np.full(total, label, dtype=object),
        chosen.astype(object),
        np.full(total, label, dtype=object),
        np.full(total, big_n, dtype=np.int64),
        np.ones(total),
    )


def _two_stage(label, rng, rows, cluster, b, m, pps, reserves, reserve_size):
    names = list(dict.fromkeys(cluster[rows].tolist()))  # sorted order of the stratum
    members = {c: rows[cluster[rows] == c] for c in names}
    sizes = np.array([len(members[c]) for c in names], dtype=float)
    prob = _pps_probabilities(sizes, b) if pps else np.full(len(names), min(1.0, b / len(names)))
    chosen = (
        _pps_systematic(rng, prob) if pps else rng.permutation(len(names))[: min(b, len(names))]
    )
    out = []
    for i in sorted(chosen.tolist()):
        units = members[names[i]]
        big_m = len(units)
        reps = _replicate_sizes(big_m, min(m, big_m), reserves, reserve_size)
        take = units[rng.permutation(big_m)[: sum(reps)]]
        k = len(take)
        out.append(
            (
                take,
                np.repeat(np.arange(1, len(reps) + 1), reps),
                np.full(k, label, dtype=object),
                np.full(k, names[i], dtype=object),
                _filled(k, (label, names[i])),
                np.full(k, big_m, dtype=np.int64),
                np.full(k, prob[i]),
            )
        )
    return tuple(np.concatenate([o[j] for o in out]) for j in range(7))


def _pps_probabilities(sizes: np.ndarray, b: int) -> np.ndarray:
    """π_b = b·M_b/M, with buildings that would exceed 1 taken with certainty and the
    rest recomputed among the others (the usual iterative rule)."""
    prob = np.zeros(len(sizes))
    certain = np.zeros(len(sizes), dtype=bool)
    b = min(b, len(sizes))
    while True:
        left = b - certain.sum()
        rest = ~certain
        prob[rest] = left * sizes[rest] / sizes[rest].sum() if left > 0 else 0.0
        prob[certain] = 1.0
        over = rest & (prob >= 1.0)
        if not over.any():
            return prob
        certain |= over


def _pps_systematic(rng, prob: np.ndarray) -> np.ndarray:
    """Randomised systematic PPS: a random order, then one random start on the cumulated
    probabilities; selects each unit with exactly its π (which sum to the sample size)."""
    order = rng.permutation(len(prob))
    cum = np.concatenate([[0.0], np.cumsum(prob[order])])
    total = int(round(cum[-1]))
    points = rng.uniform(0.0, 1.0) + np.arange(total)
    hit = np.searchsorted(cum, points, side="right") - 1
    return np.unique(order[np.clip(hit, 0, len(prob) - 1)])


# --- helpers -----------------------------------------------------------------------------


def _check_sizes(design, per_stratum, share, clusters, per_cluster):
    if design in ("srs", "systematic"):
        if (per_stratum is None) == (share is None):
            raise ValueError(f"{design} needs either a number per community or a share")
        if per_stratum is not None and per_stratum < 1:
            raise ValueError("the number per community must be at least 1")
        if share is not None and not 0 < share <= 1:
            raise ValueError("the share must be in (0, 1]")
    if design == "two-stage":
        if clusters is None or per_cluster is None or clusters < 1 or per_cluster < 1:
            raise ValueError("two-stage needs buildings ≥ 1 and households per building ≥ 1")


def _main_size(big_n: int, per_stratum: int | None, share: float | None) -> int:
    if per_stratum is not None:
        return min(per_stratum, big_n)
    return min(big_n, max(1, math.ceil(share * big_n - 1e-9)))


def _replicate_sizes(big_n: int, n: int, reserves: int, reserve_size: int | None) -> list[int]:
    """Main size then the reserve replicates' sizes, as far as the pool allows."""
    size = reserve_size if reserve_size is not None else max(1, round(n / 5))
    sizes, left = [n], big_n - n
    for _ in range(reserves):
        if left <= 0:
            break
        sizes.append(min(size, left))
        left -= sizes[-1]
    return sizes


def _filled(n: int, value) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [value] * n
    return out


def _order(cluster: np.ndarray, sort_key: np.ndarray) -> np.ndarray:
    return np.array(
        sorted(range(len(cluster)), key=lambda i: (str(cluster[i]), str(sort_key[i]))),
        dtype=np.int64,
    )


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list]:
    index: dict = {}
    codes = np.array([index.setdefault(v, len(index)) for v in values.tolist()], dtype=np.int64)
    return codes, list(index)
