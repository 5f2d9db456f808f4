"""The sequences task in the Trainer: teacher forcing, free running, then the band.

Padded steps carry no weight: the teacher-forced loss is the mean squared
error of the next scaled values over the steps each series has, the
free-running one the CRPS of rollouts over the same steps. The band is fitted on
the calibration split by split-conformal prediction (models.conformal),
per step and per value of the first categorical context column (or bin of
the first numeric one).
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from tfx_seqgen.models import conformal
from tfx_seqgen.models.scaling import unscale
from tfx_seqgen.models.training import fit, free_running, optimizer
from tfx_seqgen.models.training_config import TrainingConfig
from tfx_seqgen.models.training_data import TrainingData
from tfx_seqgen.tasks.sequences.layout import Layout
from tfx_seqgen.tasks.sequences.model import SequencesModel
from tfx_seqgen.tasks.sequences.signatures import SequencesServing

_log = logging.getLogger(__name__)


def compiled_model(config: TrainingConfig, tft_output: tft.TFTransformOutput) -> keras.Model:
    """The model `train` fits, compiled as it compiles it; the transform sets its shapes."""
    layout = Layout.of(tft_output)
    model = SequencesModel(
        channels=layout.channels, vocab_sizes=layout.vocab_sizes, seed=config.seed, **config.model
    )
    model.compile(
        optimizer=optimizer(config),
        loss="mse",
        jit_compile=config.jit_compile_for(model.options["cell"]),
    )
    return model


def train(fn_args, tft_output: tft.TFTransformOutput, config: TrainingConfig):
    """Teacher forcing for `epochs`, free running for `rollout_epochs`, then the band.

    The free-running phase trains on what `generate` does: trajectories
    rolled out from each series' first values on the model's own
    predictions, scored by CRPS over the steps each series has
    (models.free_running). Returns (model, history); the free-running
    phase's metrics are in the history with a `rollout_` prefix.
    """
    layout = Layout.of(tft_output)
    data = TrainingData(fn_args, tft_output, config)
    model = compiled_model(config, tft_output)
    name = f"sequences/{config.model.get('strategy', 'learned_distribution')}"

    def fit_on(trained, label, **options):
        train_split = data.dataset("train", True, layout.to_model)
        eval_split = data.dataset("eval", False, layout.to_model)
        return fit(trained, train_split, eval_split, config, fn_args, label, **options)

    history = fit_on(model, name)
    if config.rollout_epochs:
        free = free_running(model, config, layout.steps - 1)
        rollout = fit_on(
            free, f"{name} free-running", epochs=config.rollout_epochs, phase="free_running"
        )
        history.history.update({f"rollout_{k}": v for k, v in rollout.history.items()})
    if data.has("calibration"):
        model.band = calibrate(data, model, name)
    return model, history


def calibrate(data: TrainingData, model: keras.Model, name: str) -> tuple:
    """(group keys, factors, bin edges) from the calibration split, per step, channels
    pooled. Groups are the first categorical context's values, else bins of the first
    numeric context column (conformal.bin_edges), else one pooled group."""
    serving = SequencesServing(model, data.tft_output)
    layout = serving.layout
    features = {k: tf.constant(v) for k, v in data.features("calibration").items()}
    steps, c = layout.steps - 1, layout.channels
    truth = tf.reshape(features["x_target"], [-1, steps, c]).numpy()
    x_scaled = tf.reshape(features["x"], [-1, steps, c])[:, 0]
    x0 = unscale(x_scaled, serving.x_min, serving.x_max)
    mean = serving.rollout(x0, features, steps, sample=False)
    seeds = tf.constant(conformal.content_seeds(truth.reshape(len(truth), -1)), tf.int64)
    deviations = serving.deviations(x0, features, seeds, data.config.eval_samples, steps, mean)
    deviations = tf.reshape(deviations, [len(truth), -1, steps, c]).numpy()
    error = np.where(features["weight"].numpy()[:, :, None] > 0, truth - mean.numpy(), np.nan)
    # One score per series, step and channel; the channels of a series share its group.
    scores = conformal.scores(
        np.transpose(error, [0, 2, 1]).reshape(-1, steps),
        np.transpose(deviations, [0, 3, 1, 2]).reshape(-1, deviations.shape[1], steps),
    )
    context = serving.group(features).numpy()
    edges = np.zeros([0])
    if not layout.categorical and layout.numeric:
        edges = conformal.bin_edges(context)
        context = conformal.bin_of(context, edges)
    fitted = conformal.fit(scores, np.repeat(context, c))
    _log.info(
        "%s: conformal band from %d calibration series (groups %s)", name, len(truth), fitted.counts
    )
    return tuple(float(k) for k in fitted.keys), fitted.table, edges
