"""Split-conformal calibration (models/conformal.py) against cases whose answers are known."""

import math

import numpy as np
import pytest

from tfx_seqgen.models import conformal


def test_the_quantile_is_the_kth_smallest_score_with_k_from_n_plus_one():
    scores = np.random.default_rng(0).permutation(np.arange(1.0, 100.0))  # 1..99
    assert conformal.quantile(scores) == 90.0  # k = ceil(100 * 0.9) = 90
    assert conformal.quantile(np.arange(1.0, 10.0)) == 9.0  # n = 9: k = ceil(9.0) = 9
    assert conformal.quantile(np.arange(1.0, 9.0)) == math.inf  # n = 8: k = 9 > n
    assert conformal.needed() == 9
    # Missing steps (NaN) are not scores.
    assert conformal.quantile(np.array([np.nan, *range(1, 10)], float)) == 9.0


def test_a_score_is_the_factor_that_brings_the_band_to_the_truth():
    deviations = np.linspace(-1.0, 1.0, 101)[None, :, None].repeat(2, axis=2)  # 5%/95%: -+0.9
    error = np.array([[2.0, -3.0]])
    np.testing.assert_allclose(conformal.scores(error, deviations), [[2 / 0.9, 3 / 0.9]])


def test_small_groups_and_unseen_contexts_take_the_pooled_factors():
    scores = np.concatenate([np.arange(1.0, 61.0), 100 + np.arange(1.0, 11.0)])[:, None]
    groups = ["a"] * 60 + ["b"] * 10
    calibration = conformal.fit(scores, groups, min_group=50)
    assert calibration.keys == ("a",)
    assert calibration.counts == {"a": 60, "b": 10}
    assert calibration.factors("a")[0] == 55.0  # k = ceil(61 * 0.9) = 55 of 1..60
    # Pooled: k = ceil(71 * 0.9) = 64 of 1..60, 101..110, the second group's 4th.
    pooled = 104.0
    assert calibration.factors("b")[0] == pooled
    assert calibration.factors("never seen")[0] == pooled


def test_a_step_few_sequences_reach_takes_the_previous_steps_factor():
    scores = np.full((20, 3), np.nan)
    scores[:, 0] = np.arange(1.0, 21.0)
    scores[:12, 1] = np.arange(1.0, 13.0) * 2  # 12 sequences: k = 12, finite
    scores[:5, 2] = 1.0  # 5 sequences: too few
    calibration = conformal.fit(scores, ["g"] * 20)
    np.testing.assert_allclose(calibration.factors("g"), [19.0, 24.0, 24.0])


def test_too_small_a_calibration_split_is_refused_saying_how_many_it_needs():
    with pytest.raises(ValueError, match="has 5 sequences; a 90% band needs at least 9"):
        conformal.fit(np.ones((5, 2)), ["g"] * 5)


def _coverage(rng, calibration, group, sigma, spread, count, steps, samples=100):
    """Coverage of the calibrated 5-95% band of fresh samples on fresh truths."""
    truth = rng.normal(0.0, sigma, (count, steps))
    deviations = rng.normal(0.0, spread, (count, samples, steps)) * calibration.factors(group)
    low, high = np.percentile(deviations, [5, 95], axis=1)
    return float(np.mean((truth >= low) & (truth <= high)))


def test_calibrated_bands_cover_ninety_percent_of_exchangeable_data_in_every_group():
    """A model whose spread is too narrow (0.3) for truths whose error grows by step and
    differs by group; calibrated on 600 sequences, judged on 4000 fresh ones. Split
    conformal coverage is at least 90% on average and at most 90% + 1/(n + 1); the
    tolerance (0.03) is about three binomial standard deviations of a 300-sequence group."""
    rng = np.random.default_rng(7)
    steps, spread = 4, 0.3
    sigma = {"calm": np.array([0.2, 0.4, 0.6, 0.8]), "wild": np.array([1.0, 1.5, 2.0, 2.5])}
    groups = ["calm"] * 300 + ["wild"] * 300
    truth = np.stack([rng.normal(0.0, sigma[g]) for g in groups])
    deviations = rng.normal(0.0, spread, (len(groups), 200, steps))
    calibration = conformal.fit(conformal.scores(truth, deviations), groups)
    assert calibration.keys == ("calm", "wild")
    for group in sigma:
        covered = _coverage(rng, calibration, group, sigma[group], spread, 4000, steps)
        assert 0.87 <= covered <= 0.93, (group, covered)
        uncalibrated = conformal.Calibration(("x",), np.ones((2, steps)), {})
        assert _coverage(rng, uncalibrated, group, sigma[group], spread, 4000, steps) < 0.8


