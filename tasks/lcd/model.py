"""The LCD model: predicts each step's change of x from the scaled sequence.

Inputs are a dict of scaled tensors: "x" [batch, time], "x0" [batch] (the
first value) and "period" [batch]. Strategies that learn h0 from context see
(x0, period) only through h0; the others (zero, noise, free) get the period
appended to every input step instead, as the paper does for its baseline,
so both kinds of model see the same information. With
`context_every_step=True` every model gets (x0, period) appended to every
input step as well, whatever its h0: the generator's recipe, where the
context steers the whole trajectory and h0 only starts it.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops, tree

from tfx_seqgen.models import free_running
from tfx_seqgen.models.model_config import ModelOptions
from tfx_seqgen.models.task_model import TaskModel
from tfx_seqgen.schema import flag


class LcdOptions(ModelOptions):
    """LcdModel's options: TaskModel's and its own."""

    context_every_step: bool | None = flag(
        None, "give (x0, period) to every step too, not only to h0's network"
    )


@keras.saving.register_keras_serializable(package="seqgen")
class LcdModel(TaskModel):
    OPTIONS = LcdOptions

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
        context_every_step: bool = False,
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
        self.context_every_step = bool(context_every_step)
        self.options["context_every_step"] = self.context_every_step
        # Per-step multipliers of sampled deviations from the mean-h0 path, set
        # by the Trainer's calibration (models.lcd_calibration); None: as drawn.
        self.band_scale = None
        self.head = keras.layers.Dense(1, name="delta")

    def _features(self, inputs):
        x = ops.cast(inputs["x"], "float32")[..., None]
        context = ops.stack(
            [ops.cast(inputs["x0"], "float32"), ops.cast(inputs["period"], "float32")], axis=-1
        )
        # expand_dims, not context[:, None, 1:]: Keras's fit on NumPy arrays
        # traces a graph where that indexing drops the new axis.
        if self.context_every_step:
            steps = ops.shape(x)[1]
            x = ops.concatenate([x, ops.repeat(ops.expand_dims(context, 1), steps, axis=1)], -1)
        elif not self.uses_context:
            period = ops.broadcast_to(ops.expand_dims(context[:, 1:], 1), ops.shape(x))
            x = ops.concatenate([x, period], axis=-1)
        return x, context

    @property
    def input_features(self) -> int:
        """Features per input step: x, then the context the options append."""
        if self.context_every_step:
            return 3
        return 1 if self.uses_context else 2

    def build(self, input_shape):
        batch, time = input_shape["x"][0], input_shape["x"][1]
        features = self.input_features
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
        hidden, *states = self.rnn(
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

    def step(self, x, x0, period, states, training=None):
        """One step of a rollout: scaled x, x0, period [batch] -> (delta [batch], states).

        The same computation as `call` on a one-step sequence, but it runs
        the cell itself: a one-step RNN layer is a whole loop, and tracing 25
        of them made the first free-running epoch take 20-28 s longer than
        the others. `states` are in the structure `get_initial_state` gives.
        """
        features, _ = self._features({"x": x[:, None], "x0": x0, "period": period})
        rnn = self.rnn.rnn
        output, states = rnn.cell(features[:, 0], states, training=bool(training))
        # As after a one-step call of the layer: the next step draws new dropout masks.
        rnn._maybe_reset_dropout_masks(rnn.cell)
        if not tree.is_nested(states):
            states = [states]
        return ops.squeeze(self.head(output), axis=-1), states

    def rollout(self, x0, period, steps: int, increment, training=None, sample=False, seed=None):
        """Free-running scaled x(1..steps) [batch, steps] from scaled x0 and period.

        Each predicted delta moves x and becomes the next input. `increment`
        = (a, b) maps a scaled delta d to the change of scaled x, a * d + b
        (both scalings are affine). `steps` is a Python int: the loop is
        unrolled, so gradients flow through the whole generated trajectory.
        """
        inputs = {"x": x0[:, None], "x0": x0, "period": period}
        states = self.get_initial_state(inputs, training=training, sample=sample, seed=seed)
        x, path = x0, []
        for _ in range(steps):
            delta, states = self.step(x, x0, period, states, training=training)
            x = x + increment[0] * delta + increment[1]
            path.append(x)
        return ops.stack(path, axis=1)


@keras.saving.register_keras_serializable(package="seqgen")
class FreeRunning(free_running.FreeRunning):
    """An LcdModel trained on its own rollouts (models.free_running).

    The LCD rollout moves x by each predicted delta: `increment` = (a, b)
    maps a scaled delta to the change of scaled x (LcdModel.rollout).
    Inputs: the LcdModel's dict (only "x0" and "period" are read).
    Output: scaled x(1..steps) [batch, samples (+ 1), steps].
    """

    def __init__(self, model: LcdModel, increment, steps: int, samples=1, mean_path=False, **kw):
        super().__init__(model, steps, samples, mean_path, **kw)
        self.increment = tuple(float(v) for v in increment)

    def rollout(self, inputs, training=None):
        x0, period = ops.cast(inputs["x0"], "float32"), ops.cast(inputs["period"], "float32")
        return self.model.rollout(x0, period, self.steps, self.increment, training=training)
