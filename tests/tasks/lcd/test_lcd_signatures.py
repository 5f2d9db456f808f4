"""The exported LCD SavedModel follows the Trainer's settings (tasks/lcd/signatures.py)."""

import numpy as np
import pytest
import tensorflow as tf

from tfx_seqgen import tasks
from tfx_seqgen.models.scaling import scale
from tfx_seqgen.tasks.lcd import signatures
from tfx_seqgen.tasks.lcd.model import LcdModel

LENGTH = 6  # x(0..6): 6 steps after x0
# x_min, x_max, delta_min, delta_max, period_min, period_max, x0_min, x0_max
SCALING = [0.0, 4.0, -2.0, 2.0, 0.5, 4.5, 2.0, 4.0]


class _Transform:
    """What the signatures read of a TFTransformOutput: LCD's features, fixed constants."""

    def transform_features_layer(self):
        def layer(raw):
            x, period = raw["x"], raw["period"][:, 0]
            batch = tf.shape(x)[0]
            return {
                "x_scaled": scale(x[:, :-1], SCALING[0], SCALING[1]),
                "x0_scaled": scale(x[:, 0], SCALING[0], SCALING[1]),
                "period_scaled": scale(period, SCALING[4], SCALING[5]),
                "delta_scaled": scale(x[:, 1:] - x[:, :-1], SCALING[2], SCALING[3]),
                "scaling": tf.tile(tf.constant([SCALING]), [batch, 1]),
            }

        return layer

    def raw_feature_spec(self):
        return {
            "x": tf.io.FixedLenFeature([LENGTH + 1], tf.float32),
            "period": tf.io.FixedLenFeature([1], tf.float32),
        }


def _example(x: list, period: float) -> bytes:
    example = tf.train.Example()
    example.features.feature["x"].float_list.value.extend(x)
    example.features.feature["period"].float_list.value.append(period)
    return example.SerializeToString()


@pytest.fixture(scope="module")
def model():
    model = LcdModel(units=8, context_units=[4], context_every_step=True, initial_scale=0.5)
    model({"x": np.zeros((1, 2), "float32"), "x0": np.zeros(1, "float32"), "period": np.zeros(1)})
    return model


@pytest.mark.parametrize("eval_samples", [7, 3])
def test_exported_evaluate_draws_the_configured_number_of_samples(model, eval_samples, tmp_path):
    """--train eval_samples=N: the Evaluator's scores come from N trajectories per example."""
    config = tasks.get("lcd").training_config(
        {"task": "lcd", "model": {}, "eval_samples": eval_samples}
    )
    signatures.export(model, _Transform(), str(tmp_path), config)
    loaded = tf.saved_model.load(str(tmp_path))
    rows = [([3.0, 2.5, 2.0, 1.5, 1.2, 1.0, 0.9], 2.0), ([2.2, 2.0, 1.9, 1.5, 1.0, 0.7, 0.5], 1.0)]
    examples = tf.constant([_example(x, period) for x, period in rows])
    evaluated = loaded.signatures["evaluate"](examples=examples)["sample_mean"].numpy()

    # generate() seeded as evaluate seeds each example: by a hash of its bytes.
    seed = tf.strings.to_hash_bucket_fast(examples, 2**62)
    x0 = tf.constant([r[0][0] for r in rows])
    period = tf.constant([r[1] for r in rows])

    def drawn_mean(num_samples: int) -> np.ndarray:
        generate = loaded.signatures["generate"]
        out = generate(
            x0=x0,
            period=period,
            seed=seed,
            num_samples=tf.constant(num_samples),
            steps=tf.constant(LENGTH),
        )
        return out["trajectories"].numpy()[:, :, 1:].mean(axis=1)

    np.testing.assert_allclose(evaluated, drawn_mean(eval_samples), rtol=1e-5, atol=1e-6)
    assert not np.allclose(evaluated, drawn_mean(100), rtol=1e-5, atol=1e-6)  # the old default
