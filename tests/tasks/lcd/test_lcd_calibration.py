"""The out-of-sample band calibration and how `generate` applies it."""

import numpy as np
import pytest
import tensorflow as tf

from tfx_seqgen.models import conformal
from tfx_seqgen.tasks.lcd import calibration as lcd_calibration
from tfx_seqgen.tasks.lcd.model import LcdModel
from tfx_seqgen.tasks.lcd.signatures import LcdServing


def test_held_out_periods_are_every_other_interior_training_period():
    assert lcd_calibration.held_out_periods([0.5, 1.5, 2.5, 3.5, 4.5]) == [1.5, 3.5]
    assert lcd_calibration.held_out_periods([3.0, 1.0, 2.0, 2.0]) == [2.0]
    assert lcd_calibration.held_out_periods([1.0, 2.0]) == []


def test_required_multiplier_just_reaches_the_truth_on_its_side():
    # Deviations -1.00, -0.98, ..., 1.00: NumPy's 5th and 95th percentiles are -0.9 and 0.9.
    deviations = np.linspace(-1, 1, 101)[None, :, None].repeat(3, axis=2)
    error = np.array([[0.45, -1.8, 0.0]])
    np.testing.assert_allclose(conformal.scores(error, deviations), [[0.5, 2.0, 0.0]], atol=1e-9)


def test_band_scale_is_the_90th_percentile_multiplier_scaled_by_the_distance_factor():
    count, steps = 200, 4
    # The fold model: mean path 0; each sequence's samples spread -w..w around it,
    # with w = 1 or 2 drawn from the sequence's own seed, so a band that ignored
    # the seeds, or used one sequence's for another, would come out different.
    unit = np.linspace(-1, 1, lcd_calibration.CALIBRATION_SAMPLES, dtype=np.float32)
    width = lambda seeds: 1.0 + (np.asarray(seeds) % 2)  # noqa: E731
    seen = []

    def sample(x0, period, seed, num_samples, steps):
        seen.append(seed.numpy())
        spread = width(seed.numpy())[:, None] * unit[None, :]
        paths = np.broadcast_to(spread[:, :, None], (len(x0), num_samples, steps + 1))
        return tf.constant(paths.copy())

    def mean_path(x0, period, steps):
        return tf.zeros([len(x0), steps])

    # Truth above the path by 0.01 * i at every step for sequence i.
    x = np.zeros((count, steps + 1), np.float32)
    x[:, 1:] = 0.01 * np.arange(count)[:, None]
    scale = lcd_calibration.band_scale(sample, mean_path, x, np.full(count, 1.5))
    (seeds,) = seen
    np.testing.assert_array_equal(seeds, conformal.content_seeds(x))  # one per sequence
    # NumPy's 95th percentile of -1.00, -0.98, ..., 1.00 is 0.9: each sequence
    # needs 0.01 * i / (0.9 * w); the band takes the 90% quantile, times 1/4.
    required = 0.01 * np.arange(count) / (0.9 * width(seeds))
    np.testing.assert_allclose(scale, [np.quantile(required, 0.9) / 4] * steps, rtol=1e-5)


class _Transform:
    """What LcdServing reads of a TFTransformOutput, with fixed scaling constants."""

    def transform_features_layer(self):
        constants = tf.constant([[0.0, 4.0, -2.0, 2.0, 0.5, 4.5, 2.0, 4.0]])  # SCALING_KEYS
        return lambda raw: {"scaling": constants}

    def raw_feature_spec(self):
        return {
            "x": tf.io.FixedLenFeature([13], tf.float32),
            "period": tf.io.FixedLenFeature([1], tf.float32),
        }


def stepped_by_hand(model, x0, period, steps):
    """The mean-h0 path in original units, from the cell and head stepped in NumPy
    with _Transform's constants: x in [0, 4], deltas in [-2, 2], periods in [0.5, 4.5]."""
    to_unit = lambda v, low, high: 2 * (v - low) / (high - low) - 1  # noqa: E731
    x0_s, period_s = to_unit(x0, 0.0, 4.0), to_unit(period, 0.5, 4.5)
    inputs = {"x": x0_s[:, None], "x0": x0_s, "period": period_s}
    h, c = [t.numpy() for t in model.get_initial_state(inputs, sample=False)[0:2]]
    x, path = x0.astype(np.float64), []
    for _ in range(steps):
        step = np.stack([to_unit(x, 0.0, 4.0), x0_s, period_s], axis=1).astype(np.float32)
        output, (h, c) = model.rnn.rnn.cell(step, [h, c])
        delta = model.head(output).numpy()[:, 0]
        x = x + (delta + 1) / 2 * 4.0 - 2.0  # back to a change of x in [-2, 2]
        path.append(x)
    return np.stack(path, axis=1)


@pytest.mark.parametrize("steps", [3, 6])
def test_generate_scales_each_samples_deviation_from_the_mean_path_per_step(steps):
    model = LcdModel(units=8, context_units=[4], context_every_step=True, initial_scale=0.5)
    model(
        {
            "x": np.zeros((1, 2), "float32"),
            "x0": np.zeros(1, "float32"),
            "period": np.zeros(1, "float32"),
        }
    )
    x0, period = tf.constant([3.0, 2.0]), tf.constant([2.0, 1.0])
    seed = tf.constant([4, 5], tf.int64)
    drawn = LcdServing(model, _Transform()).sample(x0, period, seed, 5, steps).numpy()

    model.band = ((), np.array([[2.0, 0.5, 3.0]], np.float32))
    served = LcdServing(model, _Transform())
    calibrated = served.sample(x0, period, seed, 5, steps).numpy()
    mean = stepped_by_hand(model, x0.numpy(), period.numpy(), steps)[:, None, :]
    multipliers = np.array([2.0, 0.5, 3.0, 3.0, 3.0, 3.0])[:steps]  # the last one holds on
    np.testing.assert_allclose(calibrated[:, :, 0], drawn[:, :, 0])  # x0 stays x0
    np.testing.assert_allclose(
        calibrated[:, :, 1:], mean + multipliers * (drawn[:, :, 1:] - mean), atol=1e-5
    )
    assert not np.allclose(calibrated, drawn)
