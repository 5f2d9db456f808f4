"""Tables and figures of one pipeline run, for notebooks/inspect_run.ipynb.

Each function takes a `local_runs.LocalRun` (see `local_runs.open_run`)
and reads only what the run recorded: its artifacts and MLMD store.
"""

from __future__ import annotations

import glob
import os
from typing import List, Sequence

import numpy as np
import pandas as pd
import tensorflow as tf

from tfx_seqgen.pipeline import evaluation_report, local_runs, run_summary
from tfx_seqgen.tasks.lcd import view as trajectories
from tfx_seqgen.tasks.lcd.data import LcdDataset

TRAINERS = ("Trainer", "BaselineTrainer")
MODEL_NAMES = {"Trainer": "contextual", "BaselineTrainer": "baseline (h0 = 0)"}


def _generator(run) -> str:
    return run.components[0].node_id


def examples_frame(run, split: str = "train", limit: int = 5) -> pd.DataFrame:
    """The first `limit` records of a split of the generated data, one row each."""
    uri = run_summary.output_of(run.components, _generator(run), "examples").uri
    files = sorted(glob.glob(os.path.join(uri, f"Split-{split}", "*.gz")))
    if not files:
        raise FileNotFoundError(f"no records for split {split!r} under {uri}")
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit):
        example = tf.train.Example.FromString(record.numpy())
        row = {}
        for name, feature in sorted(example.features.feature.items()):
            kind = feature.WhichOneof("kind")
            values = list(getattr(feature, kind).value)
            values = [v.decode() if isinstance(v, bytes) else v for v in values]
            row[name] = values[0] if len(values) == 1 else np.round(values, 4).tolist()
        rows.append(row)
    return pd.DataFrame(rows)


def statistics_path(run, split: str = "train") -> str:
    """StatisticsGen's statistics of a split, for tfdv.load_stats_binary."""
    uri = run_summary.output_of(run.components, "StatisticsGen", "statistics").uri
    return os.path.join(uri, f"Split-{split}", "FeatureStats.pb")


def epoch_metrics(log_dir: str) -> List[dict]:
    """The per-epoch metrics Keras's TensorBoard callback (or the multi-worker loop)
    wrote under `log_dir`: rows of split ("train" / "validation"), epoch (from 1),
    metric, value."""
    rows = []
    for split in ("train", "validation"):
        for path in glob.glob(os.path.join(log_dir, split, "events.out.tfevents.*")):
            for record in tf.data.TFRecordDataset(path):
                event = tf.compat.v1.Event.FromString(record.numpy())
                for value in event.summary.value:
                    if value.tag.startswith("epoch_") and value.tag != "epoch_learning_rate":
                        rows.append(
                            {
                                "split": split,
                                "epoch": event.step + 1,
                                "metric": value.tag.removeprefix("epoch_"),
                                "value": float(tf.make_ndarray(value.tensor)),
                            }
                        )
    return rows


def training_curves(run) -> pd.DataFrame:
    """Per-epoch metrics of both Trainers from their TensorBoard logs.

    Columns: model, split ("train" / "validation"), epoch (from 1), metric, value.
    """
    rows = []
    for node_id in TRAINERS:
        uri = run_summary.output_of(run.components, node_id, "model_run").uri
        rows += [{"model": MODEL_NAMES[node_id], **row} for row in epoch_metrics(uri)]
    return pd.DataFrame(rows, columns=["model", "split", "epoch", "metric", "value"])


def plot_training_curves(curves: pd.DataFrame):
    """One panel per metric: both models, train solid and validation dashed."""
    import matplotlib.pyplot as plt

    metrics = sorted(curves["metric"].unique())
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.2), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        for (model, split), group in curves[curves["metric"] == metric].groupby(["model", "split"]):
            group = group.sort_values("epoch")
            style = "-" if split == "train" else "--"
            axis.plot(group["epoch"], group["value"], style, label=f"{model}, {split}")
        axis.set_title(metric)
        axis.set_xlabel("epoch")
        if metric == "loss":
            axis.set_yscale("log")
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    return figure


def evaluation_frame(run) -> pd.DataFrame:
    """The Evaluator's metrics: one row per slice and metric, candidate vs baseline."""
    result = evaluation_report.load(
        run_summary.output_of(run.components, "Evaluator", "evaluation").uri
    )
    return pd.DataFrame(
        [
            {
                "slice": r.slice_name,
                "metric": r.metric,
                "contextual": r.candidate,
                "baseline": r.baseline,
                "change": r.change,
            }
            for r in result.rows
        ]
    )


