"""ContextualRNN held to Keras 3's own RNN test cases.

Each case below mirrors one of keras/src/layers/rnn/{rnn,lstm,gru,bidirectional}_test.py
(named in its docstring): the same layers, inputs and initializers, and the
expected values written in Keras's test. With the "zero" strategy the wrapper
must give exactly what the bare Keras layer gives; the cases with a learned
strategy check the properties Keras's tests check (masks, states, shapes).

Not ported, and why: `stateful=True` cases (refused here, see below;
StatefulStream is the stateful API), Keras's `run_layer_test` (it builds
layers from init_kwargs alone, without a context), compute_output_shape of
the bare RNN (the wrapper's shapes are checked against the bare layer's
outputs instead), and torch/CuDNN-only cases.
"""

import keras
import numpy as np
import pytest
from keras import initializers, layers

from tfx_seqgen.models import ContextualRNN, LearnedState, StatefulStream

CONSTANT = dict(
    kernel_initializer=initializers.Constant(0.01),
    recurrent_initializer=initializers.Constant(0.02),
    bias_initializer=initializers.Constant(0.03),
)
SEQUENCE = np.arange(24).reshape((2, 4, 3)).astype("float32")
CONTEXT = np.array([[0.5, -1.0], [2.0, 0.1]], "float32")


def zero(layer):
    return ContextualRNN(layer, "zero")


@keras.saving.register_keras_serializable(package="conformance")
class OnesCell(layers.Layer):
    """A linear cell whose weights are all ones, with one or two states: the cells of
    rnn_test.py, written for this test (output = x K + sum of the states' products)."""

    def __init__(self, units, states=1, **kwargs):
        super().__init__(**kwargs)
        self.units, self.states = units, states
        self.state_size = [units] * states
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), "ones", name="kernel")
        self.recurrent = [
            self.add_weight((self.units, self.units), "ones", name=f"recurrent_{i}")
            for i in range(self.states)
        ]

    def call(self, inputs, states):
        x = keras.ops.matmul(inputs, self.kernel)
        # As rnn_test's two-state cell: every new state reads the first old one.
        new = [x + keras.ops.matmul(states[0], r) for r in self.recurrent]
        return sum(new[1:], new[0]), new

    def get_config(self):
        return {**super().get_config(), "units": self.units, "states": self.states}


def test_rnn_forward_pass_with_one_and_two_states():
    """rnn_test.test_forward_pass_single_state and test_forward_pass_two_states."""
    sequence = np.ones((1, 2, 3), "float32")
    one = zero(layers.RNN(OnesCell(2), return_sequences=True, return_state=True))
    output, state = one(sequence)
    np.testing.assert_allclose(output, [[[3.0, 3.0], [9.0, 9.0]]])
    np.testing.assert_allclose(state, [[9.0, 9.0]])
    two = zero(layers.RNN(OnesCell(2, states=2), return_state=True))
    output, first, second = two(sequence)
    np.testing.assert_allclose(output, [[18.0, 18.0]])
    np.testing.assert_allclose(first, [[9.0, 9.0]])
    np.testing.assert_allclose(second, [[9.0, 9.0]])


def test_rnn_passing_initial_state_and_go_backwards():
    """rnn_test.test_passing_initial_state_single_state, _two_states, test_go_backwards."""
    sequence = np.ones((2, 3, 2), "float32")
    one = ContextualRNN(layers.RNN(OnesCell(2)), LearnedState(hidden_units=[3]))
    output = one(sequence, context=CONTEXT, initial_state=np.ones((2, 2), "float32"))
    np.testing.assert_allclose(output, [[22.0, 22.0]] * 2)
    two = zero(layers.RNN(OnesCell(2, states=2), return_state=True))
    output, first, second = two(sequence, initial_state=[np.ones((2, 2), "float32")] * 2)
    np.testing.assert_allclose(output, [[44.0, 44.0]] * 2)
    np.testing.assert_allclose(first, [[22.0, 22.0]] * 2)
    np.testing.assert_allclose(second, [[22.0, 22.0]] * 2)
    backwards = zero(layers.RNN(OnesCell(2), go_backwards=True))
    arange = np.arange(24).reshape((2, 3, 4)).astype("float32")
    np.testing.assert_allclose(backwards(arange), [[202.0, 202.0], [538.0, 538.0]])


def test_rnn_config_round_trip_with_a_custom_cell():
    """rnn_test.test_serialization: the wrapper's config rebuilds the same layer."""
    layer = ContextualRNN(layers.RNN(OnesCell(2, states=2)), LearnedState(hidden_units=[3]))
    expected = layer(SEQUENCE, context=CONTEXT)
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    copy(SEQUENCE, context=CONTEXT)
    copy.set_weights(layer.get_weights())
    np.testing.assert_allclose(copy(SEQUENCE, context=CONTEXT), expected, atol=1e-6)


