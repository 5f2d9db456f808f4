"""The linear cosine decay (LCD) dataset of the Contextual RNN paper.

    x(t) = A * [(alpha + (D - t) / D) * (1 + cos(2 pi T t / D)) / 2 + beta]

with amplitude A ~ U(x0_low, x0_high) and period T. We follow the paper's
code, which evaluates TensorFlow's linear cosine decay with decay_steps
D = length + 1 at t = 0..length: a record holds length + 1 values, i.e.
`length` model inputs x(0..length-1) and `length` deltas x(t+1) - x(t).
The first value is x(0) = A * (1 + beta), not A; models and the serving
contract condition on that first observed value.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Sequence

import numpy as np

from tfx_seqgen.components import random_streams
from tfx_seqgen.components.validation import (
    InvalidParameterError,
    check_finite,
    check_int,
    check_periods,
    check_seed,
    check_split,
)

COMPONENT = "LcdExampleGen"


@dataclasses.dataclass(frozen=True)
class LcdDataset:
    """Parameters of an LCD dataset; invalid values fail on construction."""

    # The component that writes it, as errors name it.
    COMPONENT: ClassVar[str] = COMPONENT

    train_periods: Sequence[float] = (0.5, 1.5, 2.5, 3.5, 4.5)
    eval_periods: Sequence[float] = (1.0, 2.0, 3.0, 4.0)
    train_per_period: int = 1000
    eval_per_period: int = 500
    length: int = 25
    x0_low: float = 2.0
    x0_high: float = 4.0
    alpha: float = 0.0
    beta: float = 0.001
    seed: int = 0
    shard_size: int = 10_000

    def __post_init__(self):
        fix = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        fix("train_periods", check_periods(COMPONENT, "train_periods", self.train_periods))
        fix("eval_periods", check_periods(COMPONENT, "eval_periods", self.eval_periods))
        check_int(COMPONENT, "train_per_period", self.train_per_period, 1)
        check_int(COMPONENT, "eval_per_period", self.eval_per_period, 1)
        check_int(COMPONENT, "length", self.length, 2)
        for name in ("x0_low", "x0_high", "alpha", "beta"):
            fix(name, check_finite(COMPONENT, name, getattr(self, name)))
        if self.x0_low >= self.x0_high:
            raise InvalidParameterError(
                COMPONENT, "x0_high", self.x0_high, f"a number greater than x0_low={self.x0_low!r}"
            )
        check_seed(COMPONENT, self.seed)
        check_int(COMPONENT, "shard_size", self.shard_size, 1)

    def split_sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train_periods) * self.train_per_period,
            "eval": len(self.eval_periods) * self.eval_per_period,
        }

    def arrays(self, split: str, start: int, stop: int) -> dict[str, np.ndarray]:
        """Records start..stop-1 of a split: `x` [n, length + 1], `period` [n, 1]."""
        if check_split(split) == "train":
            periods, per_period = self.train_periods, self.train_per_period
        else:
            periods, per_period = self.eval_periods, self.eval_per_period
        indices = np.arange(start, stop, dtype=np.int64)
        period = np.asarray(periods)[indices // per_period][:, None]
        u = random_streams.uniform(self.seed, split, indices, draws=1)
        amplitude = self.x0_low + (self.x0_high - self.x0_low) * u
        x = self.sequences(amplitude, period)
        return {"x": x.astype(np.float32), "period": period.astype(np.float32)}

    def sequences(self, amplitude: np.ndarray, period: np.ndarray) -> np.ndarray:
        """x(0..length) for amplitudes and periods of shape [n, 1], in float64."""
        decay_steps = float(self.length + 1)
        t = np.arange(self.length + 1, dtype=np.float64)[None, :]
        linear = self.alpha + (decay_steps - t) / decay_steps
        cosine = 0.5 * (1.0 + np.cos(2.0 * np.pi * period * t / decay_steps))
        return amplitude * (linear * cosine + self.beta)
