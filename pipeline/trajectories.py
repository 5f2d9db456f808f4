"""Generated LCD trajectories against the truth: numbers and a plot.

The generator is any callable with the `generate` signature's contract, so
the same code serves a SavedModel loaded in-process today and a TF Serving
client tomorrow.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Sequence

import numpy as np

from components.lcd_data import LcdDataset

# (x0, period, seed, num_samples, steps) -> trajectories [B, num_samples, steps + 1]
Generator = Callable[[np.ndarray, np.ndarray, np.ndarray, int, int], np.ndarray]


@dataclasses.dataclass
class PeriodResult:
    period: float
    x0: float
    truth: np.ndarray  # [steps + 1]
    samples: np.ndarray  # [num_samples, steps + 1]

    @property
    def mean_squared_error(self) -> float:
        """Of the samples' mean trajectory against the truth."""
        return float(np.mean((self.samples.mean(axis=0) - self.truth) ** 2))

    @property
    def coverage(self) -> float:
        """Share of time steps where the truth lies inside the samples' 5-95% band."""
        return float(np.mean(inside_band(self.samples, self.truth)))


def inside_band(samples: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Whether the truth [..., steps] lies inside the 5-95% band of samples [..., S, steps]."""
    low, high = np.percentile(samples, [5, 95], axis=-2)
    return (truth >= low) & (truth <= high)


def truth(dataset: LcdDataset, x0: float, period: float) -> np.ndarray:
    """The dataset's sequence whose first value is x0 (x0 = A * (1 + alpha + beta))."""
    amplitude = x0 / (1.0 + dataset.alpha + dataset.beta)
    return dataset.sequences(np.array([[amplitude]]), np.array([[period]]))[0]


def generate_per_period(
    generate: Generator,
    dataset: LcdDataset,
    periods: Sequence[float],
    x0: float = 3.0,
    num_samples: int = 10,
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
    lines = [f"{'period':>6} {'MSE of sample mean':>19} {'truth inside 5-95% band':>24}"]
    for r in results:
        lines.append(f"{r.period:>6.2f} {r.mean_squared_error:>19.5f} {r.coverage:>23.0%}")
    return "\n".join(lines)


def plot(results: List[PeriodResult], path: str | None = None):
    """Truth dashed, samples thin, their mean bold and 5-95% band shaded: a panel per period."""
    import matplotlib.pyplot as plt

    if path is not None:
        plt.switch_backend("Agg")  # writing a file needs no display

    figure, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.2), squeeze=False)
    for axis, r in zip(axes[0], results, strict=True):
        t = np.arange(len(r.truth))
        for sample in r.samples:
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
