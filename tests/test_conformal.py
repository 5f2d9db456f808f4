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
