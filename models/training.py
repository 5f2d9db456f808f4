"""The Trainer's loop for every task, configured by `custom_config`.

custom_config keys: task (a registered task's name), model (the task
model's keyword arguments, strategy included), epochs, batch_size, learning_rate,
clip_norm (global norm, optional), decay_epochs (the learning rate falls
linearly over that many last epochs, or all if fewer; 0, the default, keeps
it constant), seed, stop_at_accuracy (ART, optional);
for LCD also rollout_epochs, rollout_samples, rollout_learning_rate (the
free-running phase after teacher forcing, see tasks.lcd.trainer),
rollout_mean_path (also train the mean-h0 path's absolute error) and
eval_samples (trajectories per example that the `evaluate` signature
scores) and calibrate_band (fit the sampled band out of sample, see
tasks.lcd.calibration).

Speed switches, each on where it was measured to pay (benchmarks/
pipeline_speed.py): cache_data (read the transformed splits once into memory
and shuffle there, instead of streaming the files every epoch), jit_compile
(XLA-compiled train and eval steps), steps_per_execution (several training
steps per call of Keras's train function) and, among the model options,
unroll (the recurrent loop unrolled). jit_compile and unroll default to
None: the cell's measured choice, `cells.FASTEST_LOOP`. steps_per_execution
defaults to 1: Keras traces that many steps into one graph, and the tracing
costs more than the calls save at our sizes (a 3 + 2 epoch LCD generator
training took 110-113 s at 8 steps per call and 46-54 s at 1). A larger value
must divide both the training and the eval batch counts of an epoch (see
`allowed_steps_per_execution`).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
import warnings
from typing import Dict

import keras
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx

from tfx_seqgen.errors import InvalidTrainingConfig
from tfx_seqgen.models import cluster
from tfx_seqgen.models.distributed_fit import DistributedFit
from tfx_seqgen.models.free_running import FreeRunning, SampleCrps
from tfx_seqgen.models.training_config import MAX_STEPS_PER_EXECUTION, TrainingConfig

_log = logging.getLogger(__name__)


class EpochLogger(keras.callbacks.Callback):
    """One log line per epoch, so a long Trainer run shows its progress.

    It also adds `train_seconds` to the epoch's logs: the time spent on the
    training steps alone, evaluation left out. Keras's History records it,
    and TensorBoard plots it.
    """

    def __init__(self, name: str, epochs: int):
        super().__init__()
        self.name, self.epochs = name, epochs
        self._started = self._trained = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started, self._trained = time.perf_counter(), 0.0

    def on_test_begin(self, logs=None):
        if not self._trained:  # evaluation after the epoch's training steps
            self._trained = time.perf_counter() - self._started

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["train_seconds"] = self._trained or time.perf_counter() - self._started
        metrics = ", ".join(f"{k}={v:.5g}" for k, v in sorted((logs or {}).items()))
        _log.info("%s epoch %d/%d: %s", self.name, epoch + 1, self.epochs, metrics)


class StopAtAccuracy(keras.callbacks.Callback):
    """Stops training once the eval accuracy reaches a target (the paper's ART rule)."""

    def __init__(self, target: float):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("val_accuracy", 0.0) >= self.target:
            _log.info("eval accuracy reached %.4f: stopping", self.target)
            self.model.stop_training = True


def decayed_learning_rate(base: float, epoch: int, epochs: int, decay_epochs: int) -> float:
    """The learning rate of a 0-based epoch: `base`, then falling linearly over the last
    `decay_epochs` epochs (all of them if there are fewer), n in all, to base / (n + 1)
    in the last one. A run shortened with `--train epochs=N` so still ends decayed.

    Adam at a constant rate keeps stepping around the minimum it has found: on
    ART the eval accuracy of one model moves by tenths of a percent from one
    epoch to the next. Lowering the rate for the last epochs lets a short run
    end at the bottom rather than wherever its last step lands.
    """
    remaining, decay_epochs = epochs - epoch, min(decay_epochs, epochs)
    if remaining > decay_epochs:
        return base
    return base * remaining / (decay_epochs + 1)


def fit(
    model, train, evaluation, config: TrainingConfig, fn_args, name: str, epochs=None, phase=""
):
    """Keras fit with the Trainer's logging; `epochs` defaults to the config's.
    The main phase (no `epochs` given) follows the config's learning-rate decay.

    TensorBoard logs go to the model_run directory, a later `phase` of
    training to its own subdirectory. With `config.backup_dir`, the state
    after each epoch is kept there (Keras's BackupAndRestore) and every
    epoch's logs in `history.csv`: an interrupted training started again
    resumes after its last finished epoch, and the returned history holds
    all epochs, those before the interruption included.
    """
    main_phase = epochs is None  # later phases (LCD's free-running one) set their own rates
    epochs = epochs or config.epochs
    decayed = None
    if config.decay_epochs and main_phase:
        decayed = lambda epoch: decayed_learning_rate(  # noqa: E731
            config.learning_rate, epoch, epochs, config.decay_epochs
        )
    if multi_worker():
        return DistributedFit(model).fit(
            train,
            evaluation,
            epochs,
            name,
            learning_rate=decayed,
            stop_at_accuracy=config.stop_at_accuracy,
            log_dir=os.path.join(fn_args.model_run_dir, phase),
            checkpoint_dir=os.path.join(checkpoint_root(config, fn_args), phase or "main"),
        )
    set_steps_per_execution(model, steps_per_execution(config, train, evaluation))
    # Keras cannot know a tf.data pipeline's length before the first epoch ends
    # and warns that it "ran out of data"; one pass per epoch is what we want.
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    callbacks = [
        EpochLogger(name, epochs),
        keras.callbacks.TensorBoard(log_dir=os.path.join(fn_args.model_run_dir, phase)),
    ]
    if config.stop_at_accuracy is not None:
        callbacks.append(StopAtAccuracy(config.stop_at_accuracy))
    if decayed is not None:
        callbacks.append(keras.callbacks.LearningRateScheduler(decayed))
    backup = os.path.join(config.backup_dir, phase) if config.backup_dir else None
    if backup:
        os.makedirs(backup, exist_ok=True)
        if not model.built:  # BackupAndRestore restores into built weights
            model(next(iter(evaluation))[0])  # an eval batch: a training one reshuffles
        # Each epoch's shuffle is the next iterator's: one drawn per finished
        # epoch puts the resumed epochs on the orders an uninterrupted run has.
        for _ in range(finished_epochs(os.path.join(backup, "state"))):
            iter(train)
        callbacks += [
            keras.callbacks.BackupAndRestore(os.path.join(backup, "state")),
            keras.callbacks.CSVLogger(os.path.join(backup, "history.csv"), append=True),
        ]
    history = model.fit(
        train, validation_data=evaluation, epochs=epochs, callbacks=callbacks, verbose=0
    )
    if backup:
        history.history = epoch_logs(os.path.join(backup, "history.csv"))
    return history


def finished_epochs(state_dir: str) -> int:
    """The epochs Keras's BackupAndRestore saved in `state_dir` (0 when it saved none)."""
    path = os.path.join(state_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


def multi_worker() -> bool:
    """Whether training runs under a strategy spanning several workers (models.cluster)."""
    return isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy)


def checkpoint_root(config: TrainingConfig, fn_args) -> str:
    """Where multi-worker training keeps its epoch-end checkpoints: `backup_dir`, or
    the model_run directory, which a group of workers started again shares."""
    return config.backup_dir or os.path.join(fn_args.model_run_dir, "checkpoints")


def allowed_steps_per_execution(train: tf.data.Dataset, evaluation: tf.data.Dataset) -> list:
    """Steps per call of Keras's train and test functions that fit an epoch.

    The common divisors of the epoch's training and eval batch counts, up to
    MAX_STEPS_PER_EXECUTION; only 1 when a count is unknown (data streamed
    from files). Each function is one graph running that many steps, and a
    call that runs out of data part way aborts it with an unknown number of
    its steps' updates applied. Seen here in Keras 3.6: an extra optimizer
    iteration in training, and an eval call that ran out part way giving a
    val_loss 26% off the value from the same weights at one step per call.
    """
    batches, eval_batches = int(train.cardinality()), int(evaluation.cardinality())
    if batches < 1 or eval_batches < 1:  # unknown (streamed) or infinite
        return [1]
    return [
        d
        for d in range(1, MAX_STEPS_PER_EXECUTION + 1)
        if batches % d == 0 and eval_batches % d == 0
    ]


def steps_per_execution(
    config: TrainingConfig, train: tf.data.Dataset, evaluation: tf.data.Dataset
) -> int:
    """The config's steps per call, or an error naming the values that fit this data."""
    allowed = allowed_steps_per_execution(train, evaluation)
    if config.steps_per_execution not in allowed:
        raise InvalidTrainingConfig(
            f"Trainer custom_config: steps_per_execution={config.steps_per_execution} does "
            f"not fit an epoch of {int(train.cardinality())} training and "
            f"{int(evaluation.cardinality())} eval batches; allowed here: one of {allowed} "
            f"(common divisors of the two batch counts; only 1 when the data is streamed, "
            f"cache_data=false)."
        )
    return config.steps_per_execution


def set_steps_per_execution(model: keras.Model, steps: int) -> None:
    """Sets a compiled model's steps per call, rebuilding its functions if it changes."""
    if model.steps_per_execution != steps:
        model.steps_per_execution = steps
        model.train_function = model.test_function = model.predict_function = None


def epoch_logs(path: str) -> Dict[str, list]:
    """A CSVLogger file as {metric: value per epoch}; an epoch logged twice keeps its last row."""
    with open(path, newline="") as f:
        rows = {int(row.pop("epoch")): row for row in csv.DictReader(f)}
    epochs = [rows[e] for e in sorted(rows)]
    return {key: [float(row[key]) for row in epochs] for key in (epochs[0] if epochs else {})}


def optimizer(config: TrainingConfig, learning_rate: float | None = None):
    """Adam at `learning_rate` (default: the config's), clipped as the config says."""
    return keras.optimizers.Adam(
        learning_rate or config.learning_rate, global_clipnorm=config.clip_norm
    )


def free_running(model, config: TrainingConfig, steps: int, wrapper=FreeRunning, **options):
    """The free-running phase's model (models.free_running), compiled as the config says:
    `rollout_samples` rollouts per example for a random h0 (one for a deterministic
    h0, whose rollouts are all the same), the mean path anchored with
    `rollout_mean_path`, Adam at `rollout_learning_rate`. `options` go to `wrapper`."""
    random_h0 = model.rnn.strategy.samples_h0
    anchored = config.rollout_mean_path and random_h0
    samples = config.rollout_samples if random_h0 else 1
    free = wrapper(model, steps=steps, samples=samples, mean_path=anchored, **options)
    free.compile(
        optimizer=optimizer(config, config.rollout_learning_rate), loss=SampleCrps(anchored)
    )
    return free


def training_settings(custom_config) -> dict:
    """The Trainer's custom_config without the keys TFX's Vertex AI Trainer reads
    (`ai_platform_*`: the job, region and worker pools), which reach run_fn too."""
    return {k: v for k, v in dict(custom_config or {}).items() if not k.startswith("ai_platform_")}


def run_fn(fn_args: tfx.components.FnArgs, task) -> None:
    """Trains `task`'s model as fn_args.custom_config says, then writes its SavedModel.

    `task` is a tasks.Task (its `training_config`, `train` and `export`);
    the Trainer reaches this through tasks.trainer_module.run_fn.
    """
    config = task.training_config(training_settings(fn_args.custom_config))
    worker = cluster.from_environment()  # before TensorFlow reads TF_CONFIG
    keras.utils.set_random_seed(config.seed)
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    if worker is None:
        model, history = task.train(fn_args, tft_output, config)
        os.makedirs(fn_args.serving_model_dir, exist_ok=True)
        task.export(model, tft_output, fn_args.serving_model_dir, config)
    else:
        strategy = cluster.connect(worker, config.peer_timeout)
        with strategy.scope():
            model, history = task.train(fn_args, tft_output, config)
        export = lambda path: task.export(model, tft_output, path, config)  # noqa: E731
        cluster.export_once(strategy, worker.is_chief, export, fn_args.serving_model_dir)
    _log.info(
        "%s model (%s initial state) trained for %d epochs; exported to %s",
        config.task,
        config.model.get("strategy"),
        len(history.history.get("loss", [])),
        fn_args.serving_model_dir,
    )
