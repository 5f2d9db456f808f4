"""Min-max scaling onto [-1, 1] and back, in TensorFlow ops.

Transform's `preprocessing_fn`s scale with it, and the serving signatures
undo it with the constants Transform computed on the training split.
"""

from __future__ import annotations

import tensorflow as tf


def scale(values: tf.Tensor, low, high) -> tf.Tensor:
    """Maps [low, high] onto [-1, 1]; a constant feature maps to 0."""
    span = tf.cast(high, tf.float32) - tf.cast(low, tf.float32)
    safe = tf.where(span > 0, span, tf.ones_like(span))
    return tf.where(span > 0, 2.0 * (values - low) / safe - 1.0, tf.zeros_like(values))


def unscale(values: tf.Tensor, low, high) -> tf.Tensor:
    """The inverse of `scale`."""
    return (values + 1.0) / 2.0 * (high - low) + low
