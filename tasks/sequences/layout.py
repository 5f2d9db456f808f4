"""What the transform says about a sequences run: channels, steps, context columns.

Read once from the transform's output, so the Trainer and the SavedModel
agree on the shapes without a second copy of the data's parameters.
"""

from __future__ import annotations

import dataclasses
from typing import List

import tensorflow as tf
import tensorflow_transform as tft

from tfx_seqgen.tasks.sequences.preprocessing import OOV_BUCKETS, RESERVED, vocabulary_name
from tfx_seqgen.tasks.sequences.series import VALUES_FEATURE


@dataclasses.dataclass(frozen=True)
class Layout:
    channels: int
    steps: int  # L: the longest series' steps
    numeric: List[str]  # numeric context columns, in the transform's order
    categorical: List[str]
    vocab_sizes: List[int]  # per categorical column, its OOV id included

    @classmethod
    def of(cls, tft_output: tft.TFTransformOutput) -> Layout:
        raw = tft_output.raw_feature_spec()
        transformed = tft_output.transformed_feature_spec()
        total = raw[VALUES_FEATURE].shape[0]
        channels = total - transformed["x"].shape[0]  # L * C - (L - 1) * C
        categorical = sorted(n[: -len("_id")] for n in transformed if n.endswith("_id"))
        # The same columns, in the same order, as preprocessing.context_columns.
        numeric = [n for n in sorted(raw) if n not in RESERVED and raw[n].dtype != tf.string]
        sizes = [
            tft_output.vocabulary_size_by_name(vocabulary_name(n)) + OOV_BUCKETS
            for n in categorical
        ]
        return cls(channels, total // channels, numeric, categorical, sizes)

    def to_model(self, features):
        """Transformed features -> (SequencesModel inputs, scaled targets, step weights)."""
        steps = self.steps - 1
        return (
            self.inputs(tf.reshape(features["x"], [-1, steps, self.channels]), features),
            tf.reshape(features["y"], [-1, steps, self.channels]),
            features["weight"],
        )

    def inputs(self, x, features) -> dict:
        """The model's inputs: scaled values `x` and the context from transformed `features`."""
        ids = [tf.cast(features[f"{n}_id"], tf.int64) for n in self.categorical]
        batch = tf.shape(features["numeric"])[0]
        categories = tf.stack(ids, axis=1) if ids else tf.zeros([batch, 0], tf.int64)
        return {"x": x, "numeric": features["numeric"], "categories": categories}
