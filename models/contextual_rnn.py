"""ContextualRNN: any Keras recurrent layer, started from a strategy's h0."""

from __future__ import annotations

import copy
import random

import keras
from keras import ops, tree

from tfx_seqgen.models.initial_state import InitialState, make_initial_state


def state_structure(rnn: keras.layers.Layer) -> list:
    """The nested list of state sizes that `rnn` takes as `initial_state`.

    LSTM -> [units, units]; stacked cells -> one entry per cell; Bidirectional
    -> the forward layer's states followed by the backward layer's.
    """
    if isinstance(rnn, keras.layers.Bidirectional):
        return state_structure(rnn.forward_layer) + state_structure(rnn.backward_layer)
    if not isinstance(rnn, keras.layers.RNN):
        raise TypeError(
            f"rnn={rnn!r} is not supported; allowed: a keras.layers.RNN (SimpleRNN, GRU, LSTM, "
            "RNN of any cell or list of cells) or a keras.layers.Bidirectional around one."
        )
    size = rnn.cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def _with_states(rnn: keras.layers.Layer, config: dict) -> keras.layers.Layer:
    """A copy of `rnn` (serialized as `config`) that returns its final states.

    ContextualRNN reads the final states itself. The caller's layer is left
    as it is; a built layer's weights are copied.
    """

    def switch_on(config):
        if isinstance(config, dict):
            return {
                key: True if key == "return_state" else switch_on(value)
                for key, value in config.items()
            }
        return config

    # Keras draws the default seed of every initializer and seed generator it
    # constructs from Python's `random`. The copy must not move that stream
    # (the models built after it would start from other weights), and it must
    # start from the weights the caller's layer would have: it takes over that
    # layer's initializers, whose seeds were drawn when the caller made it.
    stream = random.getstate()
    with_states = keras.saving.deserialize_keras_object(switch_on(config))
    random.setstate(stream)
    for original, copied in zip(rnn._flatten_layers(), with_states._flatten_layers(), strict=True):
        for name, value in vars(original).items():
            if isinstance(value, keras.initializers.Initializer):
                setattr(copied, name, value)
    if rnn.built:
        with_states.build_from_config(rnn.get_build_config())
        with_states.set_weights(rnn.get_weights())
    return with_states


@keras.saving.register_keras_serializable(package="seqgen")
class ContextualRNN(keras.layers.Layer):
    """Runs `rnn` from the initial state that `initial_state` computes.

    Args:
        rnn: a Keras RNN layer or Bidirectional wrapper. The layer runs a copy
            of it that returns its final states (the caller's layer is not
            changed); this layer returns states only when asked.
        initial_state: a strategy name ("zero", "noise", "free", "learned",
            "learned_distribution") with its default options, or an
            InitialState layer (e.g. `LearnedState(hidden_units=[16])`).

    Call arguments:
        inputs: [batch, time, features].
        context: [batch, features], required by learned strategies.
        initial_state: states to start from instead of the strategy's h0, e.g.
            the states a previous call returned (chunked, stateful use).
        training, sample, seed: see models.initial_state.
        return_state: also return the final states, in `rnn`'s structure.
        mask: [batch, time] booleans, False at padded steps (Keras passes it
            on from a Masking or Embedding(mask_zero=True) layer): as in
            Keras's RNN, masked steps leave the states unchanged.
    """

    def __init__(self, rnn, initial_state="zero", **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        # The config keeps the layer as given (return_state and all). Keras's
        # RNN.from_config pops "cell" from the dict it gets, hence the deep copy.
        if isinstance(rnn, dict):
            self._rnn_config = rnn
            rnn = keras.saving.deserialize_keras_object(copy.deepcopy(rnn))
        else:
            self._rnn_config = keras.saving.serialize_keras_object(rnn)
        if isinstance(initial_state, dict):
            initial_state = keras.saving.deserialize_keras_object(initial_state)
        self.structure = state_structure(rnn)
        self.rnn = _with_states(rnn, self._rnn_config)
        self.initial_state = make_initial_state(initial_state)
        if self.initial_state.state_sizes is None:
            self.initial_state.state_sizes = [int(s) for s in tree.flatten(self.structure)]

    @property
    def strategy(self) -> InitialState:
        return self.initial_state

    def build(self, inputs_shape, context_shape=None):
        # get_initial_state() may have built the strategy already.
        if not self.initial_state.built:
            self.initial_state.build(inputs_shape, context_shape)
        if not self.rnn.built:
            self.rnn.build(inputs_shape)
        self.built = True

    def get_initial_state(self, inputs, context=None, training=None, sample=False, seed=None):
        """The strategy's h0 for this batch, in the structure `rnn` expects."""
        # The strategy reads only the batch size: the first step carries it,
        # without the time mask (a mask means nothing to h0).
        flat = self.initial_state(
            inputs[:, :1], context=context, training=training, sample=sample, seed=seed
        )
        return tree.pack_sequence_as(self.structure, flat)

    def get_initial_state_from_table(self, table, rows, training=None, sample=False, seed=None):
        """h0 when each example's context is row `rows[i]` of `table`: equal to
        `get_initial_state(context=table[rows])`, at the cost of the table's
        rows rather than the batch's (see InitialState.from_table)."""
        if not self.initial_state.built:
            self.initial_state.build(None, ops.shape(table))
        flat = self.initial_state.from_table(table, rows, training, sample, seed)
        return tree.pack_sequence_as(self.structure, flat)

    def call(
        self,
        inputs,
        context=None,
        initial_state=None,
        training=None,
        sample=False,
        seed=None,
        return_state=False,
        mask=None,
    ):
        if initial_state is None:
            initial_state = self.get_initial_state(inputs, context, training, sample, seed)
        output, *states = self.rnn(
            inputs, initial_state=initial_state, training=training, mask=mask
        )
        if return_state:
            return output, tree.pack_sequence_as(self.structure, tree.flatten(states))
        return output

    def compute_mask(self, inputs, mask=None):
        # The outputs keep the time mask when they keep the time axis.
        return mask if self.rnn.return_sequences else None

    def compute_output_shape(self, inputs_shape, context_shape=None, **kwargs):
        output_shape = self.rnn.compute_output_shape(inputs_shape)[0]
        return output_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rnn": self._rnn_config,
            "initial_state": keras.saving.serialize_keras_object(self.initial_state),
        }


class StatefulStream:
    """Feeds a long sequence to a ContextualRNN in chunks, carrying the state.

    Unlike Keras's `reset_state()`, which returns to zeros, `reset()` returns
    to the strategy's h0 for the stream's context (the same draw, when a seed
    fixes it). Chunked outputs equal one call over the whole sequence.
    """

    def __init__(self, layer: ContextualRNN, context=None, sample=False, seed=None):
        self.layer = layer
        self.context = context
        self.sample = sample
        self.seed = seed
        self.states = None

    def reset(self) -> None:
        self.states = None

    def __call__(self, chunk):
        if self.states is None:
            self.states = self.layer.get_initial_state(
                chunk, self.context, training=False, sample=self.sample, seed=self.seed
            )
        output, self.states = self.layer(
            chunk, initial_state=self.states, training=False, return_state=True
        )
        return output
