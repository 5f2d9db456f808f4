"""Readers for what the pipeline writes."""

import glob
import os

import tensorflow as tf


def read_examples(split_dir: str) -> list:
    """Every tf.Example in a split directory's gzipped TFRecord files."""
    files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
    assert files, f"no TFRecord files in {split_dir}"
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf.train.Example.FromString(r.numpy()) for r in records]
