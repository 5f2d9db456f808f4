"""Initial-state strategies: where an RNN's h0 comes from.

Keras 3 asks a cell for its initial state with `get_initial_state(batch_size)`,
which cannot see any context. So h0 is computed by one of these layers and
handed to the RNN as `initial_state`. Each layer returns one flat
[batch, sum(state_sizes)] tensor split into the RNN's states, so a strategy
works unchanged for GRU (one state), LSTM (h and c), stacked cells,
Bidirectional layers and the Fast Weights cell (h and its flattened matrix).

Randomness follows two switches. `training=True` draws fresh noise from the
layer's seed generator (what gradient descent wants). At inference nothing is
random unless `sample=True`; then, given per-row integer `seed`s, each row's
draw depends only on its own seed, so a request is reproducible anywhere.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
import tensorflow as tf
from keras import ops

from tfx_seqgen.models import stateless_random

STRATEGIES = ("zero", "noise", "free", "learned", "learned_distribution")
NOISE_KINDS = ("gaussian", "uniform")
_NOISE_SALT = 0x6E6F697365  # separate streams for additive noise and h0 samples
_SAMPLE_SALT = 0x68305F73


def _check(condition: bool, name: str, value, allowed: str) -> None:
    if not condition:
        raise ValueError(f"{name}={value!r} is invalid; allowed: {allowed}.")


def _replica_rows(batch):
    """(first, end, global batch) of this replica's rows in the global batch, when
    training on several replicas; None otherwise.

    Each replica holds its consecutive slice of a global batch (tf.data's
    rebatching), and the seed generator's state is the same on all of them:
    drawing the global batch's noise and keeping these rows gives every example
    the draw it gets when one worker trains on the whole batch.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    sizes = context.all_gather(tf.reshape(tf.cast(batch, tf.int32), [1]), axis=0)
    first = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
    return first, first + tf.cast(batch, tf.int32), tf.reduce_sum(sizes)


