"""The sequences SavedModel: the model, the transform, and its serving signatures.

- generate(x0, <each context column>, seed, num_samples, steps):
  `trajectories` [B, num_samples, steps + 1, C] in the data's units, row 0
  equal to x0 [B, C]; a numeric context column is float32 [B], a
  categorical one string [B]. `in_training_range` [B]: x0 and the numeric
  context inside the training split's ranges. A wrong channel count, a
  missing or non-finite input and a category training never saw fail with
  INVALID_ARGUMENT naming the input.
- evaluate(examples) (also serving_default): per series, scores of
  `eval_samples` trajectories drawn from its x0 and context (seeded by the
  example's bytes) against its own steps, over the steps it has: `crps`,
  `coverage` (share inside the 5-95% band), `band_width`, and
  `mean_path_mse` of the samples' mean. The Evaluator averages them.
- transform_features(examples): the Transform outputs.

Samples are the mean-h0 path plus each sample's deviation scaled by the
conformal factors of its first categorical context value (pooled without
one; models.conformal), the same rule for the contextual model and the
baseline.
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
from tfx_seqgen.tasks.sequences.layout import Layout
from tfx_seqgen.tasks.sequences.series import ID_FEATURE, LENGTH_FEATURE, VALUES_FEATURE

MAX_SAMPLES = 1000
MAX_STEPS = 1000
MAX_VALUES = 10_000_000  # rows x num_samples x (steps + 1) x channels per call


class SequencesServing(tf.Module):
    """What the SavedModel holds: the model, the transform, and the signatures."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput, eval_samples=100):
        super().__init__()
        self.model, self.eval_samples = model, int(eval_samples)
        self.layout = Layout.of(tft_output)
        self.tft_layer = tft_output.transform_features_layer()
        self.raw_feature_spec = tft_output.raw_feature_spec()
        band = getattr(model, "band", None)
        self.band = None if band is None else ConformalBand(*band)
        scaling = self._constants()
        c = self.layout.channels
        self.x_min, self.x_max = scaling[:c], scaling[c : 2 * c]
        self.numeric_ranges = tf.reshape(scaling[2 * c :], [-1, 2])
        names = ["x0", *self.layout.numeric, *self.layout.categorical]
        kinds = [tf.float32] * (1 + len(self.layout.numeric)) + [tf.string] * len(
            self.layout.categorical
        )
        specs = [tf.TensorSpec([None, c], tf.float32, name="x0")]
        specs += [
            tf.TensorSpec([None], k, name=n) for n, k in zip(names[1:], kinds[1:], strict=True)
        ]
        specs += [
            tf.TensorSpec([None], tf.int64, name="seed"),
            tf.TensorSpec(None, tf.int32, name="num_samples"),
            tf.TensorSpec(None, tf.int32, name="steps"),
        ]
        self.context_names = names[1:]
        self.generate = tf.function(self._generate, input_signature=specs)

    def _constants(self) -> tf.Tensor:
        dummy = {n: tf.zeros([1, *s.shape], s.dtype) for n, s in self.raw_feature_spec.items()}
        return self.tft_layer(dummy)["scaling"][0]

    def _raw(self, x0, context: dict) -> dict:
        """Raw features of one-step series starting at x0, for the transform."""
        batch = tf.shape(x0)[0]
        steps = self.layout.steps
        padding = tf.zeros([batch, (steps - 1) * self.layout.channels])
        raw = {
            ID_FEATURE: tf.fill([batch, 1], ""),
            LENGTH_FEATURE: tf.ones([batch, 1], tf.int64),
            VALUES_FEATURE: tf.concat([x0, padding], axis=1),
        }
        for name in self.context_names:
            raw[name] = tf.reshape(context[name], [-1, 1])
        return raw

    def _generate(self, x0, *rest):
        context = dict(zip(self.context_names, rest[: len(self.context_names)], strict=True))
        seed, num_samples, steps = rest[len(self.context_names) :]
        batch = tf.shape(x0)[0]
        num_samples, sample_checks = per_request(num_samples, batch, "num_samples")
        steps, step_checks = per_request(steps, batch, "steps")
        with tf.control_dependencies(sample_checks + step_checks):
            checks = self._checks(x0, context, seed, num_samples, steps)
        with tf.control_dependencies(checks):
            x0, seed = tf.identity(x0), tf.identity(seed)
            num_samples, steps = tf.identity(num_samples), tf.identity(steps)
        features = self.tft_layer(self._raw(x0, context))
        inside = tf.reduce_all((x0 >= self.x_min) & (x0 <= self.x_max), axis=1)
        for index, name in enumerate(self.layout.numeric):
            value, (low, high) = context[name], tf.unstack(self.numeric_ranges[index])
            inside &= (value >= low) & (value <= high)
        return {
            "trajectories": self.sample(x0, features, seed, num_samples, steps),
            "in_training_range": inside,
        }

    def _checks(self, x0, context, seed, num_samples, steps) -> list:
        c, batch = self.layout.channels, tf.shape(x0)[0]
        checks = [
            tf.debugging.assert_equal(
                tf.shape(x0)[1], c, message=f"x0 must have {c} columns, one per value column"
            ),
            tf.debugging.assert_all_finite(x0, message="x0 must be finite (no NaN or Inf)"),
            tf.debugging.assert_equal(tf.shape(seed)[0], batch, message="seed needs a row per x0"),
            tf.debugging.assert_greater_equal(num_samples, 1, message="num_samples must be >= 1"),
            tf.debugging.assert_less_equal(
                num_samples, MAX_SAMPLES, message=f"num_samples must be <= {MAX_SAMPLES}"
            ),
            tf.debugging.assert_greater_equal(steps, 1, message="steps must be >= 1"),
            tf.debugging.assert_less_equal(
                steps, MAX_STEPS, message=f"steps must be <= {MAX_STEPS}"
            ),
            tf.debugging.assert_less_equal(
                tf.cast(batch, tf.int64) * tf.cast(num_samples * (steps + 1) * c, tf.int64),
                tf.constant(MAX_VALUES, tf.int64),
                message=f"rows x num_samples x (steps + 1) x columns must be <= {MAX_VALUES:,}",
            ),
        ]
        for name in self.context_names:
            checks.append(
                tf.debugging.assert_equal(
                    tf.shape(context[name])[0], batch, message=f"{name} needs a row per x0"
                )
            )
        for name in self.layout.numeric:
            checks.append(
                tf.debugging.assert_all_finite(context[name], message=f"{name} must be finite")
            )
        features = self.tft_layer(self._raw(tf.zeros_like(x0), context))
        for name, size in zip(self.layout.categorical, self.layout.vocab_sizes, strict=True):
            known = tf.cast(features[f"{name}_id"], tf.int64) < size - 1  # the last id: unseen
            checks.append(
                tf.debugging.Assert(
                    tf.reduce_all(known),
                    [f"{name} holds a value the training data never had", context[name]],
                    summarize=5,
                )
            )
        return checks

    def group(self, features) -> tf.Tensor:
        """The context that picks each row's conformal group: its first categorical
        context id, else its first numeric context value (scaled; the band bins it),
        else 0."""
        if self.layout.categorical:
            return tf.cast(features[f"{self.layout.categorical[0]}_id"], tf.float32)
        if self.layout.numeric:
            return features["numeric"][:, 0]
        return tf.zeros_like(features["numeric"][:, 0])

    def sample(self, x0, features, seed, num_samples, steps):
        """Trajectories [B, num_samples, steps + 1, C] starting at x0."""
        batch, c = tf.shape(x0)[0], self.layout.channels
        mean = self.rollout(x0, features, steps, sample=False)  # [B, steps, C]
        deviation = self.deviations(x0, features, seed, num_samples, steps, mean)
        repeat = lambda t: tf.repeat(t, num_samples, axis=0)  # noqa: E731
        if self.band is None and not self.model.rnn.strategy.samples_h0:
            deviation = tf.zeros_like(deviation)  # uncalibrated, a deterministic h0 has no spread
        future = repeat(mean) + tf.reshape(deviation, [-1, steps, c])
        if self.band is not None:
            flat = lambda t: tf.reshape(tf.transpose(t, [0, 2, 1]), [-1, steps])  # noqa: E731
            groups = tf.repeat(repeat(self.group(features)), c)
            scaled = self.band.apply(flat(repeat(mean)), flat(future - repeat(mean)), groups, steps)
            future = tf.transpose(tf.reshape(scaled, [-1, c, steps]), [0, 2, 1])
        start = tf.repeat(x0, num_samples, axis=0)[:, None, :]
        trajectories = tf.concat([start, future], axis=1)
        return tf.reshape(trajectories, [batch, num_samples, steps + 1, c])

    def deviations(self, x0, features, seed, num_samples, steps, mean):
        """[B * num_samples, steps, C]: uncalibrated deviations from the mean path (each
        h0 draw's, or a unit normal per path for a deterministic h0)."""
        batch = tf.shape(x0)[0]
        sample_number = tf.tile(tf.range(num_samples, dtype=tf.int64), [batch])
        row_seeds = stateless_random.combine(tf.repeat(seed, num_samples), sample_number)
        if not self.model.rnn.strategy.samples_h0:
            unit = unit_deviations(row_seeds, steps)
            return tf.repeat(unit[:, :, None], self.layout.channels, axis=2)
        rows = lambda t: tf.repeat(t, num_samples, axis=0)  # noqa: E731
        drawn = self.rollout(
            rows(x0), tf.nest.map_structure(rows, features), steps, True, row_seeds
        )
        return drawn - rows(mean)

    def rollout(self, x0, features, steps, sample: bool, seed=None):
        """Free-running values [rows, steps, C] in the data's units from x0 and the context."""
        x = scale(x0, self.x_min, self.x_max)
        inputs = self.layout.inputs(x[:, None, :], features)
        states = self.model.get_initial_state(inputs, sample=sample, seed=seed)
        path = tf.TensorArray(tf.float32, size=steps)
        for t in tf.range(steps):
            x, states = self.model.step(x, inputs, states)
            path = path.write(t, unscale(x, self.x_min, self.x_max))
        return tf.transpose(path.stack(), [1, 0, 2])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def evaluate(self, examples):
        raw = tf.io.parse_example(examples, self.raw_feature_spec)
        features = self.tft_layer(raw)
        steps, c = self.layout.steps - 1, self.layout.channels
        x0 = tf.reshape(tf.cast(raw[VALUES_FEATURE], tf.float32), [-1, steps + 1, c])[:, 0]
        seed = tf.strings.to_hash_bucket_fast(examples, 2**62)
        drawn = self.sample(x0, features, seed, self.eval_samples, steps)[:, :, 1:]
        truth = tf.reshape(features["x_target"], [-1, steps, c])
        weight = features["weight"][:, :, None] * tf.ones([1, 1, c])  # [B, steps, C]
        flat = lambda t: tf.reshape(tf.transpose(t, [0, 2, 1]), [-1, steps])  # noqa: E731
        samples = tf.reshape(tf.transpose(drawn, [0, 3, 1, 2]), [-1, self.eval_samples, steps])
        truth_rows = flat(truth)
        scores = {
            "crps": sample_scores.crps(samples, truth_rows),
            "coverage": sample_scores.inside_band(samples, truth_rows),
            "band_width": sample_scores.band_width(samples),
            "mean_path_mse": tf.square(sample_scores.sample_mean(samples) - truth_rows),
        }
        w = flat(weight)
        per_series = lambda s: tf.reduce_sum(tf.reshape(s * w, [-1, c * steps]), 1)  # noqa: E731
        total = per_series(tf.ones_like(w))
        return {name: per_series(score) / total for name, score in scores.items()}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        return self.tft_layer(tf.io.parse_example(examples, self.raw_feature_spec))

    def signatures(self) -> dict:
        return {
            "serving_default": self.evaluate,
            "evaluate": self.evaluate,
            "generate": self.generate.get_concrete_function(),
            "transform_features": self.transform_features,
        }


def export(model, tft_output, directory: str, config: TrainingConfig) -> None:
    """Writes the SavedModel; its `evaluate` signature draws `config.eval_samples`."""
    serving = SequencesServing(model, tft_output, eval_samples=config.eval_samples)
    tf.saved_model.save(serving, directory, signatures=serving.signatures())