def test_lstm_correctness():
    """lstm_test.test_correctness (implementation 1 and 2, go_backwards, unroll)."""
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    forward = [[0.6288687] * 3, [0.86899155] * 3, [0.9460773] * 3]
    backward = [[0.35622165] * 3, [0.74789524] * 3, [0.8872726] * 3]
    for implementation in (1, 2):
        for options, expected in (({}, forward), ({"go_backwards": True}, backward)):
            layer = layers.LSTM(3, implementation=implementation, **options, **CONSTANT)
            np.testing.assert_allclose(zero(layer)(sequence), expected, atol=1e-5)
    unrolled = layers.LSTM(3, unroll=True, **CONSTANT)
    np.testing.assert_allclose(zero(unrolled)(sequence), forward, atol=1e-5)


def test_lstm_pass_initial_state():
    """lstm_test.test_pass_initial_state: a given initial_state replaces the strategy's."""
    initial_state = [np.arange(4).reshape((2, 2)).astype("float32")] * 2
    layer = ContextualRNN(layers.LSTM(2, **CONSTANT), LearnedState(hidden_units=[3]))
    output = layer(SEQUENCE, context=CONTEXT, initial_state=initial_state)
    np.testing.assert_allclose(output, [[0.20574439, 0.3558822], [0.64930826, 0.66276]], atol=1e-5)
    backwards = zero(layers.LSTM(2, go_backwards=True, **CONSTANT))
    np.testing.assert_allclose(
        backwards(SEQUENCE, initial_state=initial_state),
        [[0.13281618, 0.2790356], [0.5839337, 0.5992567]],
        atol=1e-5,
    )


def test_lstm_masking():
    """lstm_test.test_masking, with the mask given, and coming from a Masking layer."""
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    sequences = zero(layers.LSTM(2, return_sequences=True, **CONSTANT))
    output = sequences(SEQUENCE, mask=mask)
    np.testing.assert_allclose(
        output[0], [[0.0158891] * 2, [0.05552048] * 2, [0.11755939] * 2, [0.11755939] * 2], 1e-5
    )
    np.testing.assert_allclose(
        output[1], [[0.14185596] * 2, [0.28556206] * 2, [0.28556206] * 2, [0.28556206] * 2], 1e-5
    )
    zeroed = zero(layers.LSTM(2, return_sequences=True, zero_output_for_mask=True, **CONSTANT))
    np.testing.assert_allclose(zeroed(SEQUENCE, mask=mask)[1, 2:], np.zeros((2, 2)))
    backwards = zero(layers.LSTM(2, go_backwards=True, **CONSTANT))
    backwards_mask = np.array([[False, True, True, True], [False, False, True, True]])
    np.testing.assert_allclose(
        backwards(SEQUENCE, mask=backwards_mask),
        [[0.15341201] * 2, [0.3844719] * 2],
        atol=1e-5,
    )


def test_gru_correctness():
    """gru_test.test_correctness (go_backwards, unroll, reset_after=False, use_bias=False)."""
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    cases = [
        ({}, [0.5217289, 0.6371659, 0.39384964]),
        ({"go_backwards": True}, [0.24406259, 0.611516, 0.3928808]),
        ({"unroll": True}, [0.5217289, 0.6371659, 0.39384964]),
        ({"reset_after": False}, [0.51447755, 0.6426879, 0.40208298]),
        ({"use_bias": False}, [0.49988455, 0.64701194, 0.4103359]),
    ]
    for options, rows in cases:
        output = zero(layers.GRU(3, **options, **CONSTANT))(sequence)
        np.testing.assert_allclose(output, [[v] * 3 for v in rows], atol=1e-5, err_msg=options)


