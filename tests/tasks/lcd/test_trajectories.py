"""Scoring and plotting generated LCD trajectories against the truth."""

import numpy as np

from tfx_seqgen.tasks.lcd import view as trajectories
from tfx_seqgen.tasks.lcd.data import LcdDataset


def test_truth_reproduces_a_generated_record_from_its_first_value():
    data = LcdDataset(eval_per_period=3, length=25)
    record = data.arrays("eval", 5, 6)
    x0, period = float(record["x"][0, 0]), float(record["period"][0, 0])
    np.testing.assert_allclose(trajectories.truth(data, x0, period), record["x"][0], rtol=1e-5)


def test_perfect_samples_score_zero_error_and_full_coverage(tmp_path):
    data = LcdDataset(length=10)

    def oracle(x0, period, seed, num_samples, steps):
        paths = [trajectories.truth(data, a, p) for a, p in zip(x0, period, strict=True)]
        jitter = np.linspace(-0.01, 0.01, num_samples)[None, :, None]
        return np.stack(paths)[:, None, :] + jitter

    results = trajectories.generate_per_period(oracle, data, [1.0, 2.0], num_samples=5)
    assert [r.period for r in results] == [1.0, 2.0]
    assert all(r.samples.shape == (5, 11) for r in results)
    assert all(r.mean_squared_error < 1e-12 and r.coverage == 1.0 for r in results)
    table = trajectories.format_table(results)
    assert "1.00" in table and "100%" in table
    path = trajectories.plot(results, str(tmp_path / "t.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_biased_generator_scores_its_bias():
    data = LcdDataset(length=10)

    def biased(x0, period, seed, num_samples, steps):
        paths = np.stack([trajectories.truth(data, a, p) for a, p in zip(x0, period, strict=True)])
        return np.repeat(paths[:, None, :] + 0.5, num_samples, axis=1)

    (result,) = trajectories.generate_per_period(biased, data, [3.0])
    assert abs(result.mean_squared_error - 0.25) < 1e-6
    assert result.coverage == 0.0
    assert abs(result.scores()["crps"] - 0.5) < 1e-6  # a point forecast: its absolute error
