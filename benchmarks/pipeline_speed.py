"""Speed of training and of the pipeline: Trainer vs plain Keras, and time per component.

1. Training steps/s of four paths side by side: the Trainer's fast path
   (its defaults: data in memory, XLA and unrolling where FASTEST_LOOP says,
   one step per call of the train function, Fast Weights in attention
   form), the same with the most steps per call the batch counts allow,
   for ART the same with Fast Weights' A formed every step, the Trainer's
   previous path (files streamed by TFX's data accessor every epoch, no
   XLA, a rolled loop, one step per call, A formed every step) and
   plain Keras `fit` on the same transformed data in NumPy arrays with the
   previous path's model. Each compiled model
   (`<task>_task.compiled_model`) trains an epoch in turn, so a slow spell
   of a shared machine slows all of them alike. Rates are steps
   per second over the epochs after the first, which also pays for tracing
   (its own column: several steps per call trace that many steps);
   evaluation is left out.
2. Wall time per component of one whole pipeline run (the LCD demo, fresh,
   so nothing is cached), read from MLMD's execution records. The run is
   kept under runs/benchmark-data/pipeline-full/, and `benchmarks.serving
   --model-base-path runs/benchmark-data/pipeline-full/serving/lcd` serves
   the model it pushed. `--pipeline-root` reads the times of a run already
   made instead (`make demo`'s, say), and runs nothing.

Data generation and serving have their own scripts (data_generation.py,
serving.py).

    python -m benchmarks.pipeline_speed            # paper-size data, about 15 minutes
    python -m benchmarks.pipeline_speed --training-only   # section 1, about 8 minutes
    python -m benchmarks.pipeline_speed --quick    # tiny data and models, for CI
    python -m benchmarks.pipeline_speed --pipeline-root runs/seqgen-lcd-demo  # time your demo run
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402

from benchmarks import art_quality, harness, lcd_quality  # noqa: E402
from tfx_seqgen import tasks  # noqa: E402
from tfx_seqgen.models.training import (  # noqa: E402
    EpochLogger,
    allowed_steps_per_execution,
    set_steps_per_execution,
    steps_per_execution,
)
from tfx_seqgen.models.training_data import TrainingData  # noqa: E402
from tfx_seqgen.pipeline import configs  # noqa: E402

TASK_MODULES = {"lcd": lcd_quality, "art": art_quality}
# The demo's pipeline, tiny, for --quick: the same overrides as the e2e tests' runs.
QUICK_PIPELINE = {
    "data_overrides": lcd_quality.QUICK_DATA,
    "training_overrides": {**lcd_quality.QUICK_TRAINING, "epochs": 2},
    "evaluation_overrides": {
        "headline": "teacher_forced",
        "min_improvement": -100.0,
        "max_mse": 10.0,
        "max_rollout_mse": 1e3,
    },
}


def in_memory(data: harness.PreparedData, params: dict, split: str):
    """A transformed split as NumPy arrays (inputs, targets), read by the Trainer's reader."""
    config = tasks.get(params["task"]).training_config(params)
    tft_output = tft.TFTransformOutput(data.transform_graph_uri)
    with tempfile.TemporaryDirectory() as work_dir:
        fn_args = harness.trainer_fn_args(data, params, work_dir)
        to_model = harness.trainer_module(data.task).to_model
        dataset = TrainingData(fn_args, tft_output, config).dataset(split, False, to_model)
        batches = list(dataset.as_numpy_iterator())
    return tf.nest.map_structure(lambda *parts: np.concatenate(parts), *batches)


def steps_per_second(epoch_seconds: list, steps: int) -> tuple:
    """(first epoch's seconds, steps/s over the median later epoch)."""
    later = epoch_seconds[1:] or epoch_seconds
    return epoch_seconds[0], steps / statistics.median(later)


# Epochs per speed run: LCD epochs take a second or two, so it runs more of them.
EPOCHS = {"lcd": 16, "art": 5}
# The Trainer's loop before the fast path (cache_data, jit_compile, unroll,
# steps_per_execution, Fast Weights' attention form): files streamed every
# epoch, no XLA, a rolled loop, one step per call, A formed every step. Plain
# Keras fit runs it too.
PREVIOUS_PATH = {
    "cache_data": False,
    "jit_compile": False,
    "steps_per_execution": 1,
    "model": {"unroll": False},
}


def matrix_form(params: dict) -> dict:
    """Fast Weights params with A formed every step (the cell's attention_form off)."""
    cell_options = {**params["model"].get("cell_options", {}), "attention_form": False}
    return configs.with_overrides(params, {"model": {"cell_options": cell_options}})


