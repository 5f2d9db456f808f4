"""preprocessing_fn of each task, run with tf.Transform's Beam implementation."""

import tempfile

import numpy as np
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from tfx_seqgen.models.scaling import scale, unscale
from tfx_seqgen.tasks.art.data import ArtDataset
from tfx_seqgen.tasks.art.preprocessing import preprocessing_fn as art_preprocessing_fn
from tfx_seqgen.tasks.lcd.data import LcdDataset
from tfx_seqgen.tasks.lcd.preprocessing import SCALING_KEYS
from tfx_seqgen.tasks.lcd.preprocessing import preprocessing_fn as lcd_preprocessing_fn


def analyze_and_transform(preprocessing_fn, rows, feature_spec):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(feature_spec))
    with tft_beam.Context(temp_dir=tempfile.mkdtemp()):
        (transformed, _), _ = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn
        )
    return transformed


def test_lcd_scaling_uses_training_minima_and_maxima():
    arrays = LcdDataset(train_per_period=8, length=10).arrays("train", 0, 40)
    rows = [{"x": x, "period": p} for x, p in zip(arrays["x"], arrays["period"], strict=True)]
    spec = {
        "x": tf.io.FixedLenFeature([11], tf.float32),
        "period": tf.io.FixedLenFeature([1], tf.float32),
    }
    out = analyze_and_transform(lcd_preprocessing_fn, rows, spec)
    x, period = arrays["x"], arrays["period"][:, 0]
    delta = x[:, 1:] - x[:, :-1]
    expected = [x.min(), x.max(), delta.min(), delta.max(), period.min(), period.max()]
    expected += [x[:, 0].min(), x[:, 0].max()]
    np.testing.assert_allclose(out[0]["scaling"], expected, rtol=1e-6)
    assert len(SCALING_KEYS) == 8
    x_scaled = np.stack([r["x_scaled"] for r in out])
    delta_scaled = np.stack([r["delta_scaled"] for r in out])
    assert x_scaled.shape == (40, 10) and delta_scaled.shape == (40, 10)
    period_scaled = np.array([r["period_scaled"] for r in out])
    delta_all = delta_scaled.ravel()
    for values in (delta_all, period_scaled):
        np.testing.assert_allclose([values.min(), values.max()], [-1.0, 1.0], atol=1e-5)
    # Inputs leave out the last value, which may hold the minimum.
    assert -1.0 - 1e-6 <= x_scaled.min() and x_scaled.max() <= 1.0 + 1e-6
    np.testing.assert_allclose([r["x0_scaled"] for r in out], x_scaled[:, 0], atol=1e-6)
    # The rollout label is the rest of the sequence, unscaled.
    np.testing.assert_allclose(np.stack([r["x_target"] for r in out]), x[:, 1:], rtol=1e-6)
    # The scaling is invertible with the exported constants.
    recovered = unscale(tf.constant(delta_scaled), expected[2], expected[3]).numpy()
    np.testing.assert_allclose(recovered, delta, atol=1e-5)


def test_scale_maps_a_constant_feature_to_zero():
    np.testing.assert_array_equal(scale(tf.constant([2.0, 2.0]), 2.0, 2.0), [0.0, 0.0])


def test_art_tokens_come_from_a_vocabulary_and_labels_pass_through():
    arrays = ArtDataset(train_count=300).arrays("train", 0, 300)
    rows = [
        {"query": q, "target": t} for q, t in zip(arrays["query"], arrays["target"], strict=True)
    ]
    spec = {
        "query": tf.io.FixedLenFeature([1], tf.string),
        "target": tf.io.FixedLenFeature([1], tf.int64),
    }
    out = analyze_and_transform(
        lambda inputs: art_preprocessing_fn(inputs, {"num_pairs": 4}), rows, spec
    )
    tokens = np.stack([r["tokens"] for r in out])
    assert tokens.shape == (300, 11) and tokens.dtype == np.int64
    np.testing.assert_array_equal([r["label"] for r in out], arrays["target"][:, 0])
    ids = {}
    for query, row in zip(arrays["query"][:, 0], tokens, strict=True):
        for character, token in zip(query.decode(), row, strict=True):
            assert ids.setdefault(character, token) == token  # one id per character
    assert len(set(ids.values())) == len(ids) == 26 + 10 + 1  # letters, digits, "?"