def blessing(run) -> str:
    """The Evaluator's verdict and the push, in words."""
    result = local_runs.evaluation(run)
    report = evaluation_report.format_report(result, local_runs.pushed_to(run))
    return "\n".join(line for line in report.splitlines() if not line.startswith("  "))


def served_model_dir(run) -> str:
    """The pushed model if there is one, else the Trainer's candidate."""
    return local_runs.pushed_to(run) or local_runs.model_dir(run)


def lcd_trajectories(
    run, x0: float = 3.0, num_samples: int = 100, seed: int = 0
) -> List[trajectories.PeriodResult]:
    """Trajectories of the pushed (or candidate) model for each eval period, with the truth."""
    dataset = LcdDataset(**run.data_params)
    generate = local_runs.saved_model_generator(served_model_dir(run))
    return trajectories.generate_per_period(
        generate, dataset, dataset.eval_periods, x0, num_samples, seed
    )


def art_answers(run, queries: Sequence[str]) -> pd.DataFrame:
    """The pushed (or candidate) ART model's digit and probability for each query."""
    answer = tf.saved_model.load(served_model_dir(run)).signatures["answer"]
    result = answer(query=tf.constant(list(queries)))
    digits = result["digit"].numpy()
    probabilities = result["probabilities"].numpy()
    return pd.DataFrame(
        {
            "query": list(queries),
            "digit": digits,
            "probability": probabilities[np.arange(len(queries)), digits],
        }
    )


def sequence_trajectories(run, count: int = 3, num_samples: int = 100, seed: int = 0) -> list:
    """The pushed (or candidate) sequences model's trajectories for the first `count` eval
    series, from each one's x0 and context: dicts of `id`, `context`, `truth` [L, C] and
    `samples` [num_samples, L, C]."""
    generate = tf.saved_model.load(served_model_dir(run)).signatures["generate"]
    channels = generate.structured_input_signature[1]["x0"].shape[-1]
    uri = run_summary.output_of(run.components, _generator(run), "examples").uri
    files = sorted(glob.glob(os.path.join(uri, "Split-eval", "*")))
    found = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").take(count):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        length = feature["length"].int64_list.value[0]
        values = np.asarray(feature["values"].float_list.value, np.float32).reshape(-1, channels)
        context = {}
        for name, value in feature.items():
            if name not in ("series_id", "length", "values"):
                kind = value.WhichOneof("kind")
                item = getattr(value, kind).value[0]
                context[name] = item.decode() if isinstance(item, bytes) else float(item)
        inputs = {name: tf.constant([v]) for name, v in context.items()}
        drawn = generate(
            x0=tf.constant(values[:1]),
            seed=tf.constant([seed], tf.int64),
            num_samples=tf.constant(num_samples),
            steps=tf.constant(int(length) - 1),
            **inputs,
        )["trajectories"].numpy()[0]
        series_id = feature["series_id"].bytes_list.value[0].decode()
        found.append(
            {"id": series_id, "context": context, "truth": values[:length], "samples": drawn}
        )
    return found


def plot_sequences(results: list, channel: int = 0):
    """A panel per series: truth dashed, 20 samples thin, their mean bold, the 5-95% band."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.2), squeeze=False)
    for axis, r in zip(axes[0], results, strict=True):
        samples, t = r["samples"][:, :, channel], np.arange(len(r["truth"]))
        for sample in samples[:20]:
            axis.plot(t, sample, color="tab:blue", alpha=0.3, linewidth=0.8)
        low, high = np.percentile(samples, [5, 95], axis=0)
        axis.fill_between(t, low, high, color="tab:blue", alpha=0.15, label="5-95% of samples")
        axis.plot(t, samples.mean(axis=0), color="tab:blue", linewidth=2, label="sample mean")
        axis.plot(t, r["truth"][:, channel], "k--", linewidth=1.5, label="truth")
        context = ", ".join(f"{k}={v}" for k, v in r["context"].items())
        axis.set_title(f"{r['id']} ({context})", fontsize=9)
        axis.set_xlabel("step")
    axes[0][0].legend(loc="best", fontsize=8)
    figure.tight_layout()
    return figure
