"""The LCD SavedModel: the model, the transform, and its serving signatures.

Signatures (the same for the contextual model and the baseline):
- serving_default(examples): serialized tf.Example -> teacher-forced
  predictions: `predictions` (scaled deltas, the training target's units),
  `delta` and `next_x` in original units; and `rollout`, x(1..n) generated
  free-running from the example's x(0) and period with the mean h0, in
  original units. The Evaluator scores `predictions` and `rollout`.
- transform_features(examples): the Transform outputs, for TFMA labels.
- evaluate(examples): serving_default's outputs plus scores of
  `eval_samples` trajectories that `generate` draws from each example's
  x0 and period (seeded by the example's bytes), against the example's own
  x(1..n), per step: `crps`, `coverage` (1 inside the 5-95% band),
  `band_width`, and `sample_mean` (their mean trajectory). The Evaluator
  averages them; see models.sample_scores.
- generate(x0, period, seed, num_samples, steps): `trajectories`
  [B, num_samples, steps + 1] in original units, starting at x0 (the first
  value of the sequence). num_samples and steps are scalars, or vectors with
  one (equal) entry per row, as a batching server sends them. Each sample
  draws its own h0 with a seed derived from (seed, sample number) and rolls
  the model forward in the graph.
"""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_transform as tft

from tfx_seqgen.models import sample_scores, stateless_random
from tfx_seqgen.models.conformal_band import ConformalBand, unit_deviations
from tfx_seqgen.models.requests import per_request
from tfx_seqgen.models.scaling import scale, unscale
from tfx_seqgen.models.training_config import TrainingConfig
from tfx_seqgen.tasks.lcd.preprocessing import SCALING_KEYS

MAX_SAMPLES = 1000
MAX_STEPS = 1000
# Values one generate call may return (rows x num_samples x (steps + 1)):
# 40 MB of float32, so one request cannot exhaust a server's memory.
MAX_VALUES = 10_000_000


def to_model(features):
    """Transformed features -> (LcdModel inputs, scaled delta targets)."""
    inputs = {
        "x": features["x_scaled"],
        "x0": features["x0_scaled"],
        "period": features["period_scaled"],
    }
    return inputs, features["delta_scaled"]


def scaling_constants(tft_layer, raw_feature_spec) -> dict:
    """The training split's minima and maxima, read from the transform graph."""
    dummy = {
        name: tf.zeros([1, *spec.shape], spec.dtype) for name, spec in raw_feature_spec.items()
    }
    values = tft_layer(dummy)["scaling"][0].numpy().tolist()
    return dict(zip(SCALING_KEYS, values, strict=True))


