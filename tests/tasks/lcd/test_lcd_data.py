import numpy as np
import pytest
import tensorflow as tf

from tfx_seqgen.components import InvalidParameterError
from tfx_seqgen.tasks.lcd.data import LcdDataset


def reference_value(amplitude, t, decay_steps, period, alpha, beta):
    """TensorFlow's own linear cosine decay, as the paper's code computes LCD."""
    schedule = tf.compat.v1.train.linear_cosine_decay(
        float(amplitude), t, decay_steps, num_periods=period, alpha=alpha, beta=beta
    )
    return float(schedule() if callable(schedule) else schedule)


def test_defaults_are_the_papers():
    data = LcdDataset()
    assert data.train_periods == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert data.eval_periods == [1.0, 2.0, 3.0, 4.0]
    assert (data.train_per_period, data.eval_per_period, data.length) == (1000, 500, 25)
    assert (data.x0_low, data.x0_high, data.alpha, data.beta) == (2.0, 4.0, 0.0, 0.001)
    # Beside the paper's splits, a calibration split of 250 per eval period.
    assert data.split_sizes() == {"train": 5000, "eval": 2000, "calibration": 1000}
    assert LcdDataset(calibration_per_period=0).split_sizes() == {"train": 5000, "eval": 2000}


def test_the_calibration_split_lies_at_the_eval_periods_with_x0_draws_of_its_own():
    data = LcdDataset(eval_per_period=5, calibration_per_period=5)
    calibration, evaluation = data.arrays("calibration", 0, 20), data.arrays("eval", 0, 20)
    np.testing.assert_array_equal(calibration["period"][:, 0], np.repeat([1.0, 2.0, 3.0, 4.0], 5))
    assert not np.isin(calibration["x"][:, 0], evaluation["x"][:, 0]).any()
    assert ((calibration["x"][:, 0] >= 2.0 * 1.001) & (calibration["x"][:, 0] < 4.0 * 1.001)).all()


@pytest.mark.parametrize("alpha,beta", [(0.0, 0.001), (0.2, 0.05)])
def test_values_match_tensorflows_linear_cosine_decay(alpha, beta):
    data = LcdDataset(train_per_period=3, alpha=alpha, beta=beta, length=25)
    arrays = data.arrays("train", 0, 15)
    x, period = arrays["x"], arrays["period"]
    assert x.shape == (15, 26) and x.dtype == np.float32
    assert period.shape == (15, 1)
    for row in (0, 4, 7, 14):
        amplitude = x[row, 0] / (1 + alpha + beta)  # x(0) = A * (1 + alpha + beta)
        for t in (0, 1, 12, 25):
            expected = reference_value(amplitude, t, 26, float(period[row, 0]), alpha, beta)
            assert x[row, t] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_first_value_is_amplitude_times_one_plus_beta():
    x = LcdDataset(train_per_period=2000).arrays("train", 0, 10_000)["x"]
    amplitude = x[:, 0] / 1.001
    assert amplitude.min() >= 2.0 and amplitude.max() <= 4.0
    assert amplitude.min() < 2.01 and amplitude.max() > 3.99  # the whole range is used


def test_periods_are_assigned_in_blocks_of_per_period():
    data = LcdDataset(eval_periods=[1.0, 3.0], eval_per_period=4)
    period = data.arrays("eval", 0, 8)["period"].ravel()
    np.testing.assert_array_equal(period, [1, 1, 1, 1, 3, 3, 3, 3])


def test_records_do_not_depend_on_how_a_split_is_cut():
    data = LcdDataset(train_per_period=20)
    whole = data.arrays("train", 0, 100)["x"]
    pieces = np.concatenate(
        [data.arrays("train", a, b)["x"] for a, b in [(0, 33), (33, 34), (34, 100)]]
    )
    np.testing.assert_array_equal(whole, pieces)


def test_seed_changes_the_data_and_repeats_reproduce_it():
    first = LcdDataset(seed=1).arrays("train", 0, 50)["x"]
    again = LcdDataset(seed=1).arrays("train", 0, 50)["x"]
    other = LcdDataset(seed=2).arrays("train", 0, 50)["x"]
    np.testing.assert_array_equal(first, again)
    assert not np.any(first[:, 0] == other[:, 0])


INVALID = [
    ("train_periods", []),
    ("train_periods", [1.0, float("nan")]),
    ("eval_periods", [1.0, -2.0]),
    ("eval_periods", [2.0, 2.0]),
    ("eval_periods", "1,2"),
    ("train_per_period", 0),
    ("eval_per_period", -5),
    ("train_per_period", 2.5),
    ("train_per_period", True),
    ("length", 1),
    ("x0_low", float("inf")),
    ("alpha", float("nan")),
    ("beta", "0.1"),
    ("seed", -1),
    ("seed", 2**63),
    ("shard_size", 0),
]


@pytest.mark.parametrize("name,value", INVALID)
def test_invalid_parameters_name_the_parameter_and_value(name, value):
    with pytest.raises(InvalidParameterError) as raised:
        LcdDataset(**{name: value})
    assert raised.value.name == name
    message = str(raised.value)
    assert f"{name}={value!r}" in message and "allowed:" in message


def test_inverted_x0_range_is_refused():
    with pytest.raises(
        InvalidParameterError, match=r"x0_high=1\.0 is invalid.*greater than x0_low=2\.0"
    ):
        LcdDataset(x0_low=2.0, x0_high=1.0)


def test_values_match_the_formula_written_out():
    """A = 3, T = 2, decay steps 26, alpha 0, beta 0.001, for t = 0, 13 and 25."""
    x = LcdDataset().sequences(np.array([[3.0]]), np.array([[2.0]]))[0]
    assert x.shape == (26,)
    # t = 0: 3 * (1 * 1 + 0.001); t = 13: cos(2 pi 2 13 / 26) = 1, so 3 * (0.5 + 0.001).
    assert x[0] == pytest.approx(3.003)
    assert x[13] == pytest.approx(1.503)
    # t = 25: 3 * ((1 / 26) * (1 + cos(2 pi 2 25 / 26)) / 2 + 0.001)
    cosine = np.cos(2 * np.pi * 2 * 25 / 26)
    assert x[25] == pytest.approx(3 * ((1 / 26) * (1 + cosine) / 2 + 0.001))
