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
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from tfx_seqgen.models.training_config import TrainingConfig


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
    splits take a few MB); every epoch then shuffles row indices with the
    config's seed and gathers whole batches, so no epoch waits on parsing
    files. Without it each epoch streams the files, shuffled by TFX's reader,
    for splits too large to hold.
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

    def _stream(self, split: str, shuffle: bool) -> tf.data.Dataset:
        config = self.config
        options = tfxio.TensorFlowDatasetOptions(
            batch_size=config.batch_size, shuffle=shuffle, shuffle_seed=config.seed, num_epochs=1
        )
        return self.fn_args.data_accessor.tf_dataset_factory(
            self._files[split], options, self.tft_output.transformed_metadata.schema
        )

    def has(self, split: str) -> bool:
        """Whether the transformed examples hold `split` (the calibration split is optional)."""
        return bool(self._files.get(split)) and all(
            tf.io.gfile.glob(pattern) for pattern in self._files[split]
        )

    def features(self, split: str) -> Dict[str, np.ndarray]:
        """A split's transformed features, all rows, in file order (read once)."""
        if split not in self.SPLITS:
            raise ValueError(f"split={split!r} is invalid; allowed: one of {self.SPLITS}.")
        if split not in self._features:
            batches = list(self._stream(split, shuffle=False).as_numpy_iterator())
            self._features[split] = {
                key: np.concatenate([batch[key] for batch in batches]) for key in batches[0]
            }
        return self._features[split]

    def dataset(
        self,
        split: str,
        shuffle: bool,
        to_model: Callable,
        keep: Callable[[Dict[str, tf.Tensor]], tf.Tensor] | None = None,
    ) -> tf.data.Dataset:
        """Batches of `to_model(features)`, one pass.

        `keep(features)` maps a batch of features to a bool per row (TensorFlow
        ops); rows where it is False are left out.
        """
        if not self.config.cache_data:
            dataset = self._stream(split, shuffle)
            if keep is not None:  # filtered row by row, so no batch is left empty
                one_row = lambda f: tf.nest.map_structure(lambda t: t[None], f)  # noqa: E731
                dataset = (
                    dataset.unbatch()
                    .filter(lambda f: keep(one_row(f))[0])
                    .batch(self.config.batch_size)
                )
            return dataset.map(to_model).prefetch(tf.data.AUTOTUNE)
        features = self.features(split)
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
            .prefetch(tf.data.AUTOTUNE)
        )
