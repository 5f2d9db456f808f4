"""LCD's tf.Transform `preprocessing_fn`.

Inputs, deltas and periods are scaled into [-1, 1] with minima and maxima of
the training split, as the paper scales states, periods and targets. TFT has
no inverse transform, so the scaling constants are also emitted as the
`scaling` feature: the Trainer reads them once and bakes the inverse into
the serving signatures.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from tfx_seqgen.models.scaling import scale

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


def preprocessing_fn(inputs):
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
