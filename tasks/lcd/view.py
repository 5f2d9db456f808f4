"""Generated LCD trajectories against the truth: numbers, a plot, the demo's closing view.

The generator is any callable with the `generate` signature's contract, so
the same code serves a SavedModel loaded in-process today and a TF Serving
client tomorrow.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, List, Sequence

import numpy as np

from tfx_seqgen.models import sample_scores
from tfx_seqgen.tasks.lcd.data import LcdDataset

# (x0, period, seed, num_samples, steps) -> trajectories [B, num_samples, steps + 1]
Generator = Callable[[np.ndarray, np.ndarray, np.ndarray, int, int], np.ndarray]


@dataclasses.dataclass
class PeriodResult:
    period: float
    x0: float
    truth: np.ndarray  # [steps + 1]
    samples: np.ndarray  # [num_samples, steps + 1]

    def scores(self) -> dict:
        """Each score of models.sample_scores, averaged over the steps after x0."""
        per_step = sample_scores.per_step(self.samples[None, :, 1:], self.truth[None, 1:])
        return {name: float(value.mean()) for name, value in per_step.items()}

    @property
    def mean_squared_error(self) -> float:
        """Of the samples' mean trajectory against the truth."""
        return self.scores()["mean_squared_error"]

    @property
    def coverage(self) -> float:
        """Share of time steps where the truth lies inside the samples' 5-95% band."""
        return self.scores()["coverage"]


def truth(dataset: LcdDataset, x0: float, period: float) -> np.ndarray:
    """The dataset's sequence whose first value is x0 (x0 = A * (1 + alpha + beta))."""
    amplitude = x0 / (1.0 + dataset.alpha + dataset.beta)
    return dataset.sequences(np.array([[amplitude]]), np.array([[period]]))[0]


def generate_per_period(
    generate: Generator,
    dataset: LcdDataset,
    periods: Sequence[float],
    x0: float = 3.0,
    num_samples: int = 100,
    seed: int = 0,
) -> List[PeriodResult]:
    steps = dataset.length
    count = len(periods)
    trajectories = generate(
        np.full(count, x0, np.float32),
        np.asarray(periods, np.float32),
        np.arange(seed, seed + count, dtype=np.int64),
        num_samples,
        steps,
    )
    return [
        PeriodResult(float(p), x0, truth(dataset, x0, p), trajectories[i])
        for i, p in enumerate(periods)
    ]


def format_table(results: List[PeriodResult]) -> str:
    lines = [
        f"{'period':>6} {'CRPS':>8} {'truth in 90% band':>18} {'band width':>11} "
        f"{'sample-mean MSE':>16}"
    ]
    for r in results:
        s = r.scores()
        lines.append(
            f"{r.period:>6.2f} {s['crps']:>8.4f} {s['coverage']:>18.0%} "
            f"{s['band_width']:>11.3f} {s['mean_squared_error']:>16.5f}"
        )
    return "\n".join(lines)


# Sample paths drawn per panel; the band and the mean use every sample.
SHOWN_SAMPLES = 20


def plot(results: List[PeriodResult], path: str | None = None):
    """Truth dashed, samples thin, their mean bold and 5-95% band shaded: a panel per period."""
    import matplotlib.pyplot as plt

    if path is not None:
        plt.switch_backend("Agg")  # writing a file needs no display

    figure, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.2), squeeze=False)
    for axis, r in zip(axes[0], results, strict=True):
        t = np.arange(len(r.truth))
        for sample in r.samples[:SHOWN_SAMPLES]:
            axis.plot(t, sample, color="tab:blue", alpha=0.3, linewidth=0.8)
        low, high = np.percentile(r.samples, [5, 95], axis=0)
        axis.fill_between(t, low, high, color="tab:blue", alpha=0.15, label="5-95% of samples")
        axis.plot(t, r.samples.mean(axis=0), color="tab:blue", linewidth=2, label="sample mean")
        axis.plot(t, r.truth, "k--", linewidth=1.5, label="truth")
        axis.set_title(f"T = {r.period:g}, x0 = {r.x0:g}")
        axis.set_xlabel("t")
    axes[0][0].set_ylabel("x")
    axes[0][0].legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    if path is None:
        return figure  # for a notebook to show
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def eval_period_report(generate: Generator, run) -> str:
    """The demo's closing view: 100 trajectories from x0 = 3 at each eval period of a run.

    `run` is a pipeline.local_runs.LocalRun; the plot goes to
    `<pipeline root>/trajectories.png`.
    """
    dataset = LcdDataset(**run.data_params)
    results = generate_per_period(generate, dataset, dataset.eval_periods)
    path = plot(results, os.path.join(run.pipeline_root, "trajectories.png"))
    return f"x0 = 3.0, 100 samples per period:\n{format_table(results)}\nPlot: {path}"
