"""The ART model: reads a tokenized query and predicts the retrieved digit.

Tokens are embedded; learned strategies condition h0 on the embedding of the
first token through the shared embedding (the paper's context network ψ(x0)).
The output is logits over the ten digits.
"""

from __future__ import annotations

from typing import Sequence

import keras

from tfx_seqgen.models.task_model import TaskModel

NUM_DIGITS = 10


@keras.saving.register_keras_serializable(package="seqgen")
class ArtModel(TaskModel):
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
        self.vocab_size, self.embedding_dim = vocab_size, embedding_dim
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.head = keras.layers.Dense(NUM_DIGITS, name="logits")

    def build(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        dim = self.embedding_dim
        self.embedding.build((batch, time))
        self.rnn.build((batch, time, dim), (batch, dim))
        self.head.build((batch, self.options["units"]))
        self.built = True

    def call(self, tokens, training=None, sample=False, seed=None):
        embedded = self.embedding(tokens)
        hidden = self.rnn(
            embedded, context=embedded[:, 0], training=training, sample=sample, seed=seed
        )
        return self.head(hidden)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
        }
