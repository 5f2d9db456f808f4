"""Free-running training (models.free_running) and the sequences model's rollout."""

import itertools

import keras
import numpy as np
import pytest

from tfx_seqgen.models.free_running import FreeRunning, SampleCrps
from tfx_seqgen.tasks.sequences.model import SequencesModel

B, T, C = 6, 7, 2
RNG = np.random.default_rng(4)


def sequences_inputs(channels: int) -> dict:
    return {
        "x": RNG.uniform(-1, 1, (B, T, channels)).astype("float32"),
        "numeric": RNG.uniform(-1, 1, (B, channels + 1)).astype("float32"),
        "categories": RNG.integers(0, 3, (B, 1)),
    }


def crps_by_definition(samples, truth):
    """E|X - y| - E|X - X'| / 2 over one step's samples, by the double sum."""
    near = np.mean([abs(x - truth) for x in samples])
    spread = np.mean([abs(a - b) for a, b in itertools.product(samples, samples)])
    return near - 0.5 * spread


def test_sample_crps_scores_each_step_and_averages_the_channels():
    samples = RNG.normal(size=(3, 4, 5, C)).astype("float32")  # [batch, S, T, C]
    truth = RNG.normal(size=(3, 5, C)).astype("float32")
    expected = np.array(
        [
            [
                np.mean([crps_by_definition(samples[b, :, t, c], truth[b, t, c]) for c in range(C)])
                for t in range(5)
            ]
            for b in range(3)
        ]
    )
    np.testing.assert_allclose(SampleCrps().call(truth, samples), expected, rtol=1e-5)
    # Per-step weights apply as to the teacher-forced loss: summed, over all steps.
    weight = np.ones((3, 5), "float32")
    weight[:, 3:] = 0
    loss = float(SampleCrps()(truth, samples, sample_weight=weight))
    assert loss == pytest.approx((expected * weight).sum() / expected.size, rel=1e-5)


def test_anchored_sample_crps_scores_the_first_path_by_its_absolute_error():
    paths = RNG.normal(size=(3, 5, 4, C)).astype("float32")
    truth = RNG.normal(size=(3, 4, C)).astype("float32")
    mean_error = np.abs(paths[:, 0] - truth).mean(axis=-1)
    others = SampleCrps().call(truth, paths[:, 1:]).numpy()
    np.testing.assert_allclose(
        SampleCrps(anchored=True).call(truth, paths), others + mean_error, rtol=1e-5
    )


@pytest.mark.parametrize("strategy", ["zero", "learned_distribution"])
def test_sequences_rollout_feeds_each_prediction_back_as_the_next_input(strategy):
    """Against the LSTM cell and head stepped by hand."""
    model = SequencesModel(channels=C, vocab_sizes=[3], units=8, strategy=strategy, seed=1)
    inputs = sequences_inputs(C)
    model(inputs)
    rolled = model.rollout(inputs, 5).numpy()
    assert rolled.shape == (B, 5, C)

    h, c = model.get_initial_state(inputs)[0:2]
    context = np.concatenate([inputs["numeric"], np.eye(3)[inputs["categories"][:, 0]]], axis=1)
    x, expected = inputs["x"][:, 0], []
    for _ in range(5):
        output, (h, c) = model.rnn.rnn.cell(
            np.concatenate([x, context], 1).astype("float32"), [h, c]
        )
        x = model.head(output).numpy()
        expected.append(x)
    np.testing.assert_allclose(rolled, np.stack(expected, axis=1), atol=1e-5)


def test_one_channel_keeps_its_axis_through_keras_fit_and_evaluate():
    """With one value column the targets end in an axis of 1: the loss must not
    squeeze it off the prediction alone. At evaluation (mean h0) every sample is
    the mean path, so the loss is the mean path's absolute error."""
    keras.utils.set_random_seed(0)
    model = SequencesModel(channels=1, vocab_sizes=[3], units=8, context_units=[4], seed=2)
    free = FreeRunning(model, steps=T, samples=3)
    free.compile(optimizer=keras.optimizers.Adam(0.01), loss=SampleCrps())
    inputs = sequences_inputs(1)
    targets = RNG.uniform(-1, 1, (B, T, 1)).astype("float32")
    weight = np.ones((B, T), "float32")
    weight[:3, 4:] = 0  # three series end after 4 steps
    assert free(inputs, training=True).shape == (B, 3, T, 1)
    mean = model.rollout(inputs, T).numpy()
    expected = (np.abs(mean - targets)[..., 0] * weight).sum() / (B * T)
    loss = free.evaluate(inputs, targets, sample_weight=weight, batch_size=B, verbose=0)
    assert loss == pytest.approx(expected, rel=1e-4)
    changed = targets.copy()
    changed[:3, 4:] = 5.0  # a padded step's target carries no weight
    again = free.evaluate(inputs, changed, sample_weight=weight, batch_size=B, verbose=0)
    assert again == pytest.approx(loss, rel=1e-6)


def test_free_running_training_lowers_the_sequences_rollout_crps():
    keras.utils.set_random_seed(0)
    model = SequencesModel(channels=C, vocab_sizes=[3], units=8, context_units=[4], seed=3)
    free = FreeRunning(model, steps=T, samples=4)
    free.compile(optimizer=keras.optimizers.Adam(0.01), loss=SampleCrps())
    inputs = sequences_inputs(C)
    # Targets: each channel falls by 0.05 a step from its first value. Staying
    # at the first value would score the mean of 0.05 * t over t = 1..7: 0.2.
    start = inputs["x"][:, :1]
    targets = start - 0.05 * np.arange(1, T + 1)[None, :, None]
    history = free.fit(inputs, targets, epochs=40, batch_size=B, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["loss"][-1] < 0.5 * 0.2
