"""Keras training on several workers, where Keras 3.6's `fit` cannot go.

Under `MultiWorkerMirroredStrategy`, Keras 3.6's `fit` fails (keras-team/
keras#20585): its loop reduces scalar logs with `axis=0` across workers.
The model, its loss and its optimizer all work inside `strategy.run`, so
this is the loop around them, written to give what `fit` gives on one worker:

- the loss of a step is the sum over every worker's elements divided by
  their global count: Keras's `sum_over_batch_size`, however the global
  batch is split (the last one unevenly, or not at all for some worker);
- the gradient is summed over workers and then clipped to the global norm,
  as one worker clips the whole batch's gradient (Keras clips before its
  own all-reduce, which would clip each worker's part);
- epoch metrics are sums over every row, divided once at the end, as
  Keras's running means weighted by batch size;
- every worker reads the whole pipeline and keeps its slice of each global
  batch (tf.data's DATA sharding), so the global batches are those one
  worker reads, for the same seed.

After each epoch every worker saves a checkpoint (the chief into
`checkpoint_dir`, the others into temporary directories, TensorFlow's
multi-worker convention) and the chief writes the history beside it. A run
started again, after a lost worker or a crash, restores the last one and
goes on with the next epoch in the order it would have had: the epochs
already trained draw their shuffles again first, without a step.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Callable, Dict, List

import keras
import numpy as np
import tensorflow as tf

from tfx_seqgen.errors import InvalidTrainingConfig

_log = logging.getLogger(__name__)

SUM = tf.distribute.ReduceOp.SUM
HISTORY = "history.json"


class _Unreduced(keras.losses.Loss):
    """A loss function as a Loss that keeps one value per element (weights applied)."""

    def __init__(self, function: Callable):
        super().__init__(name=getattr(function, "__name__", "loss"), reduction=None)
        self.function = function

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)


def per_element_loss(loss) -> keras.losses.Loss:
    """The compiled loss with no reduction: weighted values whose mean `fit` trains on."""
    if isinstance(loss, keras.losses.Loss):
        return type(loss).from_config({**loss.get_config(), "reduction": None})
    if isinstance(loss, str) or callable(loss):
        return _Unreduced(keras.losses.get(loss))
    raise InvalidTrainingConfig(
        f"multi-worker training: the model's loss {loss!r} is not supported; allowed: one "
        "Keras loss (a name, a function or a Loss)."
    )


def _accuracy(y, prediction):
    return keras.metrics.sparse_categorical_accuracy(y, prediction)


COUNTED_METRICS: Dict[str, Callable] = {"accuracy": _accuracy}  # what the tasks compile


def compiled_metrics(model: keras.Model) -> List[str]:
    """The metric names `model.compile` was given (Keras keeps them privately)."""
    compiled = getattr(model, "_compile_metrics", None)
    names = list(getattr(compiled, "_user_metrics", None) or [])
    unknown = [n for n in names if n not in COUNTED_METRICS]
    if unknown:
        raise InvalidTrainingConfig(
            f"multi-worker training: metrics {unknown} are not supported; allowed: "
            f"{sorted(COUNTED_METRICS)}."
        )
    return names


def is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    from tensorflow.python.distribute import multi_worker_util

    return multi_worker_util.is_chief(
        resolver.cluster_spec().as_dict(), resolver.task_type, resolver.task_id
    )


class _Checkpoints:
    """The epoch-end state: model and optimizer variables, the epoch, the history."""

    def __init__(self, model, directory: str | None, strategy):
        self.directory, self.chief = directory, is_chief(strategy)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.checkpoint = tf.train.Checkpoint(
            model=[v.value for v in model.variables],
            optimizer=[v.value for v in model.optimizer.variables],
            epoch=self.epoch,
        )
        if directory is None:
            return
        resolver = strategy.cluster_resolver if hasattr(strategy, "cluster_resolver") else None
        index = getattr(resolver, "task_id", 0) or 0
        self.write_dir = directory if self.chief else f"{directory}.worker-{index}-tmp"
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.write_dir, max_to_keep=1)

    def restore(self) -> Dict[str, list]:
        """The history of the epochs the last checkpoint holds ({} when there is none)."""
        latest = self.directory and tf.train.latest_checkpoint(self.directory)
        if not latest:
            return {}
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        done = int(self.epoch.numpy())
        with tf.io.gfile.GFile(os.path.join(self.directory, HISTORY)) as f:
            history = json.load(f)
        return {key: values[:done] for key, values in history.items()}

    def save(self, epoch: int, history: Dict[str, list]) -> None:
        if self.directory is None:
            return
        self.epoch.assign(epoch)
        self.manager.save()  # every worker: saving may take part in collectives
        if self.chief:
            with tf.io.gfile.GFile(os.path.join(self.directory, HISTORY), "w") as f:
                json.dump(history, f)
        elif tf.io.gfile.exists(self.write_dir):
            tf.io.gfile.rmtree(self.write_dir)


class DistributedFit:
    """`model.fit` for a compiled Keras model under any tf.distribute strategy."""

    def __init__(self, model: keras.Model, strategy=None):
        self.model = model
        self.strategy = strategy or tf.distribute.get_strategy()
        self.loss = per_element_loss(model.loss)
        self.metrics = compiled_metrics(model)
        self.clip_norm = model.optimizer.global_clipnorm
        if model.optimizer.clipnorm or model.optimizer.clipvalue:
            raise InvalidTrainingConfig(
                "multi-worker training clips by global norm only (clip_norm); the optimizer "
                "also has clipnorm or clipvalue."
            )

    def _distribute(self, dataset: tf.data.Dataset):
        options = tf.data.Options()
        # Every worker reads every row and keeps its part of each global batch.
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

    def _sums(self, batch, training: bool) -> Dict[str, tf.Tensor]:
        """One replica's sums for its part of a global batch (and, training, its update)."""
        x, y, weight = keras.utils.unpack_x_y_sample_weight(batch)
        context = tf.distribute.get_replica_context()
        model = self.model
        with tf.GradientTape() as tape:
            prediction = model(x, training=training)
            values = self.loss(y, prediction, sample_weight=weight)
            loss_sum = tf.reduce_sum(tf.cast(values, tf.float32))
            count = tf.cast(tf.size(values), tf.float32)
            if training:
                mean = tf.math.divide_no_nan(loss_sum, context.all_reduce(SUM, count))
        sums = {"loss": loss_sum, "loss_count": count}
        for name in self.metrics:  # unweighted, as Keras's `metrics` (not `weighted_metrics`)
            hits = tf.cast(COUNTED_METRICS[name](y, prediction), tf.float32)
            sums[name] = tf.reduce_sum(hits)
            sums[f"{name}_count"] = tf.cast(tf.size(hits), tf.float32)
        if training:
            variables = model.trainable_variables
            gradients = tape.gradient(mean, variables)
            pairs = [(g, v) for g, v in zip(gradients, variables, strict=True) if g is not None]
            summed = context.all_reduce(SUM, [g for g, _ in pairs])
            if self.clip_norm:
                summed, _ = tf.clip_by_global_norm(summed, self.clip_norm)
            # The optimizer sums over replicas again: hand it each replica's share.
            shares = [g / context.num_replicas_in_sync for g in summed]
            model.optimizer.apply_gradients(zip(shares, [v for _, v in pairs], strict=True))
        return sums

    def _step(self, dataset, training: bool):
        def step(batch):
            sums = self.strategy.run(self._sums, args=(batch, training))
            return {k: self.strategy.reduce(SUM, v, axis=None) for k, v in sums.items()}

        return tf.function(step, input_signature=[dataset.element_spec])

    @staticmethod
    def _epoch_logs(totals: Dict[str, float], prefix: str = "") -> Dict[str, float]:
        """Each sum over its count, divided in float32 as Keras's metrics divide (so 36
        right of 40 is 0.89999998, under an accuracy target of 0.9 there too)."""
        return {
            prefix + k: float(np.float32(totals[k]) / np.float32(totals[f"{k}_count"]))
            if totals[f"{k}_count"]
            else float("nan")
            for k in totals
            if not k.endswith("_count")
        }

    def _run(self, step, dataset) -> Dict[str, float]:
        totals: Dict[str, float] = {}
        for batch in dataset:
            for key, value in step(batch).items():
                totals[key] = totals.get(key, 0.0) + float(value.numpy())
        return totals

    def fit(
        self,
        train: tf.data.Dataset,
        evaluation: tf.data.Dataset,
        epochs: int,
        name: str,
        learning_rate: Callable[[int], float] | None = None,
        stop_at_accuracy: float | None = None,
        log_dir: str | None = None,
        checkpoint_dir: str | None = None,
    ) -> keras.callbacks.History:
        """Trains for `epochs` (or until the eval accuracy reaches `stop_at_accuracy`)
        and returns a History whose `history` holds every epoch's metrics, `val_` ones
        for `evaluation`, as `fit`'s does."""
        model, optimizer = self.model, self.model.optimizer
        with self.strategy.scope():
            if not model.built:  # from an eval batch: drawing a training batch reshuffles
                model(next(iter(evaluation))[0])
            optimizer.build(model.trainable_variables)
            checkpoints = _Checkpoints(model, checkpoint_dir, self.strategy)
        history = checkpoints.restore()
        start = len(history.get("loss", []))
        train_set, eval_set = self._distribute(train), self._distribute(evaluation)
        train_step, eval_step = self._step(train_set, True), self._step(eval_set, False)
        for _ in range(start):  # the shuffles of the epochs already trained
            iter(train_set)
        writers = {}
        if log_dir and is_chief(self.strategy):
            writers = {
                split: tf.summary.create_file_writer(os.path.join(log_dir, split))
                for split in ("train", "validation")
            }
        if start:
            _log.info(
                "%s: resumed after epoch %d of %d from %s", name, start, epochs, checkpoint_dir
            )

        def reached(accuracies: list) -> bool:  # the paper's ART rule, as StopAtAccuracy
            return stop_at_accuracy is not None and accuracies[-1:] >= [stop_at_accuracy]

        stopped = reached(history.get("val_accuracy", []))
        for epoch in range(start, epochs):
            if stopped:
                break
            if learning_rate is not None:
                optimizer.learning_rate = learning_rate(epoch)
            began = time.perf_counter()
            logs = self._epoch_logs(self._run(train_step, train_set))
            logs["train_seconds"] = time.perf_counter() - began
            logs.update(self._epoch_logs(self._run(eval_step, eval_set), "val_"))
            logs["learning_rate"] = float(optimizer.learning_rate.numpy())
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            checkpoints.save(epoch + 1, history)
            for split, writer in writers.items():
                with writer.as_default():
                    for key, value in logs.items():
                        if key.startswith("val_") == (split == "validation"):
                            tf.summary.scalar(f"epoch_{key.removeprefix('val_')}", value, epoch)
            metrics = ", ".join(f"{k}={v:.5g}" for k, v in sorted(logs.items()))
            _log.info("%s epoch %d/%d: %s", name, epoch + 1, epochs, metrics)
            stopped = reached(history.get("val_accuracy", []))
        for writer in writers.values():
            writer.close()
        result = keras.callbacks.History()
        result.set_model(model)
        result.history = history
        return result
