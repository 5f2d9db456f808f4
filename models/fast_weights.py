"""The Fast Weights RNN cell of Ba et al. (2016), used by the paper for ART.

Each step decays a fast weight matrix A and adds the outer product of the
previous hidden state, then refines the new hidden state by an inner loop
that attends to the recent past through A:

    A(t)      = decay * A(t-1) + fast_learning_rate * h(t) h(t)^T
    h_0       = f(W h(t) + C x(t) + b)
    h_{s+1}   = f(LN(W h(t) + C x(t) + b + A(t) h_s)),   s = 0..inner_steps-1
    h(t+1)    = h_S

That is Ba et al.'s equation. The contextual RNN paper's code updates A with
the preliminary new state instead, A(t) = decay * A(t-1) + rate * h_0 h_0^T:
`update_with_preliminary=True`.

The state is (h, A) with A flattened to units * units, so Keras's RNN
machinery and the initial-state strategies treat it like any other state.

A never needs to be formed, though. After steps 0..t, with s_k the stored
states and A0 the initial fast weights,

    A(t) v = decay^(t+1) A0 v + rate * sum_k decay^(t-k) s_k (s_k . v)

which is attention over the stored states: about t * units multiply-adds
per example where the matrix costs units^2 for each of its decay, update and
product, forward and backward. FastWeightsRNN runs whole sequences that way
(twice as fast a training step for ART, benchmarks/fast_weights_forms.py)
and forms A only for the final state.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="seqgen")
class FastWeightsCell(keras.layers.Layer):
    """A Keras 3 RNN cell with state [h (units), A (units * units)]."""

    def __init__(
        self,
        units: int,
        decay: float = 0.95,
        fast_learning_rate: float = 0.5,
        inner_steps: int = 1,
        use_layer_norm: bool = True,
        activation: str = "relu",
        update_with_preliminary: bool = False,
        attention_form: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units={units!r} is invalid; allowed: a positive integer.")
        if not isinstance(inner_steps, int) or inner_steps < 1:
            raise ValueError(
                f"inner_steps={inner_steps!r} is invalid; allowed: a positive integer."
            )
        self.units = units
        self.decay = float(decay)
        self.fast_learning_rate = float(fast_learning_rate)
        self.inner_steps = inner_steps
        self.use_layer_norm = use_layer_norm
        self.update_with_preliminary = bool(update_with_preliminary)
        # Read by FastWeightsRNN: False runs sequences step by step with A formed.
        self.attention_form = bool(attention_form)
        self.activation = keras.activations.get(activation)
        self.state_size = [units, units * units]
        self.output_size = units
        # The cell's dtype policy, so a float64 or mixed-precision cell normalizes in it too.
        self.layer_norm = (
            keras.layers.LayerNormalization(name="layer_norm", dtype=self.dtype_policy)
            if use_layer_norm
            else None
        )

    def build(self, input_shape):
        # Ba et al. start the slow recurrent weights at a scaled identity.
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.units, self.units),
            initializer=keras.initializers.Identity(gain=0.05),
        )
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        if self.layer_norm is not None:
            self.layer_norm.build((input_shape[0], self.units))
        self.built = True

    def _refine(self, slow, inner, fast_times):
        """The inner loop: `fast_times(v)` is A(t) v."""
        for _ in range(self.inner_steps):
            pre = slow + fast_times(inner)
            inner = self.activation(self.layer_norm(pre) if self.layer_norm is not None else pre)
        return inner

    def call(self, inputs, states, training=False):
        h, flat_a = states[0], states[1]
        slow = ops.matmul(h, self.recurrent_kernel) + ops.matmul(inputs, self.kernel) + self.bias
        inner = self.activation(slow)
        stored = inner if self.update_with_preliminary else h
        a = ops.reshape(flat_a, (-1, self.units, self.units))
        a = self.decay * a + self.fast_learning_rate * ops.einsum("bi,bj->bij", stored, stored)
        inner = self._refine(slow, inner, lambda v: ops.einsum("bij,bj->bi", a, v))
        return inner, [inner, ops.reshape(a, (-1, self.units * self.units))]

    def call_sequence(self, inputs, states):
        """All steps of `inputs` [batch, time, features] at once, in attention form.

        Returns the outputs [batch, time, units] and the final states, equal
        (to float rounding) to calling the cell step by step. The time
        dimension must be known.
        """
        h, flat_a = states[0], states[1]
        a0 = ops.reshape(flat_a, (-1, self.units, self.units))
        driven = ops.matmul(inputs, self.kernel) + self.bias
        stored, outputs = [], []
        for t in range(inputs.shape[1]):
            slow = ops.matmul(h, self.recurrent_kernel) + driven[:, t]
            inner = self.activation(slow)
            stored.append(inner if self.update_with_preliminary else h)
            past = ops.stack(stored, axis=1)  # [batch, t + 1, units]
            weights = ops.convert_to_tensor(self._decayed(t + 1), dtype=past.dtype)

            def fast_times(v, past=past, weights=weights, t=t):
                scores = ops.einsum("bku,bu->bk", past, v) * weights
                recent = ops.einsum("bku,bk->bu", past, scores)
                return recent + self.decay ** (t + 1) * ops.einsum("bij,bj->bi", a0, v)

            h = self._refine(slow, inner, fast_times)
            outputs.append(h)
        steps = len(stored)
        weights = ops.convert_to_tensor(self._decayed(steps), dtype=past.dtype)
        a = self.decay**steps * a0 + ops.einsum("bki,bkj,k->bij", past, past, weights)
        return ops.stack(outputs, axis=1), [h, ops.reshape(a, (-1, self.units * self.units))]

    def _decayed(self, steps: int) -> np.ndarray:
        """rate * decay^(steps-1-k) for k = 0..steps-1: the stored states' weights in A."""
        return self.fast_learning_rate * self.decay ** np.arange(steps - 1, -1, -1)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "decay": self.decay,
            "fast_learning_rate": self.fast_learning_rate,
            "inner_steps": self.inner_steps,
            "use_layer_norm": self.use_layer_norm,
            "activation": keras.activations.serialize(self.activation),
            "update_with_preliminary": self.update_with_preliminary,
            "attention_form": self.attention_form,
        }


@keras.saving.register_keras_serializable(package="seqgen")
class FastWeightsRNN(keras.layers.RNN):
    """Keras's RNN layer, running Fast Weights cells in attention form.

    Whole sequences of known length, without a mask and not backwards, go
    through each cell's `call_sequence`, layer after layer; anything else
    (or cells with `attention_form=False`) takes Keras's step-by-step loop.
    """

    def _attention_cells(self, sequences, mask) -> list | None:
        cells = getattr(self.cell, "cells", [self.cell])
        usable = (
            mask is None
            and not self.go_backwards
            and sequences.shape[1] is not None
            and all(isinstance(c, FastWeightsCell) and c.attention_form for c in cells)
        )
        return cells if usable else None

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cells = self._attention_cells(sequences, mask)
        if cells is None:
            return super().inner_loop(sequences, initial_state, mask, training)
        per_cell = [initial_state] if len(cells) == 1 else initial_state
        outputs, final_states = sequences, []
        for cell, states in zip(cells, per_cell, strict=True):
            outputs, states = cell.call_sequence(outputs, list(states))
            final_states.append(states)
        states = final_states[0] if len(cells) == 1 else final_states
        return outputs[:, -1], outputs, states
