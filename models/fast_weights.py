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
"""

from __future__ import annotations

import keras
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
        self.activation = keras.activations.get(activation)
        self.state_size = [units, units * units]
        self.output_size = units
        self.layer_norm = (
            keras.layers.LayerNormalization(name="layer_norm") if use_layer_norm else None
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

    def call(self, inputs, states, training=False):
        h, flat_a = states[0], states[1]
        slow = ops.matmul(h, self.recurrent_kernel) + ops.matmul(inputs, self.kernel) + self.bias
        inner = self.activation(slow)
        stored = inner if self.update_with_preliminary else h
        a = ops.reshape(flat_a, (-1, self.units, self.units))
        a = self.decay * a + self.fast_learning_rate * ops.einsum("bi,bj->bij", stored, stored)
        for _ in range(self.inner_steps):
            pre = slow + ops.einsum("bij,bj->bi", a, inner)
            inner = self.activation(self.layer_norm(pre) if self.layer_norm is not None else pre)
        return inner, [inner, ops.reshape(a, (-1, self.units * self.units))]

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
        }
