"""The ART SavedModel: the model, the transform, and its serving signatures.

Signatures (the same for the contextual model and the baseline):
- serving_default(examples): serialized tf.Example -> `probabilities` [B, 10]
  and `digit` [B]. The Evaluator uses it.
- transform_features(examples): the Transform outputs.
- answer(query): a query string like "c9k8j3f1??k" per row -> `digit` [B]
  and `probabilities` [B, 10]. A malformed query fails with INVALID_ARGUMENT.
"""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_transform as tft

from tfx_seqgen.models.training_config import TrainingConfig


class ArtServing(tf.Module):
    """What the SavedModel holds: the model, the transform, and the signatures."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput):
        super().__init__()
        self.model = model
        self.tft_layer = tft_output.transform_features_layer()
        self.raw_feature_spec = tft_output.raw_feature_spec()
        self.query_length = int(tft_output.transformed_feature_spec()["tokens"].shape[0])
        self.num_pairs = (self.query_length - 3) // 2

    def _predict(self, tokens):
        probabilities = tf.nn.softmax(self.model(tokens), axis=-1)
        return {"probabilities": probabilities, "digit": tf.argmax(probabilities, axis=-1)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        raw = tf.io.parse_example(examples, self.raw_feature_spec)
        return self._predict(self.tft_layer(raw)["tokens"])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        return self.tft_layer(tf.io.parse_example(examples, self.raw_feature_spec))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="query")])
    def answer(self, query):
        with tf.control_dependencies(self._checks(query)):
            query = tf.identity(query)  # no work starts before the checks pass
        return self._predict(self.tft_layer({"query": query[:, None]})["tokens"])

    def _checks(self, query) -> list:
        k = self.num_pairs
        rule = (
            f'query must be {k} letter-digit pairs with distinct letters, "??", then one of '
            f'those letters, like "c9k8j3f1??k"'
        )
        shaped = tf.strings.regex_full_match(query, f"(?:[A-Za-z][0-9]){{{k}}}[?][?][A-Za-z]")
        well_formed = tf.debugging.Assert(tf.reduce_all(shaped), [rule, query], summarize=3)
        characters = tf.strings.bytes_split(query).to_tensor("", shape=[None, self.query_length])
        letters, asked = characters[:, 0 : 2 * k : 2], characters[:, -1]
        pairs_equal = tf.cast(letters[:, :, None] == letters[:, None, :], tf.int32)
        distinct = tf.reduce_sum(pairs_equal, axis=[1, 2]) == k
        known = tf.reduce_any(letters == asked[:, None], axis=1)
        meaningful = tf.debugging.Assert(
            tf.reduce_all(distinct & known), [rule, query], summarize=3
        )
        return [well_formed, meaningful]

    def signatures(self) -> dict:
        return {
            "serving_default": self.serve,
            "transform_features": self.transform_features,
            "answer": self.answer,
        }


def export(
    model: keras.Model,
    tft_output: tft.TFTransformOutput,
    directory: str,
    config: TrainingConfig,
) -> None:
    del config  # ART's signatures take nothing from the training settings
    serving = ArtServing(model, tft_output)
    tf.saved_model.save(serving, directory, signatures=serving.signatures())