def previous_path(params: dict) -> dict:
    params = configs.with_overrides(params, PREVIOUS_PATH)
    return matrix_form(params) if params["model"]["cell"] == "fast_weights" else params


class SpeedRun:
    """One training path's model and data, trained an epoch at a time."""

    def __init__(
        self,
        data: harness.PreparedData,
        params: dict,
        work_dir: str,
        plain: bool,
        most_steps_per_call: bool = False,
    ):
        config = tasks.get(params["task"]).training_config(params)
        keras.utils.set_random_seed(config.seed)
        task = harness.trainer_module(data.task)
        tft_output = tft.TFTransformOutput(data.transform_graph_uri)
        self.model = task.compiled_model(config, tft_output)
        self.batch_size, self.seconds, self.logs = config.batch_size, [], {}
        if plain:  # model.fit on NumPy arrays, as a Keras user would write it
            self.train, self.eval = (
                in_memory(data, params, "train"),
                in_memory(data, params, "eval"),
            )
        else:  # the Trainer's own data path (run_fn's TrainingData)
            fn_args = harness.trainer_fn_args(data, params, work_dir)
            training_data = TrainingData(fn_args, tft_output, config)
            self.train = training_data.dataset("train", True, task.to_model)
            self.eval = training_data.dataset("eval", False, task.to_model)
            steps = (
                allowed_steps_per_execution(self.train, self.eval)[-1]
                if most_steps_per_call
                else steps_per_execution(config, self.train, self.eval)
            )
            set_steps_per_execution(self.model, steps)
        self.steps_per_call = self.model.steps_per_execution
        self.plain = plain

    def epoch(self, epoch: int) -> None:
        logger = EpochLogger("speed", epoch + 1)
        if self.plain:
            (x, y), options = self.train, {"batch_size": self.batch_size}
        else:
            x, y, options = self.train, None, {}
        history = self.model.fit(
            x,
            y,
            validation_data=self.eval,
            initial_epoch=epoch,
            epochs=epoch + 1,
            callbacks=[logger],
            verbose=0,
            **options,
        )
        self.seconds.append(history.history["train_seconds"][0])
        self.logs = {k: v[-1] for k, v in history.history.items()}


def lstm_ceiling(batch: int, features: int, units: int, steps: int) -> str:
    """What this machine's matrix products allow an LSTM training step, measured now.

    One tf.function runs only the gate products of a training step: for each
    of `steps` time steps [batch, features + units] x [features + units,
    4 units] forward, and the gradients of those products backward. Any
    LSTM does at least this work per step, so its time bounds the step rate
    from above (the measured rate is a ceiling, not a target).
    """
    x = tf.random.normal((steps, batch, features))
    weights = tf.Variable(tf.random.normal((features + units, 4 * units)) * 0.01)

    @tf.function
    def products_and_gradients():
        with tf.GradientTape() as tape:
            h = tf.zeros((batch, units))
            total = tf.constant(0.0)
            for t in range(steps):
                gates = tf.matmul(tf.concat([x[t], h], axis=1), weights)
                h = gates[:, :units]
                total += tf.reduce_sum(h)
        return tape.gradient(total, weights)

    products_and_gradients()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(20):
            products_and_gradients()
        times.append((time.perf_counter() - start) / 20)
    seconds = statistics.median(times)
    return (
        f"LSTM {units} ceiling: the gate products of one training step and their gradients "
        f"({steps} steps, batch {batch}) alone take {seconds * 1000:.1f} ms here (median of 5), "
        f"so no LSTM of this shape trains faster than {1 / seconds:.0f} steps/s on this machine."
    )


def trainer_rows(options: harness.Options, epochs: int | None) -> list:
    """The paths trained in turn, an epoch each, so a slow spell of the machine hits all."""
    rows = []
    for task, module in TASK_MODULES.items():
        data = harness.prepare_data(
            task, module.QUICK_DATA if options.quick else {}, options.data_root(task)
        )
        params = harness.training_params(task, module.QUICK_TRAINING if options.quick else None)
        # The teacher-forced phase alone: the one plain Keras fit can run too.
        epochs_here = epochs or EPOCHS[task]
        params = {**params, "epochs": epochs_here, "stop_at_accuracy": None}
        if task == "lcd":
            params.update(rollout_epochs=0, calibrate_band=False)
        previous = previous_path(params)
        with tempfile.TemporaryDirectory() as work_dir:
            runs = {
                "Trainer, fast path (default)": SpeedRun(data, params, work_dir, False),
                # What several steps per call of the train function add, side by side.
                "fast path, most steps per call": SpeedRun(
                    data, params, work_dir, False, most_steps_per_call=True
                ),
            }
            if params["model"]["cell"] == "fast_weights":  # what the attention form adds
                runs["fast path, A formed every step"] = SpeedRun(
                    data, matrix_form(params), work_dir, False
                )
            runs["Trainer, previous path"] = SpeedRun(data, previous, work_dir, False)
            runs["plain Keras fit (NumPy)"] = SpeedRun(data, previous, work_dir, True)
            for epoch in range(epochs_here):
                for run in runs.values():
                    run.epoch(epoch)
        steps = int(np.ceil(len(runs["plain Keras fit (NumPy)"].train[1]) / params["batch_size"]))
        base = steps_per_second(runs["Trainer, previous path"].seconds, steps)[1]
        for name, run in runs.items():
            first, rate = steps_per_second(run.seconds, steps)
            metric = "val_accuracy" if "val_accuracy" in run.logs else "val_loss"
            rows.append(
                [
                    task,
                    f"{params['model']['cell']} {params['model']['units']}",
                    name,
                    epochs_here,
                    steps,
                    f"{first:.1f}",
                    f"{rate:,.0f}",
                    f"{rate / base:.2f}x",
                    f"{metric} {run.logs[metric]:.4g}",
                    run.steps_per_call,
                ]
            )
    return rows


