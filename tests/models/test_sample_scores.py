"""Scores of sampled trajectories against closed forms and constructed samples."""

import math

import numpy as np
import pytest

from tfx_seqgen.models import sample_scores


def test_crps_of_a_single_sample_is_its_absolute_error():
    samples = np.array([[[1.0, -2.0, 0.5]]])  # one sample of three steps
    truth = np.array([[1.5, 1.0, 0.5]])
    np.testing.assert_allclose(sample_scores.crps(samples, truth), [[0.5, 3.0, 0.0]], atol=1e-6)


def test_crps_of_two_samples_matches_the_written_out_expectation():
    # {0, 2} against y = 0.5: E|X - y| = (0.5 + 1.5) / 2 = 1; E|X - X'| = 2 * 2 / 4 = 1.
    samples = np.array([[[0.0], [2.0]]])
    np.testing.assert_allclose(sample_scores.crps(samples, [[0.5]]), [[0.5]], atol=1e-6)


@pytest.mark.parametrize("truth", [0.0, 0.7, -3.0])
def test_crps_of_a_large_gaussian_ensemble_is_the_analytic_gaussian_crps(truth):
    sigma, mu = 2.0, 0.5
    rng = np.random.default_rng(0)
    samples = rng.normal(mu, sigma, size=(1, 40_000, 1))
    z = (truth - mu) / sigma
    pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    analytic = sigma * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))
    score = float(sample_scores.crps(samples, [[truth]])[0, 0])
    assert score == pytest.approx(analytic, rel=0.02)


def test_crps_is_computed_per_sequence_and_step():
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(4, 9, 6))
    truth = rng.normal(size=(4, 6))
    scores = sample_scores.crps(samples, truth).numpy()
    assert scores.shape == (4, 6)
    for b in range(4):
        for t in range(6):
            x, y = samples[b, :, t], truth[b, t]
            pairwise = np.abs(x[:, None] - x[None, :]).mean()
            assert scores[b, t] == pytest.approx(np.abs(x - y).mean() - pairwise / 2, abs=1e-5)


def test_band_holds_the_truth_between_the_5th_and_95th_percentiles():
    samples = np.arange(100.0)[None, :, None].repeat(6, axis=2)  # 0..99 at each of 6 steps
    # NumPy's linear percentiles of 0..99: 5% is 4.95, 95% is 94.05.
    truth = np.array([[4.0, 5.0, 50.0, 94.0, 95.0, -1.0]])
    np.testing.assert_array_equal(sample_scores.inside_band(samples, truth), [[0, 1, 1, 1, 0, 0]])
    np.testing.assert_allclose(sample_scores.band_width(samples), [[89.1] * 6], atol=1e-4)


def test_identical_samples_have_no_band_and_cover_only_an_exact_truth():
    samples = np.full((1, 50, 2), 3.0)
    assert sample_scores.band_width(samples).numpy().tolist() == [[0.0, 0.0]]
    assert sample_scores.inside_band(samples, [[3.0, 3.1]]).numpy().tolist() == [[1.0, 0.0]]


def test_per_step_scores_include_the_squared_error_of_the_sample_mean():
    samples = np.array([[[1.0, 2.0], [3.0, 6.0]]])  # mean path (2, 4)
    scores = sample_scores.per_step(samples, np.array([[2.5, 1.0]]))
    np.testing.assert_allclose(scores["mean_squared_error"], [[0.25, 9.0]])
    assert set(scores) == {"crps", "coverage", "band_width", "mean_squared_error"}
