"""tf.Transform preprocessing for both tasks (Transform's `preprocessing_fn`).

LCD: inputs, deltas and periods are scaled into [-1, 1] with minima and
maxima of the training split, as the paper scales states, periods and
targets. TFT has no inverse transform, so the six scaling constants are also
emitted as the `scaling` feature: the Trainer reads them once and bakes the
inverse into the serving signatures.

ART: each query is split into characters mapped to integer ids with a
vocabulary computed on the training split.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

# Order of the constants in the LCD `scaling` feature. x0's range is not a
# scaling (x0 is scaled with x's); it marks the requests the training covered.
SCALING_KEYS = (
    "x_min",
    "x_max",
    "delta_min",
    "delta_max",
    "period_min",
    "period_max",
    "x0_min",
    "x0_max",
)
ART_VOCABULARY = "art_characters"
ART_OOV_BUCKETS = 1


def scale(values: tf.Tensor, low, high) -> tf.Tensor:
    """Maps [low, high] onto [-1, 1]; a constant feature maps to 0."""
    span = tf.cast(high, tf.float32) - tf.cast(low, tf.float32)
    safe = tf.where(span > 0, span, tf.ones_like(span))
    return tf.where(span > 0, 2.0 * (values - low) / safe - 1.0, tf.zeros_like(values))


def unscale(values: tf.Tensor, low, high) -> tf.Tensor:
    """The inverse of `scale`."""
    return (values + 1.0) / 2.0 * (high - low) + low


def lcd_preprocessing_fn(inputs):
    """x [B, n+1] and period [B, 1] -> scaled model inputs and targets.

    Outputs: x_scaled [B, n] = x(0..n-1); delta_scaled [B, n] = x(t+1) - x(t);
    x0_scaled [B] = x(0); period_scaled [B]; scaling [B, 8] (SCALING_KEYS);
    x_target [B, n] = x(1..n) unscaled, the label of the Evaluator's rollout error.
    """
    x = tf.cast(inputs["x"], tf.float32)
    period = tf.cast(inputs["period"], tf.float32)[:, 0]
    delta = x[:, 1:] - x[:, :-1]
    x_min, x_max = tft.min(x), tft.max(x)
    delta_min, delta_max = tft.min(delta), tft.max(delta)
    period_min, period_max = tft.min(period), tft.max(period)
    x0_min, x0_max = tft.min(x[:, 0]), tft.max(x[:, 0])
    constants = tf.stack(
        [x_min, x_max, delta_min, delta_max, period_min, period_max, x0_min, x0_max]
    )
    batch = tf.shape(x)[0]
    return {
        "x_scaled": scale(x[:, :-1], x_min, x_max),
        "x0_scaled": scale(x[:, 0], x_min, x_max),
        "period_scaled": scale(period, period_min, period_max),
        "delta_scaled": scale(delta, delta_min, delta_max),
        "scaling": tf.tile(tf.cast(constants, tf.float32)[None, :], [batch, 1]),
        "x_target": x[:, 1:],
    }


def art_query_length(num_pairs: int) -> int:
    """Characters in a query: the pairs, "??" and the query letter."""
    return 2 * num_pairs + 3


def art_preprocessing_fn(inputs, custom_config):
    """query [B, 1] string, target [B, 1] int -> tokens [B, length] ids and label [B].

    `custom_config["num_pairs"]` fixes the query length, so tokens have a
    static shape and reach Keras dense. The vocabulary covers the characters
    seen in training; an unseen character maps to an out-of-vocabulary id.
    """
    length = art_query_length(int(custom_config["num_pairs"]))
    query = tf.reshape(inputs["query"], [-1])
    characters = tf.strings.bytes_split(query).to_tensor(default_value="", shape=[None, length])
    tokens = tft.compute_and_apply_vocabulary(
        characters, num_oov_buckets=ART_OOV_BUCKETS, vocab_filename=ART_VOCABULARY
    )
    outputs = {"tokens": tokens}
    if "target" in inputs:
        outputs["label"] = tf.reshape(tf.cast(inputs["target"], tf.int64), [-1])
    return outputs
