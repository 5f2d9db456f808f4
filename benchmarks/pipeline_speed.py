"""Speed of training and of the pipeline: Trainer vs plain Keras, and time per component.

1. Trainer steps/s against plain Keras `fit`: the same compiled model
   (`<task>_task.compiled_model`) trains once through the Trainer's code
   (transformed examples streamed by TFX's data accessor, as `run_fn` does)
   and once by `model.fit` on the same transformed data held in NumPy
   arrays. Both report training steps per second over the epochs after the
   first, which also pays for tracing; evaluation is left out.
2. Wall time per component of one whole pipeline run (the LCD demo, fresh,
   so nothing is cached), read from MLMD's execution records. The run is
   kept under runs/benchmark-data/pipeline-full/, and `benchmarks.serving
   --model-base-path runs/benchmark-data/pipeline-full/serving/lcd` serves
   the model it pushed.

Data generation and serving have their own scripts (data_generation.py,
serving.py).

    python -m benchmarks.pipeline_speed            # paper-size data, about 15 minutes
    python -m benchmarks.pipeline_speed --quick    # tiny data and models, for CI
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402

from benchmarks import art_quality, harness, lcd_quality  # noqa: E402
from tfx_seqgen.models.training import EpochLogger, TrainingConfig, TrainingData  # noqa: E402
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
    config = TrainingConfig.from_custom_config(params)
    tft_output = tft.TFTransformOutput(data.transform_graph_uri)
    with tempfile.TemporaryDirectory() as work_dir:
        fn_args = harness.trainer_fn_args(data, params, work_dir)
        to_model = harness.TASKS[data.task].to_model
        dataset = TrainingData(fn_args, tft_output, config).dataset(split, False, to_model)
        batches = list(dataset.as_numpy_iterator())
    return tf.nest.map_structure(lambda *parts: np.concatenate(parts), *batches)


def plain_fit(data: harness.PreparedData, params: dict) -> dict:
    """`model.fit` on arrays in memory; the History of EpochLogger's timings."""
    config = TrainingConfig.from_custom_config(params)
    tft_output = tft.TFTransformOutput(data.transform_graph_uri)
    (x, y), evaluation = in_memory(data, params, "train"), in_memory(data, params, "eval")
    model = harness.TASKS[data.task].compiled_model(config, tft_output)
    history = model.fit(
        x,
        y,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=evaluation,
        callbacks=[EpochLogger(f"{data.task}/plain fit", config.epochs)],
        verbose=0,
    )
    steps = int(np.ceil(len(y) / config.batch_size))
    return {"history": history.history, "steps": steps}


def steps_per_second(epoch_seconds: list, steps: int) -> tuple:
    """(first epoch's seconds, steps/s over the median later epoch)."""
    later = epoch_seconds[1:] or epoch_seconds
    return epoch_seconds[0], steps / statistics.median(later)


# Epochs per speed run: LCD epochs take two seconds, so it runs more of them.
EPOCHS = {"lcd": 12, "art": 4}


# The Trainer's loop before the fast path (cache_data, jit_compile, unroll):
# files streamed every epoch, no XLA, a rolled loop. Plain Keras fit runs it too.
PREVIOUS_PATH = {
    "cache_data": False,
    "jit_compile": False,
    "model": {"unroll": False},
}


def trainer_rows(options: harness.Options, epochs: int | None) -> list:
    rows = []
    for task, module in TASK_MODULES.items():
        data = harness.prepare_data(
            task, module.QUICK_DATA if options.quick else {}, options.data_root(task)
        )
        params = harness.training_params(task, module.QUICK_TRAINING if options.quick else None)
        # The teacher-forced phase alone: the one plain Keras fit can run too.
        params = {**params, "epochs": epochs or EPOCHS[task], "stop_at_accuracy": None}
        if task == "lcd":
            params.update(rollout_epochs=0, calibrate_band=False)
        previous = configs.with_overrides(params, PREVIOUS_PATH)
        runs = {
            "Trainer, fast path (default)": harness.train(data, params).history,
            "Trainer, previous path": harness.train(data, previous).history,
        }
        plain = plain_fit(data, previous)
        runs["plain Keras fit (NumPy)"] = plain["history"]
        base = steps_per_second(runs["Trainer, previous path"]["train_seconds"], plain["steps"])[1]
        for name, history in runs.items():
            first, rate = steps_per_second(history["train_seconds"], plain["steps"])
            model = f"{params['model']['cell']} {params['model']['units']}"
            metric = "val_accuracy" if "val_accuracy" in history else "val_loss"
            rows.append(
                [
                    task,
                    model,
                    name,
                    params["epochs"],
                    plain["steps"],
                    f"{first:.1f}",
                    f"{rate:,.0f}",
                    f"{rate / base:.2f}x",
                    f"{metric} {history[metric][-1]:.4g}",
                ]
            )
    return rows


def component_rows(options: harness.Options) -> list:
    """Times a fresh run; it is kept, so `benchmarks.serving` can serve what it pushed."""
    from tfx_seqgen.pipeline import local_runs

    root = os.path.abspath(options.data_root("pipeline"))
    shutil.rmtree(root, ignore_errors=True)  # fresh: a cached component has nothing to time
    start = time.perf_counter()
    run = local_runs.run("lcd", "demo", root, **(QUICK_PIPELINE if options.quick else {}))
    total = time.perf_counter() - start
    rows = [
        [c.node_id, c.state, f"{c.seconds:.1f}" if c.seconds is not None else "-"]
        for c in run.components
    ]
    kept = os.path.relpath(root)
    return rows + [[f"whole run (wall clock, with start-up; kept in {kept})", "", f"{total:.1f}"]]


def main(argv=None) -> None:
    parser = harness.parser(__doc__, seeds=1)
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs per speed run (default LCD 12, ART 4; 3 with --quick)",
    )
    parser.add_argument(
        "--training-only",
        action="store_true",
        help="only the training section (skips the whole-pipeline run)",
    )
    args: argparse.Namespace = parser.parse_args(argv)
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
                ],
                trainer_rows(options, epochs),
            ),
        ),
    ]
    if not args.training_only:
        sections.append(
            (
                "Wall time per component, one fresh LCD demo run"
                + (" (tiny settings)" if options.quick else ""),
                harness.markdown_table(["component", "state", "seconds"], component_rows(options)),
            )
        )
    name = "training_speed" if args.training_only else "pipeline_speed"
    print(f"Report: {harness.write_report(options.out, name, 'Speed', sections)}")


if __name__ == "__main__":
    main()
