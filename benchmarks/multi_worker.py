"""The Trainer on one worker against two local workers, side by side in one run.

For each task the data half of its demo pipeline runs once; then the
contextual Trainer alone (TFX's partial run) trains from the same
transformed data on one worker (Keras's fit, the default path) and on two
local worker processes (`workers: 2`: MultiWorkerMirroredStrategy and the
distributed loop, which runs without XLA). ART's default compiles its steps
with XLA, so ART also trains on one worker with `jit_compile: false`, to
separate the cost of XLA from that of distribution.

Per row: the Trainer's wall seconds (the workers' start included), the
median training seconds of an epoch after the first (which traces), the
training steps per second that gives, the final train and eval losses (and
ART's eval accuracy), and the largest relative difference of any epoch's
train or eval loss (both phases for LCD) from the case it is compared
with, in the first epoch and in any: two workers against one worker's fit
with the same compilation (no XLA). On 2 cores the point is
correctness and overhead, not speed: two workers share the cores one
worker uses alone.

Epochs are cut to keep the run short (`--lcd-epochs`, `--art-epochs`).

    python -m benchmarks.multi_worker    # -> benchmarks/results/multi_worker.{json,md}
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil
import statistics
import time
from typing import List

from benchmarks import provenance

OUT = os.path.join("benchmarks", "results")
# (case, Trainer settings, the case whose loss curves it is compared with)
CASES = {
    "lcd": [("1 worker, fit", {}, None), ("2 workers", {"workers": 2}, "1 worker, fit")],
    "art": [
        ("1 worker, fit (XLA)", {}, None),
        ("1 worker, fit, no XLA", {"jit_compile": False}, "1 worker, fit (XLA)"),
        ("2 workers (no XLA)", {"workers": 2}, "1 worker, fit, no XLA"),
    ],
}


def _train_rows(run) -> int:
    import tensorflow as tf

    from tfx_seqgen.pipeline import run_summary

    uri = run_summary.output_of(run.components, "Transform", "transformed_examples").uri
    files = glob.glob(os.path.join(uri, "Split-train", "*"))
    return int(tf.data.TFRecordDataset(files, "GZIP").reduce(0, lambda n, _: n + 1))


def _curves(run) -> dict:
    """{(phase, split, metric): [value per epoch]} of the contextual Trainer."""
    from tfx_seqgen.pipeline import run_summary, run_views

    uri = run_summary.output_of(run.components, "Trainer", "model_run").uri
    curves = {}
    for phase in ("main", "free_running"):
        rows = run_views.epoch_metrics(uri if phase == "main" else os.path.join(uri, phase))
        for row in sorted(rows, key=lambda r: r["epoch"]):
            curves.setdefault(f"{phase}/{row['split']}/{row['metric']}", []).append(row["value"])
    return curves


def differences(curves: dict, reference: dict | None) -> tuple:
    """(first, largest) relative difference of the loss curves from `reference`'s:
    in the first teacher-forced epoch, and in any epoch of either phase."""
    if reference is None:
        return None, None
    relative = {
        key: [abs(a - b) / abs(b) for a, b in zip(curves[key], reference[key], strict=True)]
        for key in curves
        if key.endswith("/loss")
    }
    first = max(values[0] for key, values in relative.items() if key.startswith("main/"))
    return first, max(max(values) for values in relative.values())


def render(path: str) -> List[dict]:
    """The results file's rows with their differences computed again from the curves."""
    with open(path) as f:
        rows = json.load(f)
    curves = {(r["task"], r["case"]): r["curves"] for r in rows}
    for r in rows:
        reference = curves.get((r["task"], r["compared_with"]))
        r["first_epoch_loss_difference"], r["max_loss_difference"] = differences(
            r["curves"], reference
        )
    return rows


def measure(task: str, root: str, epochs: dict) -> List[dict]:
    from tfx_seqgen.pipeline import configs, local_runs

    data = local_runs.run(task, "demo", root, to_component="Transform")
    rows_per_epoch = _train_rows(data)
    results, curves_of = [], {}
    for label, overrides, compared_with in CASES[task]:
        settings = {**epochs, **overrides}
        print(f"{task}: {label} ({settings}) ...", flush=True)
        began = time.perf_counter()
        run = local_runs.run(
            task, "demo", root, training_overrides=settings, to_component="Trainer"
        )
        seconds = time.perf_counter() - began
        curves = curves_of[label] = _curves(run)
        first, worst = differences(curves, curves_of.get(compared_with))
        epoch_seconds = curves["main/train/train_seconds"][1:] or curves["main/train/train_seconds"]
        median = statistics.median(epoch_seconds)
        batch = configs.resolve(task, "demo", None, settings)[1]["batch_size"]
        results.append(
            {
                "task": task,
                "case": label,
                "settings": settings,
                "trainer_seconds": seconds,
                "epoch_seconds": median,
                "steps_per_second": math.ceil(rows_per_epoch / batch) / median,
                "train_rows": rows_per_epoch,
                "train_loss": curves["main/train/loss"][-1],
                "eval_loss": curves["main/validation/loss"][-1],
                "eval_accuracy": (curves.get("main/validation/accuracy") or [None])[-1],
                "compared_with": compared_with,
                "first_epoch_loss_difference": first,
                "max_loss_difference": worst,
                "curves": curves,
                **provenance.stamp(),
            }
        )
        print(table(results[-1:]).splitlines()[-1], flush=True)
    return results


def table(rows: List[dict]) -> str:
    lines = [
        "| task | Trainer | Trainer s | s per epoch | steps/s | train loss | eval loss "
        "| eval accuracy | compared with | loss difference, first epoch | largest |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        accuracy = "" if r["eval_accuracy"] is None else f"{r['eval_accuracy']:.4f}"
        compared = r["compared_with"] or ""
        first, worst = (
            ("", "")
            if r["max_loss_difference"] is None
            else (f"{r['first_epoch_loss_difference']:.1e}", f"{r['max_loss_difference']:.1e}")
        )
        lines.append(
            f"| {r['task']} | {r['case']} | {r['trainer_seconds']:.0f} | {r['epoch_seconds']:.2f}"
            f" | {r['steps_per_second']:.1f} | {r['train_loss']:.5g} | {r['eval_loss']:.5g}"
            f" | {accuracy} | {compared} | {first} | {worst} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--lcd-epochs", type=int, default=5, help="teacher-forced; 2 free-running")
    parser.add_argument("--art-epochs", type=int, default=4)
    parser.add_argument("--out", default=OUT)
    parser.add_argument(
        "--render", action="store_true", help="recompute the table from the results file's curves"
    )
    args = parser.parse_args(argv)
    epochs = {
        "lcd": {"epochs": args.lcd_epochs, "rollout_epochs": 2},
        "art": {"epochs": args.art_epochs},
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "multi_worker.json")
    rows: List[dict] = []
    if os.path.exists(path):  # the other tasks' rows stay
        rows = [r for r in render(path) if args.render or r["task"] not in args.tasks]
    for task in [] if args.render else args.tasks:
        root = os.path.join("runs", f"benchmark-multi-worker-{task}")
        shutil.rmtree(root, ignore_errors=True)  # no cached Trainer
        rows += measure(task, root, epochs[task])
        with open(path, "w") as f:
            json.dump(rows, f, indent=1)
    with open(path, "w") as f:
        json.dump(rows, f, indent=1)
    with open(os.path.join(args.out, "multi_worker.md"), "w") as f:
        f.write(f"# {__doc__.splitlines()[0]} (benchmarks/multi_worker.py)\n\n{table(rows)}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