def component_rows(options: harness.Options, pipeline_root: str | None = None) -> list:
    """Times a fresh run; it is kept, so `benchmarks.serving` can serve what it pushed.

    With `pipeline_root`, reads the times of the newest run recorded there
    instead (a `make demo` run, say): nothing runs.
    """
    from tfx_seqgen.pipeline import local_runs

    if pipeline_root is not None:
        run = local_runs.open_run(pipeline_root)
        total = sum(c.seconds or 0.0 for c in run.components)
        last = f"all components (their sum; {os.path.relpath(run.pipeline_root)})"
    else:
        root = os.path.abspath(options.data_root("pipeline"))
        shutil.rmtree(root, ignore_errors=True)  # fresh: a cached component has nothing to time
        start = time.perf_counter()
        run = local_runs.run("lcd", "demo", root, **(QUICK_PIPELINE if options.quick else {}))
        total = time.perf_counter() - start
        last = f"whole run (wall clock, with start-up; kept in {os.path.relpath(root)})"
    rows = [
        [c.node_id, c.state, f"{c.seconds:.1f}" if c.seconds is not None else "-"]
        for c in run.components
    ]
    return rows + [[last, "", f"{total:.1f}"]]


def main(argv=None) -> None:
    parser = harness.parser(__doc__, seeds=1)
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs per speed run (default LCD 16, ART 5; 3 with --quick)",
    )
    parser.add_argument(
        "--training-only",
        action="store_true",
        help="only the training section (skips the whole-pipeline run)",
    )
    parser.add_argument(
        "--pipeline-root",
        default=None,
        help="time the newest run under this pipeline root (e.g. runs/seqgen-lcd-demo) "
        "instead of a fresh LCD demo run",
    )
    args: argparse.Namespace = parser.parse_args(argv)
    if args.pipeline_root is not None and args.training_only:
        parser.error("--pipeline-root times a pipeline run; --training-only skips that section")
    if args.pipeline_root is not None and not os.path.exists(
        os.path.join(args.pipeline_root, "metadata.sqlite")
    ):
        parser.error(
            f"--pipeline-root {args.pipeline_root} holds no metadata.sqlite: pass the pipeline "
            "root of a finished `seqgen run` (run `make demo` first for runs/seqgen-lcd-demo)"
        )
    options = harness.options(args)
    harness.setup_logging()
    epochs = args.epochs or (3 if options.quick else None)
    sections = [
        (
            "Training steps/s: the Trainer's fast path, its previous path and plain Keras fit,"
            " side by side (rate: median of epochs 2 on)",
            harness.markdown_table(
                [
                    "task",
                    "model",
                    "path",
                    "epochs",
                    "steps/epoch",
                    "epoch 1 s",
                    "steps/s",
                    "vs previous",
                    "final eval",
                    "steps per call",
                ],
                trainer_rows(options, epochs),
            )
            + "\n\n"
            + lstm_ceiling(128, 3, 128, 25),
        ),
    ]
    if not args.training_only:
        sections.append(
            (
                (
                    "Wall time per component, one fresh LCD demo run"
                    + (" (tiny settings)" if options.quick else "")
                    if args.pipeline_root is None
                    else f"Wall time per component, the newest run under {args.pipeline_root}"
                ),
                harness.markdown_table(
                    ["component", "state", "seconds"], component_rows(options, args.pipeline_root)
                ),
            )
        )
    name = "training_speed" if args.training_only else "pipeline_speed"
    print(f"Report: {harness.write_report(options.out, name, 'Speed', sections)}")


if __name__ == "__main__":
    main()
