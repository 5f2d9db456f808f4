"""LCD in the Trainer: teacher forcing, then free running, then (optionally) the band.

The SavedModel it exports, and its signatures, are in tasks.lcd.signatures.
"""

from __future__ import annotations

import logging
import os

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from tfx_seqgen.errors import InvalidTrainingConfig
from tfx_seqgen.models import conformal
from tfx_seqgen.models.scaling import scale, unscale
from tfx_seqgen.models.training import fit, free_running, optimizer
from tfx_seqgen.models.training_config import TrainingConfig
from tfx_seqgen.models.training_data import TrainingData
from tfx_seqgen.tasks.lcd import calibration
from tfx_seqgen.tasks.lcd.model import FreeRunning, LcdModel
from tfx_seqgen.tasks.lcd.signatures import LcdServing, scaling_constants, to_model

_log = logging.getLogger(__name__)


def compiled_model(config: TrainingConfig, tft_output: tft.TFTransformOutput) -> keras.Model:
    """The model `train` fits, compiled as it compiles it."""
    del tft_output  # LCD needs nothing from the transform to build its model
    model = LcdModel(seed=config.seed, **config.model)
    model.compile(
        optimizer=optimizer(config),
        loss="mse",
        jit_compile=config.jit_compile_for(model.options["cell"]),
    )
    return model


def to_rollout(features):
    """Transformed features -> (LcdModel inputs, scaled x(1..n)): FreeRunning's data."""
    inputs, _ = to_model(features)
    scaling = features["scaling"]
    return inputs, scale(features["x_target"], scaling[:, :1], scaling[:, 1:2])


def rollout_increment(scaling: dict) -> tuple:
    """(a, b): a scaled delta d moves scaled x by a * d + b."""
    x_span = scaling["x_max"] - scaling["x_min"]
    return (
        (scaling["delta_max"] - scaling["delta_min"]) / x_span,
        (scaling["delta_max"] + scaling["delta_min"]) / x_span,
    )


def train(fn_args, tft_output: tft.TFTransformOutput, config: TrainingConfig):
    """Teacher forcing for `epochs`, free running for `rollout_epochs`, then the band.

    The free-running phase trains on what `generate` does: trajectories
    rolled out from x0 on the model's own predictions, `rollout_samples` per
    example (one for a deterministic h0), scored by CRPS against the truth.
    When the data has a calibration split, the band is fitted on it by
    split-conformal prediction (models.conformal), for every model; without
    one and with `calibrate_band`, a model whose h0 is random gets the
    per-step band multipliers of tasks.lcd.calibration (a second, fold
    model is trained for them). Returns (model, history); the free-running phase's metrics
    are in the history with a `rollout_` prefix.
    """
    name = _model_name(config)
    data = TrainingData(fn_args, tft_output, config)
    model, history = _train_model(data, name)
    if data.has("calibration"):
        model.band = _conformal(data, model, name)
    elif config.calibrate_band and model.rnn.strategy.samples_h0:
        multipliers = _calibrate(data, name)
        _log.info("%s: band multipliers per step %s", name, np.round(multipliers, 3))
        model.band = ((), multipliers[None, :])  # pooled: one row for every period
    return model, history


def _conformal(data: TrainingData, model: keras.Model, name: str) -> tuple:
    """(period keys, factors) fitted on the calibration split: see models.conformal.

    The split lies at the eval periods with x0 draws of its own; each model
    (the baseline too) is calibrated around its own mean-h0 path, by its own
    spread or, for a deterministic h0, a unit normal one.
    """
    s = transform_scaling(data.tft_output)
    features = data.features("calibration")
    x0 = unscale(features["x_scaled"][:, 0], s["x_min"], s["x_max"])
    period = unscale(features["period_scaled"], s["period_min"], s["period_max"])
    truth = features["x_target"]
    steps = truth.shape[1]
    generator = LcdServing(model, data.tft_output)
    x0_t, period_t = tf.constant(x0, tf.float32), tf.constant(period, tf.float32)
    mean = generator.rollout(x0_t, period_t, steps, sample=False).numpy()
    # Scored against the band of as many draws as `evaluate` scores, drawn the same
    # way, so calibration and evaluation see the same sampling noise.
    seeds = tf.constant(conformal.content_seeds(np.c_[x0, truth]), tf.int64)
    deviations = generator.deviations(
        x0_t, period_t, seeds, data.config.eval_samples, steps, tf.constant(mean)
    ).numpy()
    fitted = conformal.fit(conformal.scores(truth - mean, deviations), np.round(period, 4))
    _log.info(
        "%s: conformal band from %d calibration sequences (groups %s); factors at steps 1, %d: %s",
        name,
        len(truth),
        fitted.counts,
        steps,
        [np.round(row[[0, -1]], 3).tolist() for row in fitted.table],
    )
    return tuple(float(k) for k in fitted.keys), fitted.table