def test_gru_pass_initial_state_and_return_state():
    """gru_test.test_pass_initial_state and test_pass_return_state."""
    initial_state = np.arange(4).reshape((2, 2)).astype("float32")
    for options, expected in (
        ({}, [[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
        ({"go_backwards": True}, [[0.13486053, 0.23261218], [0.78257304, 0.9691353]]),
    ):
        layer = ContextualRNN(
            layers.GRU(2, return_state=True, **options, **CONSTANT), LearnedState(hidden_units=[3])
        )
        output, state = layer(SEQUENCE, context=CONTEXT, initial_state=initial_state)
        np.testing.assert_allclose(output, expected, atol=1e-5)
        np.testing.assert_allclose(state, output, atol=1e-6)


def test_gru_masking():
    """gru_test.test_masking (unroll, return_sequences, zero_output_for_mask, go_backwards)."""
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    last = [[0.19393763] * 2, [0.30818558] * 2]
    unrolled = zero(layers.GRU(2, unroll=True, **CONSTANT))
    np.testing.assert_allclose(unrolled(SEQUENCE, mask=mask), last, atol=1e-5)
    sequences = zero(layers.GRU(2, return_sequences=True, **CONSTANT))(SEQUENCE, mask=mask)
    np.testing.assert_allclose(
        sequences[0], [[0.03606692] * 2, [0.09497581] * 2, [0.09497581] * 2, last[0]], 1e-5
    )
    np.testing.assert_allclose(
        sequences[1], [[0.16051409] * 2, [0.16051409] * 2, [0.16051409] * 2, last[1]], 1e-5
    )
    zeroed = zero(layers.GRU(2, return_sequences=True, zero_output_for_mask=True, **CONSTANT))
    np.testing.assert_allclose(zeroed(SEQUENCE, mask=mask)[1, 1:3], np.zeros((2, 2)))
    backwards = zero(layers.GRU(2, go_backwards=True, **CONSTANT))
    np.testing.assert_allclose(
        backwards(SEQUENCE, mask=mask), [[0.11669192] * 2, [0.28380975] * 2], atol=1e-5
    )


def test_a_keras_mask_is_honoured_with_a_context():
    """The mask a Masking layer sets reaches the RNN when `context=` is passed too (Keras
    fills `mask` only for a layer's sole tensor argument)."""
    padded = np.concatenate([SEQUENCE, np.zeros((2, 3, 3), "float32")], axis=1)
    layer = ContextualRNN(layers.GRU(3), LearnedState(hidden_units=[4]))
    expected = layer(SEQUENCE, context=CONTEXT)
    masked = layers.Masking(0.0)(padded)
    np.testing.assert_allclose(layer(masked, context=CONTEXT), expected, atol=1e-5)
    assert not np.allclose(layer(padded, context=CONTEXT), expected, atol=1e-3)
    # In the functional API too.
    inputs, context = keras.Input((None, 3)), keras.Input((2,))
    model = keras.Model([inputs, context], layer(layers.Masking(0.0)(inputs), context=context))
    np.testing.assert_allclose(model([padded, CONTEXT]), expected, atol=1e-5)


def test_bidirectional_correctness_in_every_merge_mode():
    """bidirectional_test.test_correctness (concat, ave, None, mul, GRU sum)."""
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    forward = layers.SimpleRNN(2, **CONSTANT)
    concat = zero(layers.Bidirectional(forward))(sequence)
    np.testing.assert_allclose(
        concat,
        [
            [0.39687276, 0.39687276, 0.10004295, 0.10004295],
            [0.7237238, 0.7237238] + [0.53391594] * 2,
        ],
        atol=1e-5,
    )
    average = zero(layers.Bidirectional(forward, merge_mode="ave"))(sequence)
    np.testing.assert_allclose(average, [[0.24845785] * 2, [0.6288199] * 2], atol=1e-5)
    first, second = zero(layers.Bidirectional(forward, merge_mode=None))(sequence)
    np.testing.assert_allclose(first, [[0.39687276] * 2, [0.7237238] * 2], atol=1e-5)
    np.testing.assert_allclose(second, [[0.10004295] * 2, [0.53391594] * 2], atol=1e-5)
    backward = layers.SimpleRNN(
        2,
        kernel_initializer=initializers.Constant(0.03),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.01),
        go_backwards=True,
    )
    product = zero(layers.Bidirectional(forward, backward_layer=backward, merge_mode="mul"))
    np.testing.assert_allclose(product(sequence), [[0.08374989] * 2, [0.6740834] * 2], atol=1e-5)
    gru = layers.GRU(2, return_sequences=True, **CONSTANT)
    summed = zero(layers.Bidirectional(gru, merge_mode="sum"))(sequence)
    np.testing.assert_allclose(
        summed[1], [[0.59829646] * 2, [0.6734641] * 2, [0.6479671] * 2], atol=1e-5
    )


def test_bidirectional_pass_initial_state_and_masking():
    """bidirectional_test.test_pass_initial_state and test_masking."""
    initial_state = [np.arange(4).reshape((2, 2)).astype("float32") * k for k in (1, 2, 3, 4)]
    layer = zero(layers.Bidirectional(layers.LSTM(2, **CONSTANT)))
    np.testing.assert_allclose(
        layer(SEQUENCE, initial_state=initial_state),
        [
            [0.20794602, 0.4577124, 0.14046375, 0.48191673],
            [0.6682636, 0.6711909] + [0.60943645, 0.60950446],
        ],
        atol=1e-5,
    )
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    gru = zero(layers.Bidirectional(layers.GRU(2, **CONSTANT)))
    np.testing.assert_allclose(
        gru(SEQUENCE, mask=mask),
        [[0.19393763] * 2 + [0.11669192] * 2, [0.30818558] * 2 + [0.28380975] * 2],
        atol=1e-5,
    )


def test_bidirectional_return_state_is_flat_as_keras_returns_it():
    """bidirectional_test.test_return_state: `output, h1, c1, h2, c2`."""
    layer = zero(layers.Bidirectional(layers.LSTM(2, return_state=True, **CONSTANT)))
    output, h1, c1, h2, c2 = layer(SEQUENCE)
    np.testing.assert_allclose(
        output, [[0.1990008] * 2 + [0.12659755] * 2, [0.52335435] * 2 + [0.44717982] * 2], 1e-5
    )
    np.testing.assert_allclose(h1, [[0.1990008] * 2, [0.52335435] * 2], atol=1e-5)
    np.testing.assert_allclose(c1, [[0.35567185] * 2, [1.0492687] * 2], atol=1e-5)
    np.testing.assert_allclose(h2, [[0.12659755] * 2, [0.44717982] * 2], atol=1e-5)
    np.testing.assert_allclose(c2, [[0.2501858] * 2, [0.941473] * 2], atol=1e-5)


@pytest.mark.parametrize("merge_mode", ["ave", "concat", "mul", "sum", None])
def test_bidirectional_output_shapes_in_every_merge_mode(merge_mode):
    """bidirectional_test.test_output_shape: outputs (and states) as Keras's layer gives."""
    x = np.array([[[101, 202], [303, 404]]], "float32")
    for return_state in (True, False):
        keras_layer = layers.Bidirectional(
            layers.LSTM(2, return_state=return_state), merge_mode=merge_mode
        )
        ours = ContextualRNN(keras_layer, LearnedState(hidden_units=[3]))
        got = ours(x, context=CONTEXT[:1])
        want = keras_layer(x)
        got, want = (list(t) if isinstance(t, (list, tuple)) else [t] for t in (got, want))
        assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want]


def test_return_state_in_the_functional_api():
    """Symbolic inputs: the outputs unpack as Keras's LSTM(return_state=True)'s do."""
    inputs, context = keras.Input((4, 3)), keras.Input((2,))
    layer = ContextualRNN(layers.LSTM(5), LearnedState(hidden_units=[3]))
    output, h, c = layer(inputs, context=context, return_state=True)
    model = keras.Model([inputs, context], [output, h, c])
    got = model([SEQUENCE, CONTEXT])
    assert [tuple(t.shape) for t in got] == [(2, 5)] * 3
    np.testing.assert_allclose(got[0], got[1], atol=1e-6)  # an LSTM's output is its h
    eager = layer(SEQUENCE, context=CONTEXT, return_state=True)
    for a, b in zip(got, eager, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_stateful_layer_is_refused_pointing_to_the_streaming_api():
    for rnn in (
        layers.LSTM(2, stateful=True),
        layers.Bidirectional(layers.LSTM(2, stateful=True)),
    ):
        with pytest.raises(ValueError, match="stateful=True.*StatefulStream"):
            ContextualRNN(rnn, "learned")


def test_streaming_carries_the_flat_states_keras_returns():
    layer = ContextualRNN(layers.LSTM(3, return_sequences=True), LearnedState(hidden_units=[3]))
    stream = StatefulStream(layer, context=CONTEXT)
    chunks = [stream(SEQUENCE[:, i : i + 2]) for i in (0, 2)]
    np.testing.assert_allclose(
        np.concatenate(chunks, axis=1), layer(SEQUENCE, context=CONTEXT), atol=1e-5
    )
    assert len(stream.states) == 2  # h and c, flat


def test_the_dtype_policy_reaches_the_wrapped_layer():
    layer = ContextualRNN(layers.GRU(3), "zero", dtype="mixed_float16")
    output = layer(SEQUENCE)
    assert output.dtype == "float16" and layer.rnn.compute_dtype == "float16"
    assert layer.rnn.variable_dtype == "float32"


def test_the_attributes_a_keras_user_reads_are_the_wrapped_layers():
    layer = ContextualRNN(layers.GRU(7, return_sequences=True, go_backwards=True), "learned")
    assert (layer.return_sequences, layer.go_backwards, layer.stateful) == (True, True, False)
    assert layer.states is None and layer.reset_state() is None  # as a Keras RNN not stateful
    assert layer.units == 7 and isinstance(layer.cell, layers.GRUCell)
    both = ContextualRNN(layers.Bidirectional(layers.LSTM(4)), "zero")
    assert both.units == 4 and both.return_sequences is False


def test_wrapping_inside_bidirectional_is_refused_saying_which_way_works():
    with pytest.raises(TypeError, match=r"ContextualRNN\(keras.layers.Bidirectional"):
        layers.Bidirectional(ContextualRNN(layers.LSTM(2), "learned"))