class LcdServing(tf.Module):
    """What the SavedModel holds: the model, the transform, and the signatures."""

    def __init__(
        self, model: keras.Model, tft_output: tft.TFTransformOutput, eval_samples: int = 100
    ):
        super().__init__()
        self.model = model
        self.eval_samples = int(eval_samples)
        # The calibrated band: (period keys, factors [keys + 1, T]) that training
        # fitted (tasks.lcd.trainer), or None: the model's own spread, uncalibrated.
        band = getattr(model, "band", None)
        self.band = None if band is None else ConformalBand(*band)
        self.tft_layer = tft_output.transform_features_layer()
        self.raw_feature_spec = tft_output.raw_feature_spec()
        self.scaling = scaling_constants(self.tft_layer, self.raw_feature_spec)

    def _transform(self, examples):
        raw = tf.io.parse_example(examples, self.raw_feature_spec)
        return raw, self.tft_layer(raw)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        return self._predict(*self._transform(examples))

    def _predict(self, raw, features) -> dict:
        inputs, _ = to_model(features)
        predictions = self.model(inputs)
        delta = unscale(predictions, self.scaling["delta_min"], self.scaling["delta_max"])
        x = tf.cast(raw["x"], tf.float32)
        rollout = self.rollout(
            x[:, 0], tf.cast(raw["period"], tf.float32)[:, 0], tf.shape(x)[1] - 1, sample=False
        )
        return {
            "predictions": predictions,
            "delta": delta,
            "next_x": x[:, :-1] + delta,
            "rollout": rollout,
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def evaluate(self, examples):
        raw, features = self._transform(examples)
        outputs = self._predict(raw, features)
        x = tf.cast(raw["x"], tf.float32)
        seed = tf.strings.to_hash_bucket_fast(examples, 2**62)
        steps = tf.shape(x)[1] - 1
        period = tf.cast(raw["period"], tf.float32)[:, 0]
        samples = self.sample(x[:, 0], period, seed, self.eval_samples, steps)[:, :, 1:]
        truth = x[:, 1:]
        return {
            **outputs,
            "crps": sample_scores.crps(samples, truth),
            "coverage": sample_scores.inside_band(samples, truth),
            "band_width": sample_scores.band_width(samples),
            "sample_mean": sample_scores.sample_mean(samples),
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        return self._transform(examples)[1]

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.float32, name="x0"),
            tf.TensorSpec([None], tf.float32, name="period"),
            tf.TensorSpec([None], tf.int64, name="seed"),
            # A scalar, or one entry per row (all equal): TF Serving's batcher
            # needs every input to have a batch dimension.
            tf.TensorSpec(None, tf.int32, name="num_samples"),
            tf.TensorSpec(None, tf.int32, name="steps"),
        ]
    )
    def generate(self, x0, period, seed, num_samples, steps):
        batch = tf.shape(x0)[0]
        num_samples, sample_checks = per_request(num_samples, batch, "num_samples")
        steps, step_checks = per_request(steps, batch, "steps")
        with tf.control_dependencies(sample_checks + step_checks):
            num_samples, steps = tf.identity(num_samples), tf.identity(steps)
        checks = _checks(x0, period, seed, num_samples, steps, self.scaling["x0_min"])
        with tf.control_dependencies(checks):
            # Everything below reads these, so no work starts before the checks pass.
            x0, period, seed = tf.identity(x0), tf.identity(period), tf.identity(seed)
            num_samples, steps = tf.identity(num_samples), tf.identity(steps)
        s = self.scaling
        return {
            "trajectories": self.sample(x0, period, seed, num_samples, steps),
            # Per row: whether the training split held such an x0 and period.
            # Outside, the model extrapolates and its band means little.
            "in_training_range": (x0 >= s["x0_min"])
            & (x0 <= s["x0_max"])
            & (period >= s["period_min"])
            & (period <= s["period_max"]),
        }

    def sample(self, x0, period, seed, num_samples, steps):
        """Trajectories [B, num_samples, steps + 1] starting at x0, one h0 draw each."""
        batch = tf.shape(x0)[0]
        x0_rows = tf.repeat(x0, num_samples)
        if self.band is None:  # the model's own spread
            future = self.rollout(
                x0_rows,
                tf.repeat(period, num_samples),
                steps,
                sample=True,
                seed=self._row_seeds(seed, batch, num_samples),
            )
        else:
            # Calibrated (models.conformal): each sample's deviation from the mean-h0
            # path scaled per period and step. The mean path does not move.
            mean = self.rollout(x0, period, steps, sample=False)
            deviation = self.deviations(x0, period, seed, num_samples, steps, mean)
            future = self.band.apply(
                tf.repeat(mean, num_samples, axis=0),
                tf.reshape(deviation, [-1, steps]),
                tf.repeat(period, num_samples),
                steps,
            )
        trajectories = tf.concat([x0_rows[:, None], future], axis=1)
        return tf.reshape(trajectories, [batch, num_samples, steps + 1])

    def deviations(self, x0, period, seed, num_samples, steps, mean=None):
        """[B, num_samples, steps]: the samples' deviations from the mean-h0 path, before
        any calibration: each h0 draw's, or for a deterministic h0 a unit normal per
        path (models.conformal_band.unit_deviations). What the band scales."""
        batch = tf.shape(x0)[0]
        row_seeds = self._row_seeds(seed, batch, num_samples)
        if not self.model.rnn.strategy.samples_h0:
            deviation = unit_deviations(row_seeds, steps)
        else:
            if mean is None:
                mean = self.rollout(x0, period, steps, sample=False)
            drawn = self.rollout(
                tf.repeat(x0, num_samples),
                tf.repeat(period, num_samples),
                steps,
                sample=True,
                seed=row_seeds,
            )
            deviation = drawn - tf.repeat(mean, num_samples, axis=0)
        return tf.reshape(deviation, [batch, num_samples, steps])

    @staticmethod
    def _row_seeds(seed, batch, num_samples):
        """Row b * num_samples + k's seed: sample k of request row b."""
        sample_number = tf.tile(tf.range(num_samples, dtype=tf.int64), [batch])
        return stateless_random.combine(tf.repeat(seed, num_samples), sample_number)

    def rollout(self, x0, period, steps, sample: bool, seed=None):
        """Free-running x(1..steps) [rows, steps]: each prediction is the next input.

        With sample=False the distribution strategy starts from its mean h0,
        so the rollout is deterministic: what the Evaluator scores.
        """
        s = self.scaling
        x0_scaled = scale(x0, s["x_min"], s["x_max"])
        period_scaled = scale(period, s["period_min"], s["period_max"])

        inputs = {"x": x0_scaled[:, None], "x0": x0_scaled, "period": period_scaled}
        states = self.model.get_initial_state(inputs, sample=sample, seed=seed)
        path = tf.TensorArray(tf.float32, size=steps, element_shape=x0.shape)
        x = x0
        for t in tf.range(steps):
            x_scaled = scale(x, s["x_min"], s["x_max"])
            delta_scaled, states = self.model.step(x_scaled, x0_scaled, period_scaled, states)
            x = x + unscale(delta_scaled, s["delta_min"], s["delta_max"])
            path = path.write(t, x)
        return tf.transpose(path.stack())

    def signatures(self) -> dict:
        return {
            "serving_default": self.serve,
            "transform_features": self.transform_features,
            "generate": self.generate,
            "evaluate": self.evaluate,
        }


