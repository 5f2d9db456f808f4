"""The calibrated band inside a SavedModel: per-context, per-step factors applied in the graph.

models.conformal fits the factors in NumPy after training; this module
holds them as constants of the exported model and scales each sample's
deviation from the mean path by them, so `generate` serves the calibrated
band without any code of ours at serving time.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfx_seqgen.models import stateless_random

# Two numeric context values this close are the same group (float32 rounding).
KEY_TOLERANCE = 1e-4


class ConformalBand(tf.Module):
    """Factors [groups + 1, T] for numeric context keys [groups]; the last row is pooled.

    With bin `edges` (models.conformal.bin_edges), a context value is first
    replaced by its bin's number, and the keys are bin numbers.
    """

    def __init__(self, keys, table: np.ndarray, edges=(), name: str = "conformal_band"):
        super().__init__(name=name)
        self.keys = tf.constant(np.asarray(keys, np.float32).reshape([-1]))
        self.table = tf.constant(np.asarray(table, np.float32))
        self.edges = tf.constant(np.asarray(edges, np.float32).reshape([-1]))

    def factors(self, values: tf.Tensor, steps) -> tf.Tensor:
        """[rows, steps]: each row's group's factors; past the last calibrated step, the last."""
        if self.edges.shape[0]:
            bins = tf.searchsorted(self.edges[None, :], values[None, :], side="right")[0]
            values = tf.cast(bins, tf.float32)
        gap = tf.abs(values[:, None] - self.keys[None, :])
        match = gap <= KEY_TOLERANCE * tf.maximum(1.0, tf.abs(self.keys))[None, :]
        groups = tf.shape(self.keys)[0]
        # The first matching group, else the pooled row (defined with no groups too).
        candidates = tf.where(match, tf.range(groups)[None, :], groups)
        pooled = tf.fill([tf.shape(values)[0], 1], groups)
        row = tf.reduce_min(tf.concat([candidates, pooled], axis=1), axis=1)
        known = tf.shape(self.table)[1]
        extended = tf.concat(
            [self.table, tf.repeat(self.table[:, -1:], tf.maximum(steps - known, 0), axis=1)],
            axis=1,
        )
        return tf.gather(extended[:, :steps], row)

    def apply(self, mean, deviation, values, steps) -> tf.Tensor:
        """Calibrated samples: the mean path plus each deviation scaled per row and step."""
        return mean + self.factors(values, steps) * deviation


def unit_deviations(row_seeds: tf.Tensor, steps) -> tf.Tensor:
    """[rows, steps]: one standard normal per sample path, the same at every step.

    The spread a model without one (a deterministic h0) is calibrated by:
    each sample path stays a shifted copy of the mean path.
    """
    z = stateless_random.normal(row_seeds, 1, salt=0x5EED)
    return tf.tile(z, [1, steps])
