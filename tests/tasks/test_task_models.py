"""The LCD and ART models: inputs, training, and save/load round trips."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_seqgen.models import ContextualRNN, LearnedState
from tfx_seqgen.tasks.art.model import ArtModel
from tfx_seqgen.tasks.lcd.model import LcdModel

B, T = 6, 9
RNG = np.random.default_rng(1)
LCD_INPUTS = {
    "x": RNG.uniform(-1, 1, (B, T)).astype("float32"),
    "x0": RNG.uniform(-1, 1, B).astype("float32"),
    "period": RNG.uniform(-1, 1, B).astype("float32"),
}
TOKENS = RNG.integers(0, 40, (B, 11))
STRATEGIES = ["zero", "noise", "free", "learned", "learned_distribution"]


def test_baseline_sees_the_period_at_every_step_and_contextual_only_in_h0():
    baseline, contextual = LcdModel(units=8, strategy="zero"), LcdModel(units=8)
    baseline(LCD_INPUTS), contextual(LCD_INPUTS)
    assert baseline.rnn.rnn.cell.kernel.shape[0] == 2  # x and period
    assert contextual.rnn.rnn.cell.kernel.shape[0] == 1  # x only
    changed = dict(LCD_INPUTS, period=LCD_INPUTS["period"] + 0.5)
    for model in (baseline, contextual):  # both respond to the period
        assert not np.allclose(model(LCD_INPUTS), model(changed))


def test_art_context_is_the_embedding_of_the_first_token():
    model = ArtModel(vocab_size=40, units=8, strategy="learned")
    model(TOKENS)
    embedded = model.embedding(TOKENS)
    expected = model.rnn(embedded, context=embedded[:, 0])
    np.testing.assert_allclose(model.head(expected), model(TOKENS), atol=1e-6)
    other_first = TOKENS.copy()
    other_first[:, 0] = (other_first[:, 0] + 1) % 40
    assert not np.allclose(model(TOKENS), model(other_first))


def test_lcd_model_learns_a_simple_mapping():
    model = LcdModel(units=16, cell="gru", seed=3)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    targets = 0.5 * LCD_INPUTS["x"] + LCD_INPUTS["period"][:, None]
    history = model.fit(LCD_INPUTS, targets, epochs=30, batch_size=B, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_lcd_model_round_trips_through_keras_files_and_saved_model(cell, strategy, tmp_path):
    model = LcdModel(cell=cell, units=8, strategy=strategy, context_units=[6], num_layers=2)
    expected = model(LCD_INPUTS)
    sampled = model(LCD_INPUTS, sample=True, seed=np.arange(B))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded(LCD_INPUTS), expected)
    np.testing.assert_array_equal(loaded(LCD_INPUTS, sample=True, seed=np.arange(B)), sampled)
    assert loaded.get_config() == model.get_config()
    model.export(str(tmp_path / "saved_model"), verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "saved_model"))
    np.testing.assert_allclose(restored.serve(LCD_INPUTS), expected, atol=1e-6)


@pytest.mark.parametrize("strategy", ["zero", "free", "learned", "learned_distribution"])
def test_art_model_with_fast_weights_round_trips(strategy, tmp_path):
    model = ArtModel(vocab_size=40, embedding_dim=8, units=6, strategy=strategy)
    expected = model(TOKENS)
    model.save(tmp_path / "a.keras")
    np.testing.assert_array_equal(keras.saving.load_model(tmp_path / "a.keras")(TOKENS), expected)
    model.export(str(tmp_path / "saved_model"), verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "saved_model"))
    np.testing.assert_allclose(restored.serve(TOKENS), expected, atol=1e-5)


@pytest.mark.parametrize("strategy", ["zero", "learned", "learned_distribution"])
def test_art_model_conditions_h0_on_the_first_tokens_embedding(strategy):
    model = ArtModel(vocab_size=40, embedding_dim=8, units=6, strategy=strategy)
    model(TOKENS)
    embedded = model.embedding(TOKENS)
    for options in ({}, {"sample": True, "seed": np.arange(B)}):
        direct = model.rnn(embedded, context=embedded[:, 0], **options)
        np.testing.assert_allclose(model(TOKENS, **options), model.head(direct), atol=1e-5)


def test_art_model_with_the_papers_head_embedding_and_update_round_trips(tmp_path):
    model = ArtModel(
        vocab_size=40,
        embedding_dim=8,
        units=6,
        embedding_initializer="zeros",
        head_units=10,
        cell_options={"update_with_preliminary": True},
    )
    expected = model(TOKENS)
    assert not np.any(model.embedding.embeddings)  # the paper's embedding starts at zero
    assert [v.shape for v in model.hidden_head.weights] == [(6, 10), (10,)]
    assert model.head.kernel.shape == (10, 10)  # logits read the hidden layer
    assert model.rnn.rnn.cell.update_with_preliminary
    model.save(tmp_path / "a.keras")
    loaded = keras.saving.load_model(tmp_path / "a.keras")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded(TOKENS), expected)


def test_contextual_rnn_in_a_functional_model_round_trips(tmp_path):
    sequence, context = keras.Input((T, 3)), keras.Input((2,))
    rnn = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True))
    hidden = ContextualRNN(rnn, LearnedState(hidden_units=[5]))(sequence, context=context)
    model = keras.Model([sequence, context], keras.layers.Dense(1)(hidden))
    inputs = [
        RNG.normal(size=(B, T, 3)).astype("float32"),
        RNG.normal(size=(B, 2)).astype("float32"),
    ]
    path = os.path.join(tmp_path, "f.keras")
    model.save(path)
    np.testing.assert_array_equal(keras.saving.load_model(path)(inputs), model(inputs))


def test_epoch_logger_records_training_seconds_per_epoch():
    from tfx_seqgen.models.training import EpochLogger

    model = LcdModel(cell="gru", units=8, strategy="zero")
    model.compile(optimizer="adam", loss="mse")
    targets = np.zeros([B, T], np.float32)
    history = model.fit(
        LCD_INPUTS,
        targets,
        validation_data=(LCD_INPUTS, targets),
        epochs=3,
        batch_size=B,
        callbacks=[EpochLogger("test", 3)],
        verbose=0,
    )
    seconds = history.history["train_seconds"]
    assert len(seconds) == 3 and all(s > 0 for s in seconds)


def test_interrupted_training_resumes_after_its_last_finished_epoch(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from tfx_seqgen.models import training

    config = training.TrainingConfig(
        task="lcd", model={}, epochs=5, backup_dir=str(tmp_path / "backup")
    )
    fn_args = SimpleNamespace(model_run_dir=str(tmp_path / "logs"))
    targets = np.zeros([B, T], np.float32)
    data = tf.data.Dataset.from_tensors((LCD_INPUTS, targets))
    ran, logged = [], training.EpochLogger.on_epoch_end

    def crash_at_third_epoch(self, epoch, logs=None):
        ran.append(epoch)
        if crash and epoch == 2:
            raise KeyboardInterrupt  # the machine stops after epochs 0 and 1 were saved
        logged(self, epoch, logs)

    monkeypatch.setattr(training.EpochLogger, "on_epoch_end", crash_at_third_epoch)
    model = LcdModel(cell="gru", units=8, strategy="zero")
    model.compile(optimizer="adam", loss="mse")
    crash = True
    with pytest.raises(KeyboardInterrupt):
        training.fit(model, data, data, config, fn_args, "test")
    assert ran == [0, 1, 2]
    crash, ran[:] = False, []
    model = LcdModel(cell="gru", units=8, strategy="zero")  # a new process: nothing in memory
    model.compile(optimizer="adam", loss="mse")
    history = training.fit(model, data, data, config, fn_args, "test")
    assert ran == [2, 3, 4]  # only the epochs not finished before
    assert len(history.history["loss"]) == 5 and len(history.history["val_loss"]) == 5
    assert int(model.optimizer.iterations) == 5  # the optimizer's state came back too


def test_a_resumed_training_sees_the_shuffles_an_uninterrupted_one_sees(tmp_path, monkeypatch):
    """Each epoch draws a new order of a seeded shuffle; a resumed run must not start over."""
    from types import SimpleNamespace

    from tfx_seqgen.models import training

    rows = {
        "x": RNG.uniform(-1, 1, (24, T)).astype("float32"),
        "x0": RNG.uniform(-1, 1, 24).astype("float32"),
        "period": RNG.uniform(-1, 1, 24).astype("float32"),
    }
    examples = tf.data.Dataset.from_tensor_slices((rows, RNG.normal(size=(24, T)).astype("f")))
    fn_args = SimpleNamespace(model_run_dir=str(tmp_path / "logs"))
    logged = training.EpochLogger.on_epoch_end

    def trained(backup: str, crash_at=None, seed=4):
        keras.utils.set_random_seed(3)  # TensorFlow's global seed enters the shuffle's too
        train = examples.shuffle(24, seed=seed, reshuffle_each_iteration=True).batch(6)
        config = training.TrainingConfig(task="lcd", model={}, epochs=4, backup_dir=backup)

        def on_epoch_end(self, epoch, logs=None):
            if epoch == crash_at:
                raise KeyboardInterrupt  # after epochs before it were saved
            logged(self, epoch, logs)

        monkeypatch.setattr(training.EpochLogger, "on_epoch_end", on_epoch_end)
        model = LcdModel(cell="gru", units=8, strategy="zero")
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        training.fit(model, train, examples.batch(24), config, fn_args, "test")
        return [w.numpy() for w in model.weights]

    uninterrupted = trained(str(tmp_path / "a"))
    with pytest.raises(KeyboardInterrupt):
        trained(str(tmp_path / "b"), crash_at=2)
    resumed = trained(str(tmp_path / "b"))  # a new process: a new dataset and model
    for got, expected in zip(resumed, uninterrupted, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    # The orders matter: the same training on another shuffle ends elsewhere.
    other = trained(str(tmp_path / "c"), seed=5)
    assert not all(np.allclose(a, b, rtol=1e-3) for a, b in zip(other, uninterrupted, strict=True))


def test_several_steps_per_call_train_step_for_step_as_one_step_per_call(tmp_path):
    from types import SimpleNamespace

    from tfx_seqgen.errors import InvalidTrainingConfig
    from tfx_seqgen.models import training

    def split(count):
        rows = {
            "x": RNG.uniform(-1, 1, (count, T)).astype("float32"),
            "x0": RNG.uniform(-1, 1, count).astype("float32"),
            "period": RNG.uniform(-1, 1, count).astype("float32"),
        }
        return tf.data.Dataset.from_tensor_slices((rows, rows["x"] * 0.5)).batch(4)

    # Batches of 4: 10 training batches an epoch and 15 eval batches, so 5
    # steps per call fit (2 and 10 do not divide 15).
    train, evaluation = split(40), split(60)
    fn_args = SimpleNamespace(model_run_dir=str(tmp_path / "logs"))

    def trained(steps_per_execution):
        keras.utils.set_random_seed(3)
        model = LcdModel(cell="gru", units=8, strategy="learned_distribution")
        model.compile(optimizer="adam", loss="mse")
        config = training.TrainingConfig(
            task="lcd", model={}, epochs=2, steps_per_execution=steps_per_execution
        )
        return model, training.fit(model, train, evaluation, config, fn_args, "test").history

    (one, one_logs), (several, several_logs) = trained(1), trained(5)
    assert several.steps_per_execution == 5
    # Keras 3.6 counts an extra iteration for a call that runs out of data part way.
    assert int(one.optimizer.iterations) == int(several.optimizer.iterations) == 20
    for a, b in zip(one.get_weights(), several.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(several_logs["val_loss"], one_logs["val_loss"], rtol=1e-5)
    with pytest.raises(InvalidTrainingConfig, match=r"=10 does not fit.*one of \[1, 5\]"):
        trained(10)


def test_decayed_learning_rate_holds_then_falls_linearly_over_the_last_epochs(tmp_path):
    from types import SimpleNamespace

    from tfx_seqgen.models import training

    fn_args = SimpleNamespace(model_run_dir=str(tmp_path / "logs"))
    data = tf.data.Dataset.from_tensors((LCD_INPUTS, np.zeros([B, T], np.float32)))
    model = LcdModel(cell="gru", units=8, strategy="zero")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    config = training.TrainingConfig(
        task="lcd", model={}, epochs=5, learning_rate=0.01, decay_epochs=3
    )
    history = training.fit(model, data, data, config, fn_args, "test").history
    # Two epochs at the full rate, then 3/4, 2/4 and 1/4 of it.
    np.testing.assert_allclose(
        history["learning_rate"], [0.01, 0.01, 0.0075, 0.005, 0.0025], rtol=1e-6
    )
    # A decay longer than the run spans all of it: 10 epochs asked, 2 run.
    assert [training.decayed_learning_rate(0.03, e, 2, 10) for e in (0, 1)] == pytest.approx(
        [0.02, 0.01]
    )
    # A later phase (given its own epochs) keeps the rate its optimizer has.
    model.compile(optimizer=keras.optimizers.Adam(0.002), loss="mse")
    later = training.fit(model, data, data, config, fn_args, "test", epochs=2, phase="later")
    assert "learning_rate" not in later.history
    assert float(model.optimizer.learning_rate) == pytest.approx(0.002)


def test_steps_per_call_allowed_divide_both_the_training_and_the_eval_batches():
    from tfx_seqgen.errors import InvalidTrainingConfig
    from tfx_seqgen.models import training

    def batches(count):
        return tf.data.Dataset.range(count).batch(1)

    allowed = training.allowed_steps_per_execution
    # The paper's splits at batch 128: LCD 40 training and 16 eval batches,
    # ART 782 and 157 (a prime: ART can only run one step per call).
    assert allowed(batches(40), batches(16)) == [1, 2, 4, 8]
    assert allowed(batches(782), batches(157)) == [1]
    assert allowed(batches(64), batches(96))[-1] == 32  # never more than 32
    streamed = batches(40).filter(lambda row: True)  # a batch count unknown in advance
    assert allowed(streamed, batches(16)) == [1]
    config = training.TrainingConfig(task="lcd", model={}, steps_per_execution=4)
    assert training.steps_per_execution(config, batches(40), batches(16)) == 4
    with pytest.raises(InvalidTrainingConfig, match=r"=4 does not fit.*one of \[1\] .*streamed"):
        training.steps_per_execution(config, streamed, batches(16))


def test_context_every_step_feeds_x0_and_period_to_every_step_of_both_kinds():
    for strategy in ("zero", "learned_distribution"):
        model = LcdModel(units=8, strategy=strategy, context_every_step=True)
        model(LCD_INPUTS)
        assert model.rnn.rnn.cell.kernel.shape[0] == 3  # x, x0 and period
        changed = dict(LCD_INPUTS, x0=LCD_INPUTS["x0"] + 0.5)
        later = model(changed)[:, 1:] - model(LCD_INPUTS)[:, 1:]
        assert np.abs(later).max() > 0
        assert LcdModel.from_config(model.get_config()).context_every_step


@pytest.mark.parametrize("strategy", ["zero", "learned_distribution"])
def test_rollout_feeds_each_prediction_back_as_the_next_input(strategy):
    """Against the LSTM cell and head stepped by hand, one step at a time."""
    model = LcdModel(units=8, strategy=strategy, context_units=[4], context_every_step=True)
    model(LCD_INPUTS)
    x0, period = LCD_INPUTS["x0"], LCD_INPUTS["period"]
    a, b = 0.9, -0.1
    rolled = model.rollout(x0, period, 5, (a, b)).numpy()

    h, c = model.get_initial_state({"x": x0[:, None], "x0": x0, "period": period})[0:2]
    x, expected = x0, []
    for _ in range(5):
        step_input = np.stack([x, x0, period], axis=1)
        output, (h, c) = model.rnn.rnn.cell(step_input, [h, c])
        delta = model.head(output).numpy()[:, 0]
        x = x + a * delta + b
        expected.append(x)
    np.testing.assert_allclose(rolled, np.stack(expected, axis=1), atol=1e-5)


def test_free_running_training_lowers_the_rollout_crps_and_keeps_a_spread():
    from tfx_seqgen.models.free_running import SampleCrps
    from tfx_seqgen.tasks.lcd.model import FreeRunning

    # The weights' initializers draw from Keras's seed: fixed, so the outcome
    # does not depend on which tests ran before.
    keras.utils.set_random_seed(0)
    model = LcdModel(units=8, context_units=[4], context_every_step=True, seed=1)
    free = FreeRunning(model, (1.0, 0.0), steps=T, samples=4)
    free.compile(optimizer=keras.optimizers.Adam(0.01), loss=SampleCrps())
    # Targets: x falls by 0.05 a step from x0. Staying at x0 would score the
    # mean of 0.05 * t over t = 1..9: 0.25.
    targets = LCD_INPUTS["x0"][:, None] - 0.05 * np.arange(1, T + 1)[None, :]
    paths = free(LCD_INPUTS, training=True).numpy()
    assert paths.shape == (B, 4, T)
    assert not np.allclose(paths[:, 0], paths[:, 1])  # each sample draws its own h0
    history = free.fit(LCD_INPUTS, targets, epochs=40, batch_size=B, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["loss"][-1] < 0.5 * 0.25


def test_free_running_with_the_mean_path_puts_it_first_and_scores_its_error():
    from tfx_seqgen.models.free_running import SampleCrps
    from tfx_seqgen.tasks.lcd.model import FreeRunning

    model = LcdModel(units=8, context_units=[4], context_every_step=True, seed=2)
    free = FreeRunning(model, (1.0, 0.0), steps=4, samples=3, mean_path=True)
    paths = free(LCD_INPUTS, training=True).numpy()
    assert paths.shape == (B, 4, 4)
    mean = model.rollout(LCD_INPUTS["x0"], LCD_INPUTS["period"], 4, (1.0, 0.0)).numpy()
    np.testing.assert_allclose(paths[:, 0], mean, atol=1e-6)
    truth = np.zeros((B, 4), "float32")
    expected = float(SampleCrps()(truth, paths[:, 1:])) + np.abs(paths[:, 0]).mean()
    assert float(SampleCrps(anchored=True)(truth, paths)) == pytest.approx(expected, rel=1e-5)
