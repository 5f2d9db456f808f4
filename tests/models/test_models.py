"""The initial-state strategies and ContextualRNN, across cells and wrappers."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import tree

from tfx_seqgen.models import (
    ContextualRNN,
    FastWeightsCell,
    FastWeightsRNN,
    FreeState,
    LearnedDistributionState,
    LearnedState,
    StatefulStream,
    ZeroState,
    make_initial_state,
)

B, T, F, C = 4, 6, 3, 2
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, F)).astype("float32")
CONTEXT = RNG.normal(size=(B, C)).astype("float32")

RNNS = {
    "simple": (lambda: keras.layers.SimpleRNN(5, return_sequences=True), [[5]], 5),
    "gru": (lambda: keras.layers.GRU(5, return_sequences=True), [[5]], 5),
    "lstm": (lambda: keras.layers.LSTM(5, return_sequences=True), [[5, 5]], 5),
    "fast_weights": (
        lambda: FastWeightsRNN(FastWeightsCell(4), return_sequences=True),
        [[4, 16]],
        4,
    ),
    "stacked": (
        lambda: keras.layers.RNN(
            [keras.layers.LSTMCell(4), keras.layers.GRUCell(6)], return_sequences=True
        ),
        [[4, 4], [6]],
        6,
    ),
    "bidirectional": (
        lambda: keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True)),
        [[5, 5], [5, 5]],
        10,
    ),
}
STRATEGIES = {
    "zero": lambda: ZeroState(),
    "noise": lambda: make_initial_state("noise", noise_scale=0.5),
    "uniform_noise": lambda: ZeroState(noise="uniform", noise_scale=0.5),
    "free": lambda: FreeState(),
    "free_noisy": lambda: FreeState(noise="gaussian", noise_scale=0.3),
    "learned": lambda: LearnedState(hidden_units=[8]),
    "learned_distribution": lambda: LearnedDistributionState(hidden_units=[8]),
}


def flat_shapes(states):
    return [tuple(s.shape) for s in keras.tree.flatten(states)]


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("rnn", list(RNNS))
def test_output_and_state_shapes(rnn, strategy):
    make, sizes, out_units = RNNS[rnn]
    layer = ContextualRNN(make(), STRATEGIES[strategy]())
    output, *states = layer(X, context=CONTEXT, return_state=True)
    assert tuple(output.shape) == (B, T, out_units)
    expected = [(B, s) for group in sizes for s in group]
    assert flat_shapes(states) == expected
    h0 = layer.get_initial_state(X, CONTEXT)
    assert flat_shapes(h0) == expected


def test_zero_strategy_equals_keras_default():
    plain = keras.layers.LSTM(5, return_sequences=True)
    expected = plain(X)
    wrapped = ContextualRNN(keras.layers.LSTM(5, return_sequences=True), "zero")
    wrapped(X)
    wrapped.rnn.set_weights(plain.get_weights())
    np.testing.assert_allclose(wrapped(X), expected, atol=1e-6)


@pytest.mark.parametrize("rnn", ["lstm", "stacked", "bidirectional", "fast_weights"])
def test_every_state_is_initialized_by_the_strategy(rnn):
    make, sizes, _ = RNNS[rnn]
    layer = ContextualRNN(make(), FreeState())
    layer(X)
    total = sum(sum(group) for group in sizes)
    values = np.arange(1, total + 1, dtype="float32") / total
    layer.initial_state.state.assign(values)
    h0 = [np.asarray(s) for s in keras.tree.flatten(layer.get_initial_state(X))]
    np.testing.assert_allclose(np.concatenate([s[0] for s in h0]), values)
    # The RNN really starts there: its output differs from a zero start.
    zero_start = layer(
        X, initial_state=keras.tree.map_structure(tf.zeros_like, layer.get_initial_state(X))
    )
    assert not np.allclose(layer(X), zero_start)


@pytest.mark.parametrize(
    "strategy,variable",
    [("free", "state"), ("learned", "g_output"), ("learned_distribution", "sigma")],
)
def test_gradients_reach_the_initial_state_parameters(strategy, variable):
    layer = ContextualRNN(keras.layers.GRU(5), make_initial_state(strategy))
    layer(X, context=CONTEXT)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(X, context=CONTEXT, training=True) ** 2)
    grads = tape.gradient(loss, layer.initial_state.trainable_variables)
    named = {v.path: g for v, g in zip(layer.initial_state.trainable_variables, grads, strict=True)}
    hits = [g for path, g in named.items() if variable in path]
    assert hits and all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in hits)
    if strategy != "free":  # g's hidden layer gets gradients too
        assert all(g is not None for g in grads)


@pytest.mark.parametrize(
    "strategy", ["noise", "uniform_noise", "free_noisy", "learned_distribution"]
)
def test_inference_is_deterministic_unless_sampling_is_asked(strategy):
    layer = ContextualRNN(keras.layers.GRU(5), STRATEGIES[strategy]())
    first = layer(X, context=CONTEXT)
    np.testing.assert_array_equal(first, layer(X, context=CONTEXT))
    sampled = layer(X, context=CONTEXT, sample=True, seed=np.arange(B))
    assert not np.allclose(first, sampled)
    training = [layer(X, context=CONTEXT, training=True) for _ in range(2)]
    assert not np.allclose(training[0], training[1])  # fresh noise at every training step


def test_noise_strategy_at_inference_is_the_zero_state():
    noisy = ContextualRNN(keras.layers.GRU(5), "noise")
    plain = ContextualRNN(keras.layers.GRU(5), "zero")
    noisy(X), plain(X)
    plain.set_weights(noisy.get_weights())
    np.testing.assert_array_equal(noisy(X), plain(X))


def test_same_seed_same_sample_and_rows_do_not_depend_on_their_batch():
    layer = ContextualRNN(keras.layers.LSTM(5), LearnedDistributionState(hidden_units=[8]))
    seeds = np.array([11, 12, 13, 14])
    a = layer(X, context=CONTEXT, sample=True, seed=seeds)
    b = layer(X, context=CONTEXT, sample=True, seed=seeds)
    c = layer(X, context=CONTEXT, sample=True, seed=seeds + 100)
    np.testing.assert_array_equal(a, b)
    assert not np.any(np.isclose(a, c))
    # Row 2 alone, with its seed, gives the row it gave inside the batch.
    alone = layer(X[2:3], context=CONTEXT[2:3], sample=True, seed=seeds[2:3])
    np.testing.assert_allclose(alone[0], a[2], atol=1e-6)


def test_learned_distribution_samples_have_the_learned_spread():
    strategy = LearnedDistributionState(hidden_units=[8], initial_scale=0.25)
    layer = ContextualRNN(keras.layers.GRU(6), strategy)
    layer(X, context=CONTEXT)
    strategy.sigma.assign(np.log(np.expm1(np.linspace(0.1, 0.9, 6))).astype("float32"))
    n = 4000
    context = np.repeat(CONTEXT[:1], n, axis=0)
    inputs = np.zeros((n, T, F), "float32")
    draws = np.asarray(layer.get_initial_state(inputs, context, sample=True, seed=np.arange(n))[0])
    mean = np.asarray(layer.get_initial_state(inputs[:1], context[:1])[0])[0]
    np.testing.assert_allclose(draws.std(axis=0), np.linspace(0.1, 0.9, 6), rtol=0.06)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.05)


def test_chunked_stateful_equals_one_call_and_reset_returns_to_learned_h0():
    layer = ContextualRNN(
        keras.layers.LSTM(5, return_sequences=True), LearnedState(hidden_units=[8])
    )
    whole = layer(X, context=CONTEXT)
    stream = StatefulStream(layer, context=CONTEXT)
    chunks = [stream(X[:, i : i + 2]) for i in range(0, T, 2)]
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), whole, atol=1e-5)
    stream.reset()
    np.testing.assert_allclose(stream(X[:, :2]), whole[:, :2], atol=1e-6)
    h0 = layer.get_initial_state(X, CONTEXT)
    assert not np.allclose(keras.tree.flatten(h0)[0], 0.0)  # reset is not a zero reset


def test_sampled_stream_reset_repeats_the_same_draw():
    layer = ContextualRNN(keras.layers.GRU(5, return_sequences=True), LearnedDistributionState())
    stream = StatefulStream(layer, context=CONTEXT, sample=True, seed=np.arange(B))
    first = stream(X)
    stream.reset()
    np.testing.assert_array_equal(stream(X), first)


def test_learned_strategies_say_they_need_a_context():
    layer = ContextualRNN(keras.layers.GRU(5), "learned")
    with pytest.raises(ValueError, match="computes h0 from a context; call it with context="):
        layer(X)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: make_initial_state("warm"), "strategy='warm' is invalid; allowed: one of"),
        (lambda: ZeroState(noise="pink"), "noise='pink' is invalid"),
        (lambda: ZeroState(noise="gaussian", noise_scale=-1.0), "noise_scale=-1.0 is invalid"),
        (lambda: LearnedDistributionState(initial_scale=0.0), "initial_scale=0.0 is invalid"),
        (lambda: LearnedState(hidden_units=[0]), "hidden_units=[0] is invalid"),
        (lambda: FastWeightsCell(0), "units=0 is invalid"),
        (
            lambda: ContextualRNN(keras.layers.Dense(3)),
            "is not supported; allowed: a keras.layers.RNN",
        ),
    ],
)
def test_bad_options_are_refused_with_the_value_and_rule(make, message):
    with pytest.raises(
        (ValueError, TypeError), match=message.replace("[", r"\[").replace("]", r"\]")
    ):
        make()


def test_fast_weights_step_matches_the_equations():
    units, cell = 3, FastWeightsCell(3, decay=0.9, fast_learning_rate=0.5, use_layer_norm=False)
    x = RNG.normal(size=(2, 4)).astype("float32")
    h = RNG.normal(size=(2, units)).astype("float32")
    a = RNG.normal(size=(2, units, units)).astype("float32")
    cell.build(x.shape)
    out, (h_new, a_new) = cell(x, [h, a.reshape(2, -1)])
    w, c, b = (np.asarray(v) for v in (cell.recurrent_kernel, cell.kernel, cell.bias))
    a_expected = 0.9 * a + 0.5 * np.einsum("bi,bj->bij", h, h)
    slow = h @ w + x @ c + b
    inner = np.maximum(slow, 0)
    expected = np.maximum(slow + np.einsum("bij,bj->bi", a_expected, inner), 0)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_allclose(h_new, expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(a_new).reshape(2, units, units), a_expected, atol=1e-5)


def fast_weights_in_numpy(
    x, w, c, b, gamma, beta, decay, rate, inner_steps, preliminary, h0=None, a0=None
):
    """Ba et al.'s fast weights written out step by step, layer norm with Keras's epsilon."""

    def layer_norm(v):
        mean, var = v.mean(-1, keepdims=True), v.var(-1, keepdims=True)
        return (v - mean) / np.sqrt(var + 1e-3) * gamma + beta

    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    batch, units = x.shape[0], w.shape[0]
    h = np.zeros((batch, units)) if h0 is None else h0
    a = np.zeros((batch, units, units)) if a0 is None else a0
    outputs = []
    for t in range(x.shape[1]):
        slow = h @ w + x[:, t] @ c + b
        inner = relu(slow)
        stored = inner if preliminary else h
        a = decay * a + rate * stored[:, :, None] * stored[:, None, :]
        for _ in range(inner_steps):
            inner = relu(layer_norm(slow + np.einsum("bij,bj->bi", a, inner)))
        h = inner
        outputs.append(h)
    return np.stack(outputs, 1), a


@pytest.mark.parametrize("preliminary", [False, True])
def test_fast_weights_with_layer_norm_and_inner_steps_matches_numpy(preliminary):
    units, inner_steps = 5, 3
    cell = FastWeightsCell(
        units, decay=0.8, fast_learning_rate=0.4, inner_steps=inner_steps,
        update_with_preliminary=preliminary,
    )  # fmt: skip
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    rnn(X)
    weights = {v.path.split("/")[-1]: v for v in rnn.weights}
    # The layer norm's gain and offset away from 1 and 0, so the test sees them.
    weights["gamma"].assign(RNG.uniform(0.5, 1.5, units).astype("float32"))
    weights["beta"].assign(RNG.uniform(-0.2, 0.2, units).astype("float32"))
    weights["bias"].assign(RNG.uniform(-0.3, 0.3, units).astype("float32"))
    outputs, h, flat_a = rnn(X)
    expected, a = fast_weights_in_numpy(
        X.astype("float64"),
        *(np.asarray(weights[n], "float64") for n in ("recurrent_kernel", "kernel", "bias")),
        *(np.asarray(weights[n], "float64") for n in ("gamma", "beta")),
        decay=0.8, rate=0.4, inner_steps=inner_steps, preliminary=preliminary,
    )  # fmt: skip
    np.testing.assert_allclose(outputs, expected, atol=1e-4)
    np.testing.assert_allclose(np.reshape(flat_a, a.shape), a, atol=1e-4)


@pytest.mark.parametrize("preliminary", [False, True])
def test_fast_weights_in_attention_form_match_numpy_from_a_start_of_any_h_and_a(preliminary):
    units = 5
    cell = FastWeightsCell(
        units, decay=0.8, fast_learning_rate=0.4, inner_steps=2,
        update_with_preliminary=preliminary,
    )  # fmt: skip
    rnn = FastWeightsRNN(cell, return_sequences=True, return_state=True)
    rnn.build(X.shape)
    weights = {v.path.split("/")[-1]: v for v in rnn.weights}
    weights["gamma"].assign(RNG.uniform(0.5, 1.5, units).astype("float32"))
    weights["bias"].assign(RNG.uniform(-0.3, 0.3, units).astype("float32"))
    h0 = RNG.normal(size=(B, units)).astype("float32")
    a0 = RNG.normal(0, 0.3, (B, units, units)).astype("float32")

    def stepped(*args, **kwargs):
        raise AssertionError("the attention form never steps the cell")

    cell.call = stepped
    outputs, h, flat_a = rnn(X, initial_state=[h0, a0.reshape(B, -1)])
    expected, a = fast_weights_in_numpy(
        X.astype("float64"),
        *(np.asarray(weights[n], "float64") for n in ("recurrent_kernel", "kernel", "bias")),
        *(np.asarray(weights[n], "float64") for n in ("gamma", "beta")),
        decay=0.8, rate=0.4, inner_steps=2, preliminary=preliminary, h0=h0, a0=a0,
    )  # fmt: skip
    np.testing.assert_allclose(outputs, expected, atol=1e-4)
    np.testing.assert_allclose(h, expected[:, -1], atol=1e-4)
    np.testing.assert_allclose(np.reshape(flat_a, a.shape), a, atol=1e-4)


@pytest.mark.parametrize("layers", [1, 2])
def test_fast_weights_in_attention_form_have_the_gradients_of_the_stepped_cell(layers):
    """In float64: with 4 units the layer norm can amplify float32 rounding past 1e-3
    for some initial weights; float64 leaves 1e-10, a wrong form 1e-1 or more."""

    def rnn(attention_form):
        cells = [
            FastWeightsCell(4, inner_steps=2, attention_form=attention_form, dtype="float64")
            for _ in range(layers)
        ]
        cell = keras.layers.StackedRNNCells(cells, dtype="float64") if layers > 1 else cells[0]
        return FastWeightsRNN(cell, return_sequences=True, dtype="float64")

    attention, stepped = rnn(True), rnn(False)
    attention.build(X.shape)
    stepped.build(X.shape)
    stepped.set_weights(attention.get_weights())
    start = [[RNG.normal(size=(B, 4)), RNG.normal(0, 0.3, (B, 16))] for _ in range(layers)]
    start = tree.map_structure(tf.Variable, start)
    gradients = []
    for layer in (attention, stepped):
        with tf.GradientTape() as tape:
            outputs = layer(X.astype("float64"), initial_state=start if layers > 1 else start[0])
            loss = tf.reduce_sum(outputs**2)
        gradients.append(tape.gradient(loss, [*layer.trainable_variables, *tree.flatten(start)]))
    for a, b in zip(*gradients, strict=True):
        assert a.dtype == tf.float64
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_fast_weights_rnn_steps_the_cell_where_a_mask_leaves_steps_out():
    mask = np.array([[True] * T, [True] * (T - 2) + [False] * 2] * (B // 2))
    layers = [FastWeightsRNN(FastWeightsCell(4)), keras.layers.RNN(FastWeightsCell(4))]
    for layer in layers:
        layer.build(X.shape)
    layers[0].set_weights(layers[1].get_weights())
    np.testing.assert_allclose(layers[0](X, mask=mask), layers[1](X, mask=mask), atol=1e-6)
    assert not np.allclose(layers[0](X, mask=mask), layers[0](X), atol=1e-3)


def test_the_two_fast_weight_updates_differ():
    cells = [FastWeightsCell(4, update_with_preliminary=p) for p in (False, True)]
    rnns = [keras.layers.RNN(c, return_sequences=True) for c in cells]
    rnns[0](X)
    rnns[1](X)
    rnns[1].set_weights(rnns[0].get_weights())
    assert not np.allclose(rnns[0](X), rnns[1](X), atol=1e-4)


@pytest.mark.parametrize("strategy", ["zero", "learned"])
def test_unrolled_and_xla_compiled_art_model_computes_the_same(strategy):
    from tfx_seqgen.tasks.art.model import ArtModel

    tokens = RNG.integers(0, 20, (8, 11))
    digits = RNG.integers(0, 10, (8,))
    models = []
    for unroll, jit in ((False, False), (True, True)):
        model = ArtModel(vocab_size=20, units=6, strategy=strategy, unroll=unroll, seed=1)
        model(tokens)
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit,
        )
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    np.testing.assert_allclose(models[1](tokens), models[0](tokens), atol=1e-5)
    for model in models:
        model.fit(tokens, digits, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(models[1](tokens), models[0](tokens), atol=1e-4)
    assert models[1].jit_compile and models[1].rnn.rnn.unroll


@pytest.mark.parametrize("strategy", ["zero", "free", "learned", "learned_distribution"])
def test_initial_state_from_a_context_table_equals_the_gathered_contexts(strategy):
    layer = ContextualRNN(keras.layers.LSTM(5), strategy)
    table = RNG.normal(size=(7, C)).astype("float32")
    rows = np.array([3, 0, 3, 6])
    layer(X, context=table[rows])
    for options in ({}, {"sample": True, "seed": np.arange(B)}):
        expected = layer.get_initial_state(X, context=table[rows], **options)
        actual = layer.get_initial_state_from_table(table, rows, **options)
        for e, a in zip(tree.flatten(expected), tree.flatten(actual), strict=True):
            np.testing.assert_allclose(a, e, atol=1e-6)
    if layer.strategy.needs_context:  # gradients reach the rows used, as through a gather
        variable = tf.Variable(table)
        with tf.GradientTape() as tape:
            states = layer.get_initial_state_from_table(variable, rows)
            total = sum(tf.reduce_sum(s) for s in tree.flatten(states))
        gradient = tf.convert_to_tensor(tape.gradient(total, variable)).numpy()
        assert np.all(gradient[[1, 2, 4, 5]] == 0) and np.all(gradient[[0, 3, 6]] != 0)


def padded(x, extra):
    """x with `extra` all-zero steps appended, and the mask that marks the real ones."""
    pad = np.zeros((x.shape[0], extra, x.shape[2]), "float32")
    mask = np.concatenate([np.ones(x.shape[:2], bool), np.zeros((x.shape[0], extra), bool)], 1)
    return np.concatenate([x, pad], axis=1), mask


@pytest.mark.parametrize("rnn", ["lstm", "stacked", "fast_weights"])
@pytest.mark.parametrize("strategy", ["free", "learned"])
def test_masked_padded_batch_equals_the_unpadded_one(rnn, strategy):
    make, _, _ = RNNS[rnn]
    layer = ContextualRNN(make(), STRATEGIES[strategy]())
    expected, *expected_states = layer(X, context=CONTEXT, return_state=True)
    x, mask = padded(X, 3)
    output, *states = layer(x, context=CONTEXT, mask=mask, return_state=True)
    np.testing.assert_allclose(output[:, :T], expected, atol=1e-5)
    for got, want in zip(
        keras.tree.flatten(states), keras.tree.flatten(expected_states), strict=True
    ):
        np.testing.assert_allclose(got, want, atol=1e-5)
    # Without the mask the padding changes the final state, as for a bare Keras RNN.
    unmasked = layer(x, context=CONTEXT, return_state=True)[1:]
    assert not np.allclose(keras.tree.flatten(unmasked)[0], keras.tree.flatten(states)[0])


def test_a_masking_layer_upstream_reaches_the_rnn():
    inputs = keras.Input((None, F))
    masked = keras.layers.Masking(mask_value=0.0)(inputs)
    last = ContextualRNN(keras.layers.GRU(5), "free")(masked)
    model = keras.Model(inputs, last)
    x, _ = padded(X, 4)
    np.testing.assert_allclose(model(x), model(X), atol=1e-5)


def test_the_wrapped_layer_is_not_changed_and_keeps_its_weights():
    lstm = keras.layers.LSTM(5, return_sequences=True)
    expected = lstm(X)
    layer = ContextualRNN(lstm, "zero")
    assert lstm.return_state is False and layer.rnn is not lstm
    np.testing.assert_allclose(layer(X), expected, atol=1e-6)  # the built layer's weights
    bidirectional = keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True))
    ContextualRNN(bidirectional, "zero")
    assert not bidirectional.return_state and not bidirectional.forward_layer.return_state


@pytest.mark.parametrize("rnn", ["lstm", "fast_weights", "bidirectional"])
def test_config_round_trip_gives_the_same_layer(rnn):
    make, _, _ = RNNS[rnn]
    layer = ContextualRNN(make(), LearnedDistributionState(hidden_units=[8], initial_scale=0.3))
    layer(X, context=CONTEXT)
    config = keras.saving.serialize_keras_object(layer)
    copy = keras.saving.deserialize_keras_object(config)
    copy(X, context=CONTEXT)
    copy.set_weights(layer.get_weights())
    assert keras.saving.serialize_keras_object(copy) == config
    np.testing.assert_allclose(copy(X, context=CONTEXT), layer(X, context=CONTEXT), atol=1e-6)


def contextual_model(rnn_layer):
    inputs, context = keras.Input((T, F)), keras.Input((C,))
    hidden = ContextualRNN(rnn_layer, LearnedState(hidden_units=[8]))(inputs, context=context)
    return keras.Model([inputs, context], keras.layers.Dense(1)(hidden))


def test_trains_under_jit_compile():
    model = contextual_model(keras.layers.LSTM(5, return_sequences=True))
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    target = np.zeros((B, T, 1), "float32")
    first = model.evaluate([X, CONTEXT], target, verbose=0)
    model.fit([X, CONTEXT], target, epochs=5, verbose=0)
    assert model.evaluate([X, CONTEXT], target, verbose=0) < first


def test_runs_under_mixed_precision():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        model = contextual_model(keras.layers.GRU(5, return_sequences=True))
        output = model([X, CONTEXT])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        target = np.full((B, T, 1), 0.5, "float32")
        history = model.fit([X, CONTEXT], target, epochs=20, verbose=0).history["loss"]
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert output.dtype == "float16" and np.all(np.isfinite(np.asarray(output, "float32")))
    # It trains: a constant target is learned well within 20 steps (loss scaling works).
    assert np.all(np.isfinite(history)) and history[-1] < 0.5 * history[0], history
