"""The sequences model: the next step's values from the scaled series and its context.

Inputs are a dict: "x" [batch, time, channels] scaled values, "numeric"
[batch, C + N] (the scaled first values x0, then numeric context columns)
and "categories" [batch, K] vocabulary ids of the categorical context
columns, one-hot encoded here. Together they are the context: the learned
strategies compute h0 = g(context); with `context_every_step` (the
default) every model, the h0 = 0 baseline included, also gets it at
every step, so a comparison is about the initial state alone.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops, tree

from tfx_seqgen.models.model_config import ModelOptions
from tfx_seqgen.models.task_model import TaskModel
from tfx_seqgen.schema import flag


class SequencesOptions(ModelOptions):
    """SequencesModel's options: TaskModel's and its own."""

    context_every_step: bool | None = flag(
        None, "give the context to every step too, not only to h0's network"
    )


@keras.saving.register_keras_serializable(package="seqgen")
class SequencesModel(TaskModel):
    OPTIONS = SequencesOptions

    def __init__(
        self,
        channels: int,
        vocab_sizes: Sequence[int] = (),
        cell: str = "lstm",
        units: int = 64,
        num_layers: int = 1,
        strategy: str = "learned_distribution",
        context_units: Sequence[int] = (32,),
        initial_scale: float = 0.25,
        noise: str | None = None,
        noise_scale: float = 0.1,
        seed: int | None = None,
        context_every_step: bool = True,
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
        self.channels, self.vocab_sizes = int(channels), [int(v) for v in vocab_sizes]
        self.context_every_step = bool(context_every_step)
        self.options["channels"] = self.channels
        self.options["vocab_sizes"] = self.vocab_sizes
        self.options["context_every_step"] = self.context_every_step
        self.uses_context = self.rnn.strategy.needs_context
        self.head = keras.layers.Dense(self.channels, name="next_values")

    def context(self, inputs):
        """[batch, C + N + sum(vocab_sizes)]: numeric context, then one-hot categories."""
        parts = [ops.cast(inputs["numeric"], "float32")]
        for index, size in enumerate(self.vocab_sizes):
            parts.append(ops.one_hot(ops.cast(inputs["categories"][:, index], "int32"), size))
        return ops.concatenate(parts, axis=-1)

    def _features(self, inputs):
        x, context = ops.cast(inputs["x"], "float32"), self.context(inputs)
        if self.context_every_step or not self.uses_context:
            steps = ops.shape(x)[1]
            x = ops.concatenate([x, ops.repeat(ops.expand_dims(context, 1), steps, axis=1)], -1)
        return x, context

    def build(self, input_shape):
        batch, time = input_shape["x"][0], input_shape["x"][1]
        context = input_shape["numeric"][-1] + sum(self.vocab_sizes)
        every_step = self.context_every_step or not self.uses_context
        features = self.channels + (context if every_step else 0)
        self.rnn.build((batch, time, features), (batch, context))
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

    def call(self, inputs, training=None, sample=False, seed=None):
        """The next scaled values [batch, time, channels] after each input step."""
        x, context = self._features(inputs)
        hidden = self.rnn(
            x,
            context=context if self.uses_context else None,
            training=training,
            sample=sample,
            seed=seed,
        )
        return self.head(hidden)

    def step(self, x, inputs, states, training=None):
        """One step of a rollout: scaled x [batch, C] -> (next scaled x [batch, C], states).

        Runs the cell itself, as LcdModel.step does; `inputs` holds the
        context ("numeric", "categories"), `states` the structure
        `get_initial_state` gives.
        """
        features, _ = self._features({**inputs, "x": x[:, None, :]})
        rnn = self.rnn.rnn
        output, states = rnn.cell(features[:, 0], states, training=bool(training))
        rnn._maybe_reset_dropout_masks(rnn.cell)
        if not tree.is_nested(states):
            states = [states]
        return self.head(output), states

    def rollout(self, inputs, steps: int, training=None, sample=False, seed=None):
        """Free-running scaled values [batch, steps, C] from the first step of inputs["x"].

        Each prediction becomes the next input. `steps` is a Python int: the
        loop is unrolled, so free-running training's gradients flow through
        the whole generated trajectory (models.free_running).
        """
        states = self.get_initial_state(inputs, training=training, sample=sample, seed=seed)
        x, path = ops.cast(inputs["x"], "float32")[:, 0], []
        for _ in range(steps):
            x, states = self.step(x, inputs, states, training=training)
            path.append(x)
        return ops.stack(path, axis=1)
