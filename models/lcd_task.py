"""LCD in the Trainer: training, and the SavedModel's serving signatures.

Signatures (the same for the contextual model and the baseline):
- serving_default(examples): serialized tf.Example -> teacher-forced
  predictions: `predictions` (scaled deltas, the training target's units),
  `delta` and `next_x` in original units; and `rollout`, x(1..n) generated
  free-running from the example's x(0) and period with the mean h0, in
  original units. The Evaluator scores `predictions` and `rollout`.
- transform_features(examples): the Transform outputs, for TFMA labels.
- generate(x0, period, seed, num_samples, steps): `trajectories`
  [B, num_samples, steps + 1] in original units, starting at x0 (the first
  value of the sequence). Each sample draws its own h0 with a seed derived
  from (seed, sample number) and rolls the model forward in the graph.
"""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_transform as tft

from models import stateless_random
from models.lcd_model import LcdModel
from models.preprocessing import SCALING_KEYS, scale, unscale
from models.training import TrainingConfig, fit, make_dataset, optimizer

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


def compiled_model(config: TrainingConfig, tft_output: tft.TFTransformOutput) -> keras.Model:
    """The model `train` fits, compiled as it compiles it."""
    del tft_output  # LCD needs nothing from the transform to build its model
    model = LcdModel(seed=config.seed, **config.model)
    model.compile(optimizer=optimizer(config), loss="mse")
    return model


def train(fn_args, tft_output: tft.TFTransformOutput, config: TrainingConfig):
    model = compiled_model(config, tft_output)
    train_data = make_dataset(fn_args, tft_output, fn_args.train_files, config, True, to_model)
    eval_data = make_dataset(fn_args, tft_output, fn_args.eval_files, config, False, to_model)
    name = f"lcd/{config.model.get('strategy', 'learned_distribution')}"
    return model, fit(model, train_data, eval_data, config, fn_args, name)


def scaling_constants(tft_layer, raw_feature_spec) -> dict:
    """The training split's minima and maxima, read from the transform graph."""
    dummy = {
        name: tf.zeros([1, *spec.shape], spec.dtype) for name, spec in raw_feature_spec.items()
    }
    values = tft_layer(dummy)["scaling"][0].numpy().tolist()
    return dict(zip(SCALING_KEYS, values, strict=True))


class LcdServing(tf.Module):
    """What the SavedModel holds: the model, the transform, and the signatures."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput):
        super().__init__()
        self.model = model
        self.tft_layer = tft_output.transform_features_layer()
        self.raw_feature_spec = tft_output.raw_feature_spec()
        self.scaling = scaling_constants(self.tft_layer, self.raw_feature_spec)

    def _transform(self, examples):
        raw = tf.io.parse_example(examples, self.raw_feature_spec)
        return raw, self.tft_layer(raw)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        raw, features = self._transform(examples)
        inputs, _ = to_model(features)
        predictions = self.model(inputs)
        delta = unscale(predictions, self.scaling["delta_min"], self.scaling["delta_max"])
        x = tf.cast(raw["x"], tf.float32)
        rollout = self._rollout(
            x[:, 0], tf.cast(raw["period"], tf.float32)[:, 0], tf.shape(x)[1] - 1, sample=False
        )
        return {
            "predictions": predictions,
            "delta": delta,
            "next_x": x[:, :-1] + delta,
            "rollout": rollout,
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        return self._transform(examples)[1]

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.float32, name="x0"),
            tf.TensorSpec([None], tf.float32, name="period"),
            tf.TensorSpec([None], tf.int64, name="seed"),
            tf.TensorSpec([], tf.int32, name="num_samples"),
            tf.TensorSpec([], tf.int32, name="steps"),
        ]
    )
    def generate(self, x0, period, seed, num_samples, steps):
        with tf.control_dependencies(_checks(x0, period, seed, num_samples, steps)):
            # Everything below reads these, so no work starts before the checks pass.
            x0, period, seed = tf.identity(x0), tf.identity(period), tf.identity(seed)
            num_samples, steps = tf.identity(num_samples), tf.identity(steps)
        batch = tf.shape(x0)[0]
        # Row b * num_samples + k is sample k of request row b.
        sample_number = tf.tile(tf.range(num_samples, dtype=tf.int64), [batch])
        row_seeds = stateless_random.combine(tf.repeat(seed, num_samples), sample_number)
        x0_rows = tf.repeat(x0, num_samples)
        future = self._rollout(
            x0_rows, tf.repeat(period, num_samples), steps, sample=True, seed=row_seeds
        )
        trajectories = tf.concat([x0_rows[:, None], future], axis=1)
        return {"trajectories": tf.reshape(trajectories, [batch, num_samples, steps + 1])}

    def _rollout(self, x0, period, steps, sample: bool, seed=None):
        """Free-running x(1..steps) [rows, steps]: each prediction is the next input.

        With sample=False the distribution strategy starts from its mean h0,
        so the rollout is deterministic: what the Evaluator scores.
        """
        s = self.scaling
        x0_scaled = scale(x0, s["x_min"], s["x_max"])
        period_scaled = scale(period, s["period_min"], s["period_max"])

        def inputs_at(x):
            return {
                "x": scale(x, s["x_min"], s["x_max"])[:, None],
                "x0": x0_scaled,
                "period": period_scaled,
            }

        states = self.model.get_initial_state(inputs_at(x0), sample=sample, seed=seed)
        path = tf.TensorArray(tf.float32, size=steps, element_shape=x0.shape)
        x = x0
        for t in tf.range(steps):
            delta_scaled, states = self.model(inputs_at(x), initial_state=states, return_state=True)
            x = x + unscale(delta_scaled[:, 0], s["delta_min"], s["delta_max"])
            path = path.write(t, x)
        return tf.transpose(path.stack())

    def signatures(self) -> dict:
        return {
            "serving_default": self.serve,
            "transform_features": self.transform_features,
            "generate": self.generate,
        }


def _checks(x0, period, seed, num_samples, steps) -> list:
    """Assertions that fail a bad request with INVALID_ARGUMENT naming the input."""
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
    ]
    return [check for check in checks if check is not None]


def export(model: keras.Model, tft_output: tft.TFTransformOutput, directory: str) -> None:
    serving = LcdServing(model, tft_output)
    tf.saved_model.save(serving, directory, signatures=serving.signatures())
