"""The sequences task's tf.Transform `preprocessing_fn`.

Values are scaled into [-1, 1] per channel with the training split's
minima and maxima over the steps each series has (padding left out);
numeric context columns likewise; each categorical context column becomes
ids of a vocabulary computed on the training split (one id for a value
training never saw). The kinds come from the input dtypes: a string column
is categorical. Outputs are flat, fixed-length features (the Trainer
reshapes them with the channel count):

- x [B, (L - 1) * C]: scaled inputs x(0..L-2); y: scaled targets x(1..L-1);
- weight [B, L - 1]: 1 where step t + 1 exists in the series, else 0;
- x_target [B, (L - 1) * C]: the targets unscaled, for the Evaluator;
- numeric [B, C + N]: the scaled first values x0, then the N numeric context columns;
- `<column>_id` [B] for each categorical context column;
- scaling [B, 2 * C + 2 * N]: the minima and maxima of values per channel,
  then of each numeric context column, which TFT cannot invert itself;
- length [B]: steps the series has.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from tfx_seqgen.models.scaling import scale
from tfx_seqgen.tasks.sequences.series import ID_FEATURE, LENGTH_FEATURE, VALUES_FEATURE

OOV_BUCKETS = 1
RESERVED = (ID_FEATURE, LENGTH_FEATURE, VALUES_FEATURE)


def vocabulary_name(column: str) -> str:
    return f"context_{column}"


def context_columns(inputs) -> tuple:
    """(numeric, categorical) context column names, sorted: the inputs beyond the series'."""
    names = sorted(n for n in inputs if n not in RESERVED)
    categorical = [n for n in names if inputs[n].dtype == tf.string]
    return [n for n in names if n not in categorical], categorical


def preprocessing_fn(inputs, custom_config):
    channels = int(custom_config["channels"])
    values = tf.cast(inputs[VALUES_FEATURE], tf.float32)
    batch = tf.shape(values)[0]
    steps = values.shape[-1] // channels  # static: Transform's outputs have fixed shapes
    values = tf.reshape(values, [-1, steps, channels])
    length = tf.reshape(tf.cast(inputs[LENGTH_FEATURE], tf.int32), [-1])
    present = tf.sequence_mask(length, steps)  # [B, L]
    observed = tf.boolean_mask(values, present)  # [rows, C]
    low = tft.min(observed, reduce_instance_dims=False)
    high = tft.max(observed, reduce_instance_dims=False)
    scaled = scale(values, low, high)
    numeric_names, categorical_names = context_columns(inputs)
    numeric = [scaled[:, 0, :]]
    ranges = [low, high]
    for name in numeric_names:
        column = tf.reshape(tf.cast(inputs[name], tf.float32), [-1])
        column_low, column_high = tft.min(column), tft.max(column)
        numeric.append(scale(column, column_low, column_high)[:, None])
        ranges += [column_low[None], column_high[None]]
    outputs = {
        "x": tf.reshape(scaled[:, :-1], [-1, (steps - 1) * channels]),
        "y": tf.reshape(scaled[:, 1:], [-1, (steps - 1) * channels]),
        "weight": tf.cast(present[:, 1:], tf.float32),
        "x_target": tf.reshape(values[:, 1:], [-1, (steps - 1) * channels]),
        "numeric": tf.concat(numeric, axis=1),
        "scaling": tf.tile(tf.concat(ranges, axis=0)[None, :], [batch, 1]),
        "length": tf.cast(length, tf.float32),  # the Evaluator's label key; scores ignore it
    }
    for name in categorical_names:
        outputs[f"{name}_id"] = tft.compute_and_apply_vocabulary(
            tf.reshape(inputs[name], [-1]),
            num_oov_buckets=OOV_BUCKETS,
            vocab_filename=vocabulary_name(name),
        )
    return outputs
