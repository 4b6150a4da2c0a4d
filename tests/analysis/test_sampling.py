"""Sampling designs: sizes, reproducibility, inclusion probabilities, reserve replicates."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import sampling


def frame(sizes=None):
    """Two communities: A with buildings of 10, 20, 30, 40 households, B with 5 × 8."""
    sizes = sizes or {"A": [10, 20, 30, 40], "B": [8] * 5}
    stratum, cluster, code = [], [], []
    for s, buildings in sizes.items():
        for b, m in enumerate(buildings):
            for h in range(m):
                stratum.append(s)
                cluster.append(f"{b + 1}栋")
                code.append(f"{b + 1}-{h + 1:03d}")
    return (
        np.array(stratum, dtype=object),
        np.array(cluster, dtype=object),
        np.array(code, dtype=object),
    )


def test_census_takes_everyone_with_probability_one():
    s, c, k = frame()
    d = sampling.draw(s, c, k, design="census", seed=1)
    assert sorted(d.rows.tolist()) == list(range(len(s)))
    assert np.all(d.probabilities() == 1.0)


@pytest.mark.parametrize("design", ["srs", "systematic"])
def test_one_stage_sizes_and_probabilities(design):
    s, c, k = frame()
    d = sampling.draw(s, c, k, design=design, seed=7, per_stratum=25, reserves=2, reserve_size=5)
    main = d.replicate == 1
    assert (d.stratum[main] == "A").sum() == 25 and (d.stratum[main] == "B").sum() == 25
    p = d.probabilities(1)
    # Σ 1/π over the sample = N in each stratum (Horvitz–Thompson count of the frame).
    assert np.nansum(1 / p[d.stratum == "A"]) == pytest.approx(100)
    assert np.nansum(1 / p[d.stratum == "B"]) == pytest.approx(40)
    assert np.allclose(p[main & (d.stratum == "A")], 25 / 100)
    p2 = d.probabilities(2)
    assert np.allclose(p2[(d.replicate <= 2) & (d.stratum == "A")], 30 / 100)
    assert np.isnan(p2[d.replicate == 3]).all()
    assert len(set(d.rows.tolist())) == len(d.rows)  # without replacement


def test_reproducible_from_seed_and_frame_order():
    s, c, k = frame()
    a = sampling.draw(s, c, k, design="srs", seed=3, per_stratum=10, reserves=1)
    b = sampling.draw(s, c, k, design="srs", seed=3, per_stratum=10, reserves=1)
    assert a.rows.tolist() == b.rows.tolist()
    other = sampling.draw(s, c, k, design="srs", seed=4, per_stratum=10)
    assert set(other.rows.tolist()) != set(a.rows[a.replicate == 1].tolist())
    perm = np.random.default_rng(0).permutation(len(s))
    shuffled = sampling.draw(
        s[perm], c[perm], k[perm], design="srs", seed=3, per_stratum=10, reserves=1
    )
    assert sorted(k[a.rows].tolist()) == sorted(k[perm][shuffled.rows].tolist())


def test_share_rounds_up_and_caps():
    s, c, k = frame()
    d = sampling.draw(s, c, k, design="srs", seed=1, share=0.26)
    assert (d.stratum == "A").sum() == 26 and (d.stratum == "B").sum() == 11
    d = sampling.draw(s, c, k, design="srs", seed=1, per_stratum=500)
    assert (d.stratum == "B").sum() == 40


def test_systematic_spreads_over_buildings():
    s, c, k = frame({"A": [25, 25, 25, 25]})
    d = sampling.draw(s, c, k, design="systematic", seed=11, per_stratum=20)
    counts = {b: (c[d.rows] == b).sum() for b in ["1栋", "2栋", "3栋", "4栋"]}
    assert set(counts.values()) == {5}


def test_systematic_inclusion_probability_by_simulation():
    s, c, k = frame({"A": [7, 13]})
    hits = np.zeros(len(s))
    for seed in range(2000):
        d = sampling.draw(
            s, c, k, design="systematic", seed=seed, per_stratum=6, reserves=1, reserve_size=2
        )
        hits[d.rows[d.replicate == 1]] += 1
    assert np.allclose(hits / 2000, 6 / 20, atol=0.04)


@pytest.mark.parametrize("pps", [True, False])
def test_two_stage(pps):
    s, c, k = frame()
    d = sampling.draw(s, c, k, design="two-stage", seed=5, clusters=2, per_cluster=6, pps=pps,
                      reserves=1, reserve_size=2)  # fmt: skip
    for label, n_psu in (("A", 2), ("B", 2)):
        assert len(set(d.psu[(d.stratum == label)].tolist())) == n_psu
    main = d.replicate == 1
    assert main.sum() == 24
    p = d.probabilities(1)
    for label, big_n in (("A", 100), ("B", 40)):
        # E[Σ 1/π] = N; with PPS and equal sizes within B it is exact for B.
        est = np.nansum(1 / p[d.stratum == label])
        if label == "B":
            assert est == pytest.approx(big_n)
        assert est > 0
    if pps:
        a = d.stratum == "A"
        mb = d.pool_size[a]
        assert np.allclose(d.psu_prob[a], 2 * mb / 100)


def test_two_stage_expected_horvitz_thompson_count():
    s, c, k = frame({"A": [10, 20, 30, 40]})
    totals = []
    for seed in range(1500):
        d = sampling.draw(s, c, k, design="two-stage", seed=seed, clusters=2, per_cluster=5)
        totals.append(np.sum(1 / d.probabilities(1)))
    assert np.mean(totals) == pytest.approx(100, rel=0.02)


def test_pps_certainty_building():
    s, c, k = frame({"A": [2, 2, 96]})
    d = sampling.draw(s, c, k, design="two-stage", seed=1, clusters=2, per_cluster=2)
    big = d.psu == "3栋"
    assert big.any() and np.allclose(d.psu_prob[big], 1.0)


def test_uploaded():
    s, _, _ = frame()
    d = sampling.uploaded(s, np.array([0, 1, 2, 100]))
    assert np.allclose(d.probabilities(), [3 / 100, 3 / 100, 3 / 100, 1 / 40])
    d = sampling.uploaded(s, np.array([0, 1]), np.array([0.5, 0.25]))
    assert d.probabilities().tolist() == [0.5, 0.25]
    with pytest.raises(ValueError):
        sampling.uploaded(s, np.array([0, 0]))
    with pytest.raises(ValueError):
        sampling.uploaded(s, np.array([0]), np.array([1.5]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"design": "srs"},
        {"design": "srs", "per_stratum": 0},
        {"design": "srs", "share": 1.5},
        {"design": "two-stage", "clusters": 2},
        {"design": "cluster"},
    ],
)
def test_bad_options(kwargs):
    s, c, k = frame()
    with pytest.raises(ValueError):
        sampling.draw(s, c, k, seed=1, **kwargs)


def test_reserves_run_out():
    s, c, k = frame({"A": [5]})
    d = sampling.draw(s, c, k, design="srs", seed=1, per_stratum=4, reserves=3, reserve_size=2)
    assert d.replicate.tolist() == [1, 1, 1, 1, 2]
    assert np.allclose(d.probabilities(2), 1.0)
