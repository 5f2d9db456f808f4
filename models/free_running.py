"""Free-running training: a task model fitted on the trajectories it generates itself.

Teacher forcing feeds the true values at every step; `generate` feeds the
model's own predictions, whose errors compound. `FreeRunning` rolls the
model out from each example's start and context, `samples` times per
example (each with its own h0 draw while training), and `SampleCrps`
scores those samples against the truth with the CRPS, a proper scoring
rule: the mean path learns to stay on the truth and, for a distribution
of h0, the spread learns the size of the errors that remain. A
deterministic h0 makes every sample the same, and the loss its mean
absolute error.

A task model takes part by having `rollout(inputs, steps, training=None)`:
its inputs dict -> free-running scaled values [batch, steps] or
[batch, steps, channels], with gradients through the whole trajectory.
"""

from __future__ import annotations

import keras
from keras import ops, tree

from tfx_seqgen.models.sample_scores import crps


@keras.saving.register_keras_serializable(package="seqgen")
class FreeRunning(keras.Model):
    """A task model trained on its own rollouts.

    With `mean_path=True` the rollout from the mean h0 comes first in the
    output, and `SampleCrps(anchored=True)` also scores its absolute error:
    the path the band is centred on is trained directly, as a deterministic
    model's is.

    Inputs: the task model's dict. Output: scaled values
    [batch, samples (+ 1), steps(, channels)].
    """

    def __init__(self, model: keras.Model, steps: int, samples: int = 1, mean_path=False, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.steps = int(steps)
        self.samples = int(samples)
        self.mean_path = bool(mean_path)

    def rollout(self, inputs, training=None):
        """The model's rollout over `steps`; a task whose rollout needs more overrides it."""
        return self.model.rollout(inputs, self.steps, training=training)

    def call(self, inputs, training=None):
        repeated = tree.map_structure(lambda t: ops.repeat(t, self.samples, axis=0), inputs)
        path = self.rollout(repeated, training=training)
        paths = ops.reshape(path, (-1, self.samples, *path.shape[1:]))
        if not self.mean_path:
            return paths
        # training=False: the strategy's deterministic h0, with gradients all the same.
        mean = self.rollout(inputs, training=False)
        return ops.concatenate([ops.expand_dims(mean, 1), paths], axis=1)


class SampleCrps(keras.losses.Loss):
    """The ensemble CRPS of samples [batch, S, T(, C)] against the truth [batch, T(, C)].

    Per example and step [batch, T], channels averaged, so a sample weight
    per step (the padded steps of variable-length series) applies as it
    does to the teacher-forced loss. With `anchored`, the first of the
    samples is the mean path: it is scored by its absolute error and the
    others by their CRPS. A Loss, not a function: Keras's function wrapper
    would squeeze a last axis of one channel off the prediction alone.
    """

    def __init__(self, anchored: bool = False, name: str = "sample_crps", **kwargs):
        super().__init__(name=name, **kwargs)
        self.anchored = bool(anchored)

    def call(self, y_true, y_pred):
        if len(y_pred.shape) == 4:  # channels go first, so samples and steps come last
            y_pred, y_true = ops.transpose(y_pred, [0, 3, 1, 2]), ops.transpose(y_true, [0, 2, 1])
            return ops.mean(self._per_step(y_true, y_pred), axis=1)
        return self._per_step(y_true, y_pred)

    def _per_step(self, y_true, y_pred):
        """Scores [..., T] of samples [..., S, T] against the truth [..., T]."""
        if not self.anchored:
            return crps(y_pred, y_true)
        return crps(y_pred[..., 1:, :], y_true) + ops.abs(y_pred[..., 0, :] - y_true)

    def get_config(self) -> dict:
        return {**super().get_config(), "anchored": self.anchored}