def test_a_numeric_context_is_cut_into_equally_filled_bins_of_at_least_min_group():
    values = np.random.default_rng(1).permutation(np.arange(200.0))
    edges = conformal.bin_edges(values, min_group=50)
    np.testing.assert_allclose(edges, [49.75, 99.5, 149.25])  # 4 bins: quartiles of 0..199
    assert np.bincount(conformal.bin_of(values, edges)).tolist() == [50, 50, 50, 50]
    assert conformal.bin_edges(np.arange(400.0), min_group=50).size == 4  # at most 5 bins
    assert conformal.bin_edges(np.arange(99.0), min_group=50).size == 0  # one bin: pooled


def test_the_exported_band_bins_a_numeric_context_and_extends_past_the_calibrated_range():
    import tensorflow as tf

    from tfx_seqgen.models.conformal_band import ConformalBand

    # Bins: below 0.5, 0.5 to 2, from 2. Factors [keys + 1, T]: bins 0 and 2, then pooled.
    table = np.array([[1.0, 2.0], [5.0, 6.0], [9.0, 9.0]])
    band = ConformalBand((0.0, 2.0), table, edges=(0.5, 2.0))
    factors = band.factors(tf.constant([-7.0, 0.4, 1.0, 2.0, 30.0]), 3).numpy()
    np.testing.assert_allclose(
        factors,
        [[1, 2, 2], [1, 2, 2], [9, 9, 9], [5, 6, 6], [5, 6, 6]],  # bin 1 had too few: pooled
    )


def test_binned_bands_cover_ninety_percent_where_the_error_grows_with_a_numeric_context():
    """Truth error sigma = 0.2 + 2u for a numeric context u ~ U(0, 1); a model spread of
    0.5 everywhere. Pooled factors over-cover small u and under-cover large u; factors
    per bin of u cover about 90% at both ends (the tolerance as in the test above)."""
    rng = np.random.default_rng(11)
    u = rng.uniform(0, 1, 1000)
    sigma = lambda u: (0.2 + 2 * u)[:, None]  # noqa: E731
    truth = rng.normal(0.0, 1.0, (1000, 1)) * sigma(u)
    deviations = rng.normal(0.0, 0.5, (1000, 200, 1))
    scores = conformal.scores(truth, deviations)
    edges = conformal.bin_edges(u)
    binned = conformal.fit(scores, conformal.bin_of(u, edges))
    pooled = conformal.fit(scores, [0] * len(u), min_group=10**9)
    for low, high in ((0.0, 0.2), (0.8, 1.0)):
        fresh = rng.uniform(low, high, 3000)
        group = int(conformal.bin_of(np.array([(low + high) / 2]), edges)[0])
        covered = _coverage_at(rng, binned.factors(group), sigma(fresh), 0.5)
        assert 0.87 <= covered <= 0.93, (low, covered)
        pooled_cover = _coverage_at(rng, pooled.factors(0), sigma(fresh), 0.5)
        assert abs(pooled_cover - 0.9) > 0.05, (low, pooled_cover)


def _coverage_at(rng, factors, sigma, spread, samples=200):
    truth = rng.normal(0.0, 1.0, sigma.shape) * sigma
    deviations = rng.normal(0.0, spread, (len(sigma), samples, 1)) * factors
    low, high = np.percentile(deviations, [5, 95], axis=1)
    return float(np.mean((truth >= low) & (truth <= high)))
