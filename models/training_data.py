"""The Trainer's data: the transformed splits as tf.data pipelines, from memory or streamed.

TFX hands a Trainer the file patterns of its train and eval splits; the
optional calibration split sits beside them in the same Transform output.
"""

from __future__ import annotations

import os
from typing import Callable, Dict

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tfx import v1 as tfx

from tfx_seqgen.models.training_config import TrainingConfig

PARSE_BATCH = 1024  # records parsed per call; rows are then shuffled one by one


def sibling_split(files: list, split: str) -> list:
    """The file patterns of another split of the examples `files` (`.../Split-train/*`) belong to.

    TFX hands a Trainer the patterns of its train and eval splits only; the
    calibration split sits beside them in the same Transform output.
    """
    return [
        os.path.join(os.path.dirname(os.path.dirname(pattern)), f"Split-{split}", "*")
        for pattern in files
    ]


class TrainingData:
    """The Trainer's transformed splits, as the models' tf.data pipelines.

    With `config.cache_data` each split is read once through the Trainer's
    data accessor and kept in memory as NumPy arrays (the paper's LCD and ART
    splits take a few MB; at most `cache_max_rows` rows); every epoch then
    shuffles row indices with the config's seed and gathers whole batches, so
    no epoch waits on parsing files. Without it each epoch streams the files
    through a shuffle buffer of `shuffle_buffer` rows, for splits too large to
    hold (so does a split of more than `cache_max_rows` rows, with a warning);
    a split that fits the buffer then comes in the same batches as from memory.

    The files are read with tf.data directly (sorted, parsed with the
    transform's feature spec), not through TFX's data accessor, whose reader
    shuffles the file list and interleaves in an order that depends on the
    machine's cores: the same seed must give the same batches everywhere.
    """

    SPLITS = ("train", "eval", "calibration")

    def __init__(
        self,
        fn_args: tfx.components.FnArgs,
        tft_output: tft.TFTransformOutput,
        config: TrainingConfig,
    ):
        self.fn_args, self.tft_output, self.config = fn_args, tft_output, config
        self._files = {
            "train": fn_args.train_files,
            "eval": fn_args.eval_files,
            "calibration": sibling_split(fn_args.train_files, "calibration"),
        }
        self._features: Dict[str, Dict[str, np.ndarray]] = {}

    def _parsed(self, split: str) -> tf.data.Dataset:
        """The split's transformed features in batches of PARSE_BATCH rows, in file order.

        The files are sorted, so every reader sees the rows in the same order.
        """
        files = sorted(f for pattern in self._files[split] for f in tf.io.gfile.glob(pattern))
        if not files:
            raise ValueError(f"no transformed examples for split {split!r}: {self._files[split]}")
        compression = "GZIP" if all(f.endswith(".gz") for f in files) else ""
        spec = self.tft_output.transformed_feature_spec()
        return (
            tf.data.TFRecordDataset(files, compression, num_parallel_reads=min(len(files), 4))
            .batch(PARSE_BATCH)
            .map(lambda records: tf.io.parse_example(records, spec), tf.data.AUTOTUNE)
        )

    def _stream(self, split: str, shuffle: bool, keep=None) -> tf.data.Dataset:
        """Batches read from the split's files, never the whole split in memory.

        Rows are kept (`keep`), then shuffled within `shuffle_buffer` rows with
        the config's seed, then batched: a split that fits the buffer comes in
        the same order, epoch after epoch, as from memory (`dataset`).
        """
        rows = self._parsed(split).unbatch()
        if keep is not None:
            one_row = lambda f: tf.nest.map_structure(lambda t: t[None], f)  # noqa: E731
            rows = rows.filter(lambda f: keep(one_row(f))[0])
        if shuffle:
            rows = rows.shuffle(
                self.config.shuffle_buffer, seed=self.config.seed, reshuffle_each_iteration=True
            )
        return rows.batch(self.config.batch_size)

    def has(self, split: str) -> bool:
        """Whether the transformed examples hold `split` (the calibration split is optional)."""
        return bool(self._files.get(split)) and all(
            tf.io.gfile.glob(pattern) for pattern in self._files[split]
        )

    def features(self, split: str) -> Dict[str, np.ndarray] | None:
        """A split's transformed features, all rows, in file order (read once).

        None when the split has more than `cache_max_rows` rows: reading stops
        there, and the split streams instead of filling the Trainer's memory.
        """
        if split not in self.SPLITS:
            raise ValueError(f"split={split!r} is invalid; allowed: one of {self.SPLITS}.")
        if split not in self._features:
            self._features[split] = self._read_up_to(split, self.config.cache_max_rows)
        return self._features[split]

    def _read_up_to(self, split: str, limit: int) -> Dict[str, np.ndarray] | None:
        batches, rows = [], 0
        for batch in self._parsed(split).as_numpy_iterator():
            rows += len(next(iter(batch.values())))
            if rows > limit:
                logging.warning(
                    "Split %r has more than cache_max_rows=%d rows: it streams through a "
                    "shuffle buffer of %d rows instead of being held in memory (raise "
                    "cache_max_rows to hold it, or set cache_data=false to stream at once).",
                    split,
                    limit,
                    self.config.shuffle_buffer,
                )
                return None
            batches.append(batch)
        if not batches:
            raise ValueError(f"split {split!r} has no rows: {self._files[split]}")
        return {key: np.concatenate([batch[key] for batch in batches]) for key in batches[0]}

    def dataset(
        self,
        split: str,
        shuffle: bool,
        to_model: Callable,
        keep: Callable[[Dict[str, tf.Tensor]], tf.Tensor] | None = None,
    ) -> tf.data.Dataset:
        """Batches of `to_model(features)`, one pass.

        `keep(features)` maps a batch of features to a bool per row (TensorFlow
        ops); rows where it is False are left out. The train split stops after
        `steps_per_epoch` batches, when the config sets it.
        """
        batches = self._batches(split, shuffle, to_model, keep)
        if split == "train" and self.config.steps_per_epoch is not None:
            batches = batches.take(self.config.steps_per_epoch)
        return batches.prefetch(tf.data.AUTOTUNE)

    def _batches(self, split: str, shuffle: bool, to_model: Callable, keep) -> tf.data.Dataset:
        features = self.features(split) if self.config.cache_data else None
        if features is None:
            return self._stream(split, shuffle, keep).map(to_model)
        if keep is not None:
            rows = np.asarray(keep(features))
            features = {key: value[rows] for key, value in features.items()}
        count = len(next(iter(features.values())))
        tensors = {key: tf.constant(value) for key, value in features.items()}
        order = tf.data.Dataset.range(count)
        if shuffle:
            order = order.shuffle(count, seed=self.config.seed, reshuffle_each_iteration=True)
        gather = lambda rows: {k: tf.gather(v, rows) for k, v in tensors.items()}  # noqa: E731
        return (
            order.batch(self.config.batch_size)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
            .map(to_model)
        )