def _checks(x0, period, seed, num_samples, steps, x0_min) -> list:
    """Assertions that fail a bad request with INVALID_ARGUMENT naming the input.

    x0 <= 0 is refused when every training sequence started above 0 (the
    paper's amplitudes, 2 to 4): such a start is no sequence of the task.
    """
    samples_rule = f"num_samples must be in [1, {MAX_SAMPLES}]"
    steps_rule = f"steps must be in [1, {MAX_STEPS}]"
    batch = tf.shape(x0)[0]
    checks = [
        tf.debugging.assert_greater_equal(num_samples, 1, message=samples_rule),
        tf.debugging.assert_less_equal(num_samples, MAX_SAMPLES, message=samples_rule),
        tf.debugging.assert_greater_equal(steps, 1, message=steps_rule),
        tf.debugging.assert_less_equal(steps, MAX_STEPS, message=steps_rule),
        tf.debugging.assert_equal(
            tf.shape(period)[0], batch, message="period must have as many rows as x0"
        ),
        tf.debugging.assert_equal(
            tf.shape(seed)[0], batch, message="seed must have as many rows as x0"
        ),
        tf.debugging.assert_less_equal(
            tf.cast(batch, tf.int64)
            * tf.cast(num_samples, tf.int64)
            * tf.cast(steps + 1, tf.int64),
            tf.constant(MAX_VALUES, tf.int64),
            message=f"rows x num_samples x (steps + 1) must be at most {MAX_VALUES:,}",
        ),
        tf.debugging.assert_all_finite(x0, message="x0 must be finite (no NaN or Inf)"),
        tf.debugging.assert_all_finite(period, message="period must be finite (no NaN or Inf)"),
        tf.debugging.assert_positive(
            period, message="period must be > 0: the number of cosine cycles over the sequence"
        ),
        tf.debugging.Assert(
            (x0_min <= 0) | tf.reduce_all(x0 > 0),
            ["x0 must be > 0: every training sequence started from a positive amplitude"],
        ),
    ]
    return [check for check in checks if check is not None]


def export(
    model: keras.Model,
    tft_output: tft.TFTransformOutput,
    directory: str,
    config: TrainingConfig,
) -> None:
    """Writes the SavedModel; its `evaluate` signature draws `config.eval_samples`."""
    serving = LcdServing(model, tft_output, eval_samples=config.eval_samples)
    tf.saved_model.save(serving, directory, signatures=serving.signatures())
