"""What every `generate` signature does with its request: one count for the whole request.

TF Serving's batcher needs every input to have a batch dimension, so a
count such as num_samples or steps may come as a scalar or as one equal
entry per row.
"""

from __future__ import annotations

import tensorflow as tf


def per_request(value, batch, name: str) -> tuple:
    """(the scalar, its checks) of an input given as a scalar or as one equal entry per row.

    Rows merged by a batcher from requests that asked for different values
    cannot share one output tensor, so they are refused, naming the input.
    """
    flat = tf.reshape(value, [-1])
    size = tf.size(flat)
    rule = f"{name} must be a scalar, or a vector with one entry per row of x0"
    checks = [
        tf.debugging.Assert(tf.rank(value) <= 1, [rule]),
        tf.debugging.Assert((tf.rank(value) == 0) | ((size == batch) & (size > 0)), [rule]),
        tf.debugging.Assert(
            tf.reduce_all(tf.equal(flat, flat[:1])),
            [f"{name} must be the same in every row of a request"],
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(flat[0]), checks
