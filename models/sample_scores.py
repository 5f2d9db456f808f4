"""Scores of sampled trajectories against the truth: CRPS, the 90% band, the sample mean.

Probabilistic forecasting libraries (GluonTS, Darts, NeuralForecast) judge a
generator's samples by the continuous ranked probability score and by how
often, and how cheaply, their prediction intervals hold the truth. These are
written once, in TensorFlow ops: the SavedModel's `evaluate` signature
computes them in the graph (so TFMA's built-in metrics can average them and
the Evaluator imports nothing of ours), and the benchmarks, the notebook and
the demo call the same functions eagerly on NumPy arrays.

Shapes: `samples` [..., S, T] (S samples of T steps), `truth` [..., T].
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# The central band the coverage and width describe: 5% to 95%, 90% nominal.
BAND = (0.05, 0.95)


def crps(samples, truth) -> tf.Tensor:
    """The ensemble CRPS per step [..., T]: E|X - y| - E|X - X'| / 2 over the samples.

    The samples' empirical distribution is scored exactly (the form
    `properscoring.crps_ensemble` computes). E|X - X'| comes from the sorted
    samples in O(S log S): sum_ij |x_i - x_j| = 2 sum_i (2i - S - 1) x_(i).
    A single sample scores its absolute error.
    """
    samples = tf.convert_to_tensor(samples, tf.float32)
    truth = tf.convert_to_tensor(truth, tf.float32)
    count = tf.cast(tf.shape(samples)[-2], tf.float32)
    error = tf.reduce_mean(tf.abs(samples - truth[..., None, :]), axis=-2)
    ordered = tf.sort(samples, axis=-2)
    rank = tf.range(1, tf.shape(samples)[-2] + 1, dtype=tf.float32)
    weights = (2.0 * rank - count - 1.0)[:, None]
    spread = 2.0 * tf.reduce_sum(weights * ordered, axis=-2) / (count * count)
    return error - 0.5 * spread


def quantiles(samples, probabilities=BAND) -> tf.Tensor:
    """The samples' quantiles [len(probabilities), ..., T], interpolated as NumPy's default."""
    samples = tf.convert_to_tensor(samples, tf.float32)
    ordered = tf.sort(samples, axis=-2)
    last = tf.cast(tf.shape(samples)[-2] - 1, tf.float32)
    result = []
    for p in probabilities:
        position = p * last
        below = tf.floor(position)
        fraction = position - below
        low = tf.gather(ordered, tf.cast(below, tf.int32), axis=-2)
        high = tf.gather(ordered, tf.cast(tf.math.ceil(position), tf.int32), axis=-2)
        result.append(low + fraction * (high - low))
    return tf.stack(result)


def inside_band(samples, truth) -> tf.Tensor:
    """1.0 where the truth lies inside the samples' 5-95% band, else 0.0 [..., T]."""
    low, high = tf.unstack(quantiles(samples))
    truth = tf.convert_to_tensor(truth, tf.float32)
    return tf.cast((truth >= low) & (truth <= high), tf.float32)


def band_width(samples) -> tf.Tensor:
    """The width of the samples' 5-95% band [..., T]."""
    low, high = tf.unstack(quantiles(samples))
    return high - low


def sample_mean(samples) -> tf.Tensor:
    """The samples' mean trajectory [..., T]: its squared error is the mean-path MSE."""
    return tf.reduce_mean(tf.convert_to_tensor(samples, tf.float32), axis=-2)


def per_step(samples, truth) -> dict:
    """Every score per sequence and step, as NumPy arrays [..., T]."""
    return {
        "crps": crps(samples, truth).numpy(),
        "coverage": inside_band(samples, truth).numpy(),
        "band_width": band_width(samples).numpy(),
        "mean_squared_error": (sample_mean(samples).numpy() - np.asarray(truth)) ** 2,
    }
