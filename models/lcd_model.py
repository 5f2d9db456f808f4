"""The LCD model: predicts each step's change of x from the scaled sequence.

Inputs are a dict of scaled tensors: "x" [batch, time], "x0" [batch] (the
first value) and "period" [batch]. Strategies that learn h0 from context see
(x0, period) only through h0; the others (zero, noise, free) get the period
appended to every input step instead, as the paper does for its baseline,
so both kinds of model see the same information.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

from models.task_model import TaskModel


@keras.saving.register_keras_serializable(package="seqgen")
class LcdModel(TaskModel):
    def __init__(
        self,
        cell: str = "lstm",
        units: int = 128,
        num_layers: int = 1,
        strategy: str = "learned_distribution",
        context_units: Sequence[int] = (50,),
        initial_scale: float = 0.25,
        noise: str | None = None,
        noise_scale: float = 0.1,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(
            cell=cell,
            units=units,
            num_layers=num_layers,
            strategy=strategy,
            context_units=context_units,
            initial_scale=initial_scale,
            noise=noise,
            noise_scale=noise_scale,
            seed=seed,
            return_sequences=True,
            **kwargs,
        )
        self.uses_context = self.rnn.strategy.needs_context
        self.head = keras.layers.Dense(1, name="delta")

    def _features(self, inputs):
        x = ops.cast(inputs["x"], "float32")[..., None]
        context = ops.stack(
            [ops.cast(inputs["x0"], "float32"), ops.cast(inputs["period"], "float32")], axis=-1
        )
        if not self.uses_context:
            # expand_dims, not context[:, None, 1:]: Keras's fit on NumPy arrays
            # traces a graph where that indexing drops the new axis.
            period = ops.broadcast_to(ops.expand_dims(context[:, 1:], 1), ops.shape(x))
            x = ops.concatenate([x, period], axis=-1)
        return x, context

    def build(self, input_shape):
        batch, time = input_shape["x"][0], input_shape["x"][1]
        features = 1 if self.uses_context else 2
        self.rnn.build((batch, time, features), (batch, 2))
        self.head.build(
            (batch, time, self.rnn.rnn.compute_output_shape((batch, time, features))[0][-1])
        )
        self.built = True

    def get_initial_state(self, inputs, training=None, sample=False, seed=None):
        """The strategy's h0 for these inputs; `inputs["x"]` only lends the batch size."""
        x, context = self._features(inputs)
        return self.rnn.get_initial_state(
            x, context if self.uses_context else None, training, sample, seed
        )

    def call(
        self, inputs, training=None, sample=False, seed=None, initial_state=None, return_state=False
    ):
        """Deltas [batch, time]; with return_state, also the final RNN states."""
        x, context = self._features(inputs)
        hidden, states = self.rnn(
            x,
            context=context if self.uses_context else None,
            initial_state=initial_state,
            training=training,
            sample=sample,
            seed=seed,
            return_state=True,
        )
        deltas = ops.squeeze(self.head(hidden), axis=-1)
        return (deltas, states) if return_state else deltas