class InitialState(keras.layers.Layer):
    """Base class: a strategy's deterministic part plus optional additive noise.

    Args:
        state_sizes: sizes of the RNN's states, flattened; ContextualRNN sets it.
        noise: None, "gaussian" (stddev `noise_scale`) or "uniform" (in
            [-noise_scale, noise_scale]), added during training and, at
            inference, only when sampling.
        seed: seeds the generator of training-time noise.
    """

    needs_context = False

    def __init__(
        self,
        state_sizes: Sequence[int] | None = None,
        noise: str | None = None,
        noise_scale: float = 0.1,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check(
            noise is None or noise in NOISE_KINDS, "noise", noise, f"None or one of {NOISE_KINDS}"
        )
        _check(
            isinstance(noise_scale, (int, float))
            and math.isfinite(noise_scale)
            and noise_scale > 0,
            "noise_scale",
            noise_scale,
            "a finite number greater than 0",
        )
        self.state_sizes = None if state_sizes is None else [int(s) for s in state_sizes]
        self.noise = noise
        self.noise_scale = float(noise_scale)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def samples_h0(self) -> bool:
        """Whether h0 is random when sampled: only then do trajectories differ."""
        return self.noise is not None

    @property
    def total_size(self) -> int:
        if self.state_sizes is None:
            raise ValueError(
                f"{self.name}: state_sizes is not set; wrap the RNN in ContextualRNN, "
                "or pass state_sizes=[...]"
            )
        return sum(self.state_sizes)

    def build(self, inputs_shape=None, context_shape=None):
        self.built = True

    def call(self, inputs, context=None, training=None, sample=False, seed=None):
        """Flat initial states [batch, total_size], split per state.

        `inputs` only lends its batch size; `context` is what learned
        strategies condition on; `seed` is an int tensor of shape [batch].
        """
        if self.needs_context and context is None:
            raise self._missing_context()
        batch = ops.shape(inputs)[0]
        flat = self.deterministic(batch, context)
        flat = self.stochastic(flat, training, sample, seed)
        return tf.split(flat, self.state_sizes, axis=-1)

    def from_table(self, table, rows, training=None, sample=False, seed=None):
        """`call(context=table[rows])`, with the deterministic part run once per table row.

        When contexts come from a small set (ART's is the embedding of the first
        token: a few dozen distinct rows in a batch of 128), the strategy's
        network runs on `table` [rows in table, features] and each example
        gathers its row by `rows` [batch]; noise is still drawn per example.
        Values and gradients are those of `call`; the network's cost scales
        with the table, not the batch.
        """
        if self.needs_context and table is None:
            raise self._missing_context()
        flat = ops.take(self.deterministic(ops.shape(table)[0], table), rows, axis=0)
        flat = self.stochastic(flat, training, sample, seed)
        return tf.split(flat, self.state_sizes, axis=-1)

    def _missing_context(self) -> ValueError:
        return ValueError(
            f"{self.name}: the {type(self).__name__} strategy computes h0 from a context; "
            "call it with context=<tensor of shape [batch, features]>."
        )

    def deterministic(self, batch, context):
        """The strategy's h0 without randomness: what inference uses by default."""
        return ops.zeros((batch, self.total_size), dtype=self.compute_dtype)

    def stochastic(self, flat, training, sample, seed):
        if self.noise is None or not (training or sample):
            return flat
        return flat + self.noise_scale * self._draw(flat, training, seed, self.noise, _NOISE_SALT)

    def _draw(self, like, training, seed, kind, salt):
        """Unit noise shaped like `like`: stateful in training, per-row seeded otherwise."""
        shape = ops.shape(like)
        if training or seed is None:
            rows = _replica_rows(shape[0])
            if rows is not None:  # draw the global batch's noise, keep this replica's rows
                shape = (rows[2], shape[1])
            if kind == "gaussian":
                noise = keras.random.normal(shape, seed=self.seed_generator, dtype=like.dtype)
            else:
                noise = keras.random.uniform(
                    shape, -1.0, 1.0, seed=self.seed_generator, dtype=like.dtype
                )
            return noise if rows is None else noise[rows[0] : rows[1]]
        seed = tf.reshape(tf.cast(seed, tf.int64), [-1])
        if kind == "gaussian":
            return stateless_random.normal(seed, self.total_size, salt)
        return 2.0 * stateless_random.uniform(seed, self.total_size, salt) - 1.0

    def get_config(self):
        return {
            **super().get_config(),
            "state_sizes": self.state_sizes,
            "noise": self.noise,
            "noise_scale": self.noise_scale,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="seqgen")
class ZeroState(InitialState):
    """h0 = 0, Keras's default (eq. 2a); with `noise`, the noisy zero state."""


@keras.saving.register_keras_serializable(package="seqgen")
class FreeState(InitialState):
    """A trainable h0 shared by every sequence and tiled over the batch (eq. 2b)."""

    def build(self, inputs_shape=None, context_shape=None):
        self.state = self.add_weight(name="state", shape=(self.total_size,), initializer="zeros")
        self.built = True

    def deterministic(self, batch, context):
        return ops.broadcast_to(self.state[None, :], (batch, self.total_size))


class _ContextNetwork(InitialState):
    """h0 computed from context by a small MLP g (eq. 2c)."""

    needs_context = True

    def __init__(self, hidden_units: Sequence[int] = (50,), activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        _check(
            all(isinstance(u, int) and u > 0 for u in hidden_units),
            "hidden_units",
            hidden_units,
            "a list of positive integers (empty for a single linear layer)",
        )
        self.hidden_units = list(hidden_units)
        self.activation = activation
        self.hidden = [
            keras.layers.Dense(units, activation=activation, name=f"g_hidden_{i}")
            for i, units in enumerate(self.hidden_units)
        ]
        self.head = None

    def build(self, inputs_shape=None, context_shape=None):
        if context_shape is None:
            raise self._missing_context()
        shape = tuple(context_shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.head = keras.layers.Dense(self.total_size, name="g_output")
        self.head.build(shape)
        self.built = True

    def deterministic(self, batch, context):
        x = ops.cast(context, self.compute_dtype)
        for layer in self.hidden:
            x = layer(x)
        return self.head(x)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": self.hidden_units,
            "activation": self.activation,
        }


@keras.saving.register_keras_serializable(package="seqgen")
class LearnedState(_ContextNetwork):
    """h0 = g(context): the Contextual RNN (eq. 2c)."""


@keras.saving.register_keras_serializable(package="seqgen")
class LearnedDistributionState(_ContextNetwork):
    """h0 ~ N(g(context), softplus(sigma)) with a trainable per-unit sigma (eq. 4).

    Training draws a reparameterized sample, so gradients reach g and sigma;
    inference returns the mean unless `sample=True`, which draws a real sample,
    one per row and per seed: this is what makes the model a generator.
    """

    def __init__(self, initial_scale: float = 0.25, **kwargs):
        super().__init__(**kwargs)
        _check(
            isinstance(initial_scale, (int, float))
            and math.isfinite(initial_scale)
            and initial_scale > 0,
            "initial_scale",
            initial_scale,
            "a finite number greater than 0 (the initial softplus(sigma))",
        )
        self.initial_scale = float(initial_scale)

    def build(self, inputs_shape=None, context_shape=None):
        inverse_softplus = math.log(math.expm1(self.initial_scale))
        self.sigma = self.add_weight(
            name="sigma",
            shape=(self.total_size,),
            initializer=keras.initializers.Constant(inverse_softplus),
        )
        super().build(inputs_shape, context_shape)

    @property
    def samples_h0(self) -> bool:
        return True

    @property
    def scale(self):
        """softplus(sigma): the standard deviation of h0 around g(context)."""
        return ops.softplus(self.sigma)

    def stochastic(self, flat, training, sample, seed):
        if training or sample:
            flat = flat + self.scale * self._draw(flat, training, seed, "gaussian", _SAMPLE_SALT)
        return super().stochastic(flat, training, sample, seed)

    def get_config(self):
        return {**super().get_config(), "initial_scale": self.initial_scale}


def make_initial_state(strategy: str | InitialState = "zero", **options) -> InitialState:
    """The initial-state layer for a strategy name; options go to its constructor.

    "noise" is the zero state with noise (gaussian unless `noise` says otherwise).
    """
    if isinstance(strategy, InitialState):
        return strategy
    classes = {
        "zero": ZeroState,
        "noise": ZeroState,
        "free": FreeState,
        "learned": LearnedState,
        "learned_distribution": LearnedDistributionState,
    }
    _check(strategy in classes, "strategy", strategy, f"one of {STRATEGIES}")
    if strategy == "noise" and options.get("noise") is None:
        options["noise"] = "gaussian"
    return classes[strategy](**options)


def initial_state_for(
    strategy: str,
    context_units: Sequence[int] = (50,),
    initial_scale: float = 0.25,
    noise: str | None = None,
    noise_scale: float = 0.1,
    seed: int | None = None,
) -> InitialState:
    """A strategy from the flat options a model config holds; unused ones are ignored."""
    options = {"noise": noise, "noise_scale": noise_scale, "seed": seed}
    if strategy in ("learned", "learned_distribution"):
        options["hidden_units"] = list(context_units)
    if strategy == "learned_distribution":
        options["initial_scale"] = initial_scale
    return make_initial_state(strategy, **options)
