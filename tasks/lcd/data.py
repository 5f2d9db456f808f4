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

from typing import Any, ClassVar, List

import numpy as np
from pydantic import field_validator, model_validator

from tfx_seqgen.components import random_streams
from tfx_seqgen.components.validation import MAX_SEED, check_split
from tfx_seqgen.schema import Schema, integer, number, positive_periods, text

PERIODS = "a non-empty list of distinct finite numbers greater than 0"


class LcdDataset(Schema):
    """Parameters of an LCD dataset; invalid values fail on construction."""

    OWNER: ClassVar[str] = "LcdExampleGen"

    train_periods: List[float] = text(
        [0.5, 1.5, 2.5, 3.5, 4.5], PERIODS, "the periods T of the training split"
    )
    eval_periods: List[float] = text(
        [1.0, 2.0, 3.0, 4.0], PERIODS, "the periods T of the eval split (unseen in training)"
    )
    train_per_period: int = integer(1000, 1, doc="training sequences per period")
    eval_per_period: int = integer(500, 1, doc="eval sequences per period")
    calibration_per_period: int = integer(
        250,
        0,
        doc="sequences per eval period in the calibration split, drawn with their own seed "
        "stream and x0 draws (0: no calibration split, the paper's data)",
    )
    length: int = integer(25, 2, doc="steps after x(0): a record holds length + 1 values")
    x0_low: float = number(2.0, doc="amplitudes A ~ U(x0_low, x0_high)")
    x0_high: float = number(4.0, doc="see x0_low")
    alpha: float = number(0.0, doc="the decay's floor")
    beta: float = number(0.001, doc="the offset added to every value")
    seed: int = integer(0, 0, MAX_SEED, doc="every record's randomness comes from it")
    shard_size: int = integer(10_000, 1, doc="records per written file (a Beam work item)")

    @field_validator("train_periods", "eval_periods", mode="before")
    @classmethod
    def _periods(cls, value: Any, info) -> list:
        return positive_periods(cls, info.field_name, value)

    @model_validator(mode="after")
    def _ordered_range(self) -> LcdDataset:
        if self.x0_low >= self.x0_high:
            raise self.refuse(
                "x0_high", self.x0_high, f"a number greater than x0_low={self.x0_low!r}"
            )
        return self

    def split_sizes(self) -> dict[str, int]:
        sizes = {
            "train": len(self.train_periods) * self.train_per_period,
            "eval": len(self.eval_periods) * self.eval_per_period,
        }
        if self.calibration_per_period:
            sizes["calibration"] = len(self.eval_periods) * self.calibration_per_period
        return sizes

    def arrays(self, split: str, start: int, stop: int) -> dict[str, np.ndarray]:
        """Records start..stop-1 of a split: `x` [n, length + 1], `period` [n, 1].

        The calibration split lies at the eval periods, like the data `generate`
        is judged on; the split's name seeds its own stream, so its x0 draws are
        not the eval split's.
        """
        periods, per_period = {
            "train": (self.train_periods, self.train_per_period),
            "eval": (self.eval_periods, self.eval_per_period),
            "calibration": (self.eval_periods, self.calibration_per_period),
        }[check_split(split)]
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
