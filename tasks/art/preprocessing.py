"""ART's tf.Transform `preprocessing_fn`: each query is split into characters
mapped to integer ids with a vocabulary computed on the training split."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

VOCABULARY = "art_characters"
OOV_BUCKETS = 1


def query_length(num_pairs: int) -> int:
    """Characters in a query: the pairs, "??" and the query letter."""
    return 2 * num_pairs + 3


def preprocessing_fn(inputs, custom_config):
    """query [B, 1] string, target [B, 1] int -> tokens [B, length] ids and label [B].

    `custom_config["num_pairs"]` fixes the query length, so tokens have a
    static shape and reach Keras dense. The vocabulary covers the characters
    seen in training; an unseen character maps to an out-of-vocabulary id.
    """
    length = query_length(int(custom_config["num_pairs"]))
    query = tf.reshape(inputs["query"], [-1])
    characters = tf.strings.bytes_split(query).to_tensor(default_value="", shape=[None, length])
    tokens = tft.compute_and_apply_vocabulary(
        characters, num_oov_buckets=OOV_BUCKETS, vocab_filename=VOCABULARY
    )
    outputs = {"tokens": tokens}
    if "target" in inputs:
        outputs["label"] = tf.reshape(tf.cast(inputs["target"], tf.int64), [-1])
    return outputs