def _model_name(config: TrainingConfig) -> str:
    """How logs name a model: the task and its initial-state strategy."""
    return f"lcd/{config.model.get('strategy', 'learned_distribution')}"


def _train_model(data: TrainingData, name: str, held_out=(), logs=""):
    """One model through both phases; `held_out` scaled periods are left out of training.

    TensorBoard logs go to the `logs` subdirectory of model_run (the free-running
    phase's to `free_running/` under it).
    """
    config, tft_output = data.config, data.tft_output
    model = compiled_model(config, tft_output)
    periods = tf.constant(held_out, tf.float32)

    def keep(features):
        gap = tf.abs(tf.cast(features["period_scaled"], tf.float32)[:, None] - periods[None])
        return tf.reduce_all(gap > 1e-4, axis=1)

    def fit_on(trained, to, label, **options):
        def split(name, shuffle):
            return data.dataset(name, shuffle, to, keep if held_out else None)

        return fit(
            trained,
            split("train", True),
            split("eval", False),
            config,
            data.fn_args,
            label,
            **options,
        )

    history = fit_on(model, to_model, name, phase=logs)
    if config.rollout_epochs:
        steps = tft_output.transformed_feature_spec()["x_target"].shape[0]
        increment = rollout_increment(transform_scaling(tft_output))
        free = free_running(model, config, steps, FreeRunning, increment=increment)
        rollout = fit_on(
            free,
            to_rollout,
            f"{name} free-running",
            epochs=config.rollout_epochs,
            phase=os.path.join(logs, "free_running"),
        )
        history.history.update({f"rollout_{k}": v for k, v in rollout.history.items()})
    return model, history


def _calibrate(data: TrainingData, name: str) -> np.ndarray:
    """Band multipliers from a fold model trained without every other interior period."""
    fold, x, period = train_fold(data, name)
    generator = LcdServing(fold, data.tft_output)
    return calibration.band_scale(
        generator.sample, lambda *a: generator.rollout(*a, sample=False), x, period
    )


def train_fold(data: TrainingData, name: str) -> tuple:
    """A model trained by the same recipe without every other interior training period.

    Returns (fold model, the held-out training sequences x [N, T + 1] in
    original units, their periods [N]): what the model can be judged on
    without the eval periods.
    """
    config, tft_output = data.config, data.tft_output
    s = transform_scaling(tft_output)
    features = data.features("train")
    period = unscale(features["period_scaled"], s["period_min"], s["period_max"])
    held_out = calibration.held_out_periods(np.round(period, 6))
    if not held_out:
        raise InvalidTrainingConfig(
            f"A fold model (calibrate_band=True) needs at least 3 training periods, to hold "
            f"one out between two others; the data has "
            f"{sorted(set(np.round(period, 6)))}. Add periods or set calibrate_band=False."
        )
    _log.info("%s: training a fold model without periods %s", name, held_out)
    scaled = [float(v) for v in scale(np.float32(held_out), s["period_min"], s["period_max"])]
    # The fold starts from the seed's state, not from wherever training left the
    # global generators, so the band depends on the seed alone.
    keras.utils.set_random_seed(config.seed)
    fold, _ = _train_model(data, f"{name} fold", held_out=scaled, logs="calibration_fold")
    rows = np.isin(np.round(period, 6), held_out)
    x0 = unscale(features["x_scaled"][rows, :1], s["x_min"], s["x_max"])
    return fold, np.concatenate([x0, features["x_target"][rows]], axis=1), period[rows]


def transform_scaling(tft_output: tft.TFTransformOutput) -> dict:
    return scaling_constants(tft_output.transform_features_layer(), tft_output.raw_feature_spec())
