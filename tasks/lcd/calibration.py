"""The fallback band without a calibration split: fitted on periods training has not seen.

With a calibration split (the default), the band is split-conformal
(models.conformal, tasks.lcd.trainer). Without one (the `paper` data),
`calibrate_band` estimates it from the training periods alone, as below;
issue 15 measured why no such estimate can be honest for LCD (BENCHMARKS).


A model trained on periods 0.5, 1.5, ..., 4.5 is asked for trajectories at
periods in between, where its error is many times its error on the training
periods (measured: rollout MSE 0.0003-0.0015 on training periods, 0.002-0.017
halfway between them; see BENCHMARKS.md). A band fitted in sample is
therefore far too narrow, and the eval periods may never be used to widen
it. So the Trainer estimates the
error out of sample, by cross-fitting over the training periods:

1. a fold model is trained with the same recipe on the training periods
   minus every other interior one (0.5, 2.5, 4.5 of five), so each held-out
   period (1.5, 3.5) lies between two of its training periods;
2. on the held-out periods' training sequences, for each sequence and step,
   the multiplier of the fold model's sampled deviations (around its mean-h0
   path) that just brings the truth inside its 5-95% band is computed; the
   90% quantile per step is the multiplier that covers 90% there;
3. a held-out period is a whole training spacing from the fold's nearest
   training period, while a period the final model is asked for lies at
   most half a spacing from one. Interpolation error grows with the square
   of that distance (linear interpolation of a smooth function between nodes
   h apart errs by O(h^2)), so the multipliers are scaled by (1/2)^2. This
   is an assumption, not a measured law: on one seed the held-out periods'
   rollout MSE was about 15 times that of periods halfway between.

The final model's `generate` then draws each sample's h0 as before and scales
its deviation from the mean-h0 path by these per-step multipliers: the mean
path is unchanged, and the band keeps the shape the h0 distribution gives it.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from tfx_seqgen.models import conformal

COVERAGE = conformal.COVERAGE
# (distance of a requested period / distance of a held-out period) ** 2.
DISTANCE_FACTOR = 0.25
CALIBRATION_SAMPLES = 100


def held_out_periods(periods: Sequence[float]) -> list:
    """Every other interior training period: 1.5 and 3.5 of 0.5, 1.5, ..., 4.5."""
    ordered = sorted(set(float(p) for p in periods))
    return ordered[1:-1:2]


def band_scale(
    sample: Callable, mean_path: Callable, x: np.ndarray, period: np.ndarray
) -> np.ndarray:
    """Per-step multipliers [T] for the final model, from a fold model's held-out error.

    `sample(x0, period, seed, num_samples, steps)` -> [N, S, steps + 1] and
    `mean_path(x0, period, steps)` -> [N, steps] are the fold model's;
    `x` [N, T + 1] are held-out sequences and `period` [N] their periods.
    """
    steps = x.shape[1] - 1
    x0, period = tf.constant(x[:, 0], tf.float32), tf.constant(period, tf.float32)
    seeds = tf.constant(conformal.content_seeds(x), tf.int64)
    samples = sample(x0, period, seeds, CALIBRATION_SAMPLES, steps).numpy()[:, :, 1:]
    mean = mean_path(x0, period, steps).numpy()
    required = conformal.scores(x[:, 1:] - mean, samples - mean[:, None])
    return (np.quantile(required, COVERAGE, axis=0) * DISTANCE_FACTOR).astype(np.float32)
