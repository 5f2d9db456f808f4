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


def _forward(rnn: keras.layers.Layer) -> keras.layers.Layer:
    return rnn.forward_layer if isinstance(rnn, keras.layers.Bidirectional) else rnn


def _refuse_stateful(rnn: keras.layers.Layer) -> None:
    layers = [rnn.forward_layer, rnn.backward_layer] if hasattr(rnn, "forward_layer") else [rnn]
    if any(getattr(layer, "stateful", False) for layer in layers):
        raise ValueError(
            f"ContextualRNN: {rnn.name} has stateful=True, which would start every batch after "
            "the first from the last batch's states, not from the strategy's h0. Give the layer "
            "stateful=False and carry states with tfx_seqgen.models.StatefulStream(layer, "
            "context): its reset() returns to the strategy's h0."
        )


def _with_states(
    rnn: keras.layers.Layer, config: dict, dtype: dict | None = None
) -> keras.layers.Layer:
    """A copy of `rnn` (serialized as `config`) that returns its final states, under
    the `dtype` policy when one is given.

    ContextualRNN reads the final states itself. The caller's layer is left
    as it is; a built layer's weights are copied.
    """

    def switch_on(config):
        if isinstance(config, dict):
            changed = {key: switch_on(value) for key, value in config.items()}
            if "return_state" in changed:
                changed["return_state"] = True
            if dtype is not None and "dtype" in changed:
                changed["dtype"] = dtype
            return changed
        if isinstance(config, list):
            return [switch_on(item) for item in config]
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
            the states a previous call returned (chunked, stateful use), as a
            flat list or in `rnn`'s structure.
        training, sample, seed: see models.initial_state.
        return_state: return `[output, *states]` as Keras's RNN layers do
            (`[forward, backward, *states]` for a Bidirectional with
            merge_mode=None), in eager and functional use. Default: as the
            wrapped layer was made (its `return_state`).
        mask: [batch, time] booleans, False at padded steps: as in Keras's RNN,
            masked steps leave the states unchanged. A Keras mask on `inputs`
            (from Masking or Embedding(mask_zero=True)) is used when `mask` is
            not given, with or without `context`.

    A `stateful=True` layer is refused: the strategy's h0 would be ignored
    after the first batch. StatefulStream carries states across calls and
    returns to the strategy's h0 on `reset()`.
    """

    def __init__(self, rnn, initial_state="zero", **kwargs):
        if "go_backwards" in kwargs or "merge_mode" in kwargs:
            raise TypeError(
                "Bidirectional(ContextualRNN(...)) is not supported: Bidirectional does not pass "
                "`context` on. Wrap the other way: ContextualRNN(keras.layers.Bidirectional("
                "keras.layers.LSTM(...)), strategy)."
            )
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
        _refuse_stateful(rnn)
        self._returns_state = bool(getattr(rnn, "return_state", False))
        self.structure = state_structure(rnn)
        # A dtype policy given to the wrapper is the wrapped layer's too.
        dtype = (
            keras.saving.serialize_keras_object(self.dtype_policy) if "dtype" in kwargs else None
        )
        self.rnn = _with_states(rnn, self._rnn_config, dtype)
        self.initial_state = make_initial_state(initial_state)
        if self.initial_state.state_sizes is None:
            self.initial_state.state_sizes = [int(s) for s in tree.flatten(self.structure)]

    @property
    def strategy(self) -> InitialState:
        return self.initial_state

    # What a Keras user reads of a recurrent layer, from the wrapped one.
    @property
    def return_sequences(self) -> bool:
        return self.rnn.return_sequences

    @property
    def go_backwards(self) -> bool:
        return _forward(self.rnn).go_backwards

    @property
    def stateful(self) -> bool:
        return False

    @property
    def states(self):
        """None, as for any Keras RNN that is not stateful."""
        return None

    def reset_state(self) -> None:
        """Nothing to reset, as for a Keras RNN that is not stateful; a StatefulStream's
        `reset()` returns a stream to the strategy's h0."""

    @property
    def cell(self):
        return _forward(self.rnn).cell

    @property
    def units(self):
        return getattr(self.cell, "units", None)

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
        return_state=None,
        mask=None,
        inputs_mask=None,
    ):
        if mask is None:
            mask = inputs_mask
        if initial_state is None:
            initial_state = self.get_initial_state(inputs, context, training, sample, seed)
        else:  # flat, as return_state gives them, or already in the structure
            initial_state = tree.pack_sequence_as(self.structure, tree.flatten(initial_state))
        results = self.rnn(inputs, initial_state=initial_state, training=training, mask=mask)
        outputs = results[: self._output_count]
        if return_state is None:  # as the wrapped layer was made
            return_state = self._returns_state
        if return_state:
            return [*outputs, *results[self._output_count :]]
        return outputs[0] if len(outputs) == 1 else outputs

    @property
    def _output_count(self) -> int:
        """Outputs before the states: 2 for a Bidirectional with merge_mode=None."""
        separate = isinstance(self.rnn, keras.layers.Bidirectional) and self.rnn.merge_mode is None
        return 2 if separate else 1

    def compute_mask(self, inputs, mask=None):
        # The outputs keep the time mask when they keep the time axis.
        if mask is None:
            mask = getattr(inputs, "_keras_mask", None)
        return mask if self.rnn.return_sequences else None

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
        output, *self.states = self.layer(
            chunk, initial_state=self.states, training=False, return_state=True
        )
        return output
