"""The ART model: reads a tokenized query and predicts the retrieved digit.

Tokens are embedded; learned strategies condition h0 on the embedding of the
first token through the shared embedding (the paper's context network ψ(x0)).
The output is logits over the ten digits.

Two options follow the paper's own ART code rather than Keras's defaults:
`embedding_initializer="zeros"` (its embedding starts at zero) and
`head_units=100` (a ReLU layer between the RNN and the logits, both
He-initialized). Its third difference, the fast-weight update, is the Fast
Weights cell's `update_with_preliminary`, set through `cell_options`.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops
from pydantic import field_validator

from tfx_seqgen.models.model_config import ModelOptions
from tfx_seqgen.models.task_model import TaskModel
from tfx_seqgen.schema import choice, integer

NUM_DIGITS = 10


# Keras's default for embeddings, and the paper's ART code's.
EMBEDDING_INITIALIZERS = ("uniform", "zeros")


class ArtOptions(ModelOptions):
    """ArtModel's options: TaskModel's and its own."""

    embedding_dim: int | None = integer(None, 1, doc="the characters' embedding size")
    embedding_initializer: str | None = choice(
        None,
        EMBEDDING_INITIALIZERS,
        "the embedding's initializer (the paper's code: zeros)",
        rule=f"one of {EMBEDDING_INITIALIZERS}",
    )
    head_units: int | None = integer(
        None, 0, doc="0: logits straight from the RNN; else a ReLU layer of that many units first"
    )

    @field_validator("embedding_initializer")
    @classmethod
    def _initializer(cls, value):
        if value is not None and value not in EMBEDDING_INITIALIZERS:
            raise cls.refuse("embedding_initializer", value, cls.rules()["embedding_initializer"])
        return value


@keras.saving.register_keras_serializable(package="seqgen")
class ArtModel(TaskModel):
    # vocab_size comes from the transform, not from the config.
    OPTIONS = ArtOptions

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 100,
        cell: str = "fast_weights",
        units: int = 50,
        num_layers: int = 1,
        strategy: str = "learned",
        context_units: Sequence[int] = (),
        initial_scale: float = 0.25,
        noise: str | None = None,
        noise_scale: float = 0.1,
        seed: int | None = None,
        embedding_initializer: str = "uniform",
        head_units: int = 0,
        **kwargs,
    ):
        if not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"vocab_size={vocab_size!r} is invalid; allowed: a positive integer.")
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
            return_sequences=False,
            **kwargs,
        )
        if isinstance(head_units, bool) or not isinstance(head_units, int) or head_units < 0:
            raise ValueError(f"head_units={head_units!r} is invalid; allowed: an integer >= 0.")
        self.vocab_size, self.embedding_dim = vocab_size, embedding_dim
        self.embedding_initializer, self.head_units = embedding_initializer, head_units
        self.embedding = keras.layers.Embedding(
            vocab_size,
            embedding_dim,
            embeddings_initializer=embedding_initializer,
            name="embedding",
        )
        # The paper's head: a He-initialized ReLU layer, then He-initialized logits.
        self.hidden_head = (
            keras.layers.Dense(head_units, "relu", kernel_initializer="he_normal", name="hidden")
            if head_units
            else None
        )
        self.head = keras.layers.Dense(
            NUM_DIGITS,
            kernel_initializer="he_normal" if head_units else "glorot_uniform",
            name="logits",
        )

    def build(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        dim = self.embedding_dim
        self.embedding.build((batch, time))
        self.rnn.build((batch, time, dim), (batch, dim))
        features = self.options["units"]
        if self.hidden_head is not None:
            self.hidden_head.build((batch, features))
            features = self.head_units
        self.head.build((batch, features))
        self.built = True

    def call(self, tokens, training=None, sample=False, seed=None):
        embedded = self.embedding(tokens)
        # The context is the first token's embedding: a row of the embedding
        # table, so h0's network runs once per vocabulary entry, not per query.
        initial_state = self.rnn.get_initial_state_from_table(
            self.embedding.embeddings, ops.cast(tokens[:, 0], "int32"), training, sample, seed
        )
        hidden = self.rnn(embedded, initial_state=initial_state, training=training)
        if self.hidden_head is not None:
            hidden = self.hidden_head(hidden)
        return self.head(hidden)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "embedding_initializer": self.embedding_initializer,
            "head_units": self.head_units,
        }
