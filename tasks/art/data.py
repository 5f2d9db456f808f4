"""The associative retrieval task (ART) dataset of the Contextual RNN paper.

A record is `num_pairs` letter-digit pairs (letters drawn without replacement
from the alphabet, digits with replacement), the separator "??" and a query
letter drawn from the pairs' letters: "c9k8j3f1??k". The target is the digit
paired with the query letter (8 here).
"""

from __future__ import annotations

import string
from typing import ClassVar

import numpy as np
from pydantic import field_validator, model_validator

from tfx_seqgen.components import random_streams
from tfx_seqgen.components.validation import MAX_SEED, check_split
from tfx_seqgen.schema import Schema, integer, text

SEPARATOR = "??"
LETTERS = "a non-empty string of distinct ASCII letters"


class ArtDataset(Schema):
    """Parameters of an ART dataset; invalid values fail on construction."""

    OWNER: ClassVar[str] = "ArtExampleGen"

    num_pairs: int = integer(4, 1, doc="letter-digit pairs per query (at most the alphabet's size)")
    alphabet: str = text(string.ascii_lowercase, LETTERS, "the letters queries draw from")
    train_count: int = integer(100_000, 1, doc="training queries")
    eval_count: int = integer(20_000, 1, doc="eval queries")
    seed: int = integer(0, 0, MAX_SEED, doc="every record's randomness comes from it")
    shard_size: int = integer(10_000, 1, doc="records per written file (a Beam work item)")

    @field_validator("alphabet", mode="before")
    @classmethod
    def _letters(cls, value):
        if not isinstance(value, str) or not value:
            raise cls.refuse("alphabet", value, LETTERS)
        for symbol in value:
            if symbol not in string.ascii_letters:
                raise cls.refuse("alphabet", value, f"{LETTERS} ({symbol!r} is not one)")
        if len(set(value)) != len(value):
            raise cls.refuse("alphabet", value, f"{LETTERS} (it repeats a letter)")
        return value

    @model_validator(mode="after")
    def _pairs_fit_the_alphabet(self):
        size = len(self.alphabet)
        if self.num_pairs > size:
            raise self.refuse(
                "num_pairs", self.num_pairs, f"an integer at least 1 and at most {size}"
            )
        return self

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.train_count, "eval": self.eval_count}

    def arrays(self, split: str, start: int, stop: int) -> dict[str, np.ndarray]:
        """Records start..stop-1 of a split: `query` bytes [n, 1], `target` int64 [n, 1]."""
        check_split(split)
        k, size = self.num_pairs, len(self.alphabet)
        indices = np.arange(start, stop, dtype=np.int64)
        u = random_streams.uniform(self.seed, split, indices, draws=size + k + 1)
        # A random permutation of the alphabet per record; its first k letters
        # are a uniform draw without replacement.
        letter_ids = np.argsort(u[:, :size], axis=1, kind="stable")[:, :k]
        digits = np.minimum((u[:, size : size + k] * 10).astype(np.int64), 9)
        asked = np.minimum((u[:, size + k] * k).astype(np.int64), k - 1)
        alphabet = np.frombuffer(self.alphabet.encode("ascii"), dtype="S1")
        letters = alphabet[letter_ids]
        digit_chars = np.frombuffer(b"0123456789", dtype="S1")[digits]
        rows = np.arange(len(indices))
        pairs = np.stack([letters, digit_chars], axis=2).reshape(len(indices), 2 * k)
        queries = [
            b"".join(pair_row) + SEPARATOR.encode() + query
            for pair_row, query in zip(pairs.tolist(), letters[rows, asked].tolist(), strict=True)
        ]
        return {
            "query": np.asarray(queries, dtype=object)[:, None],
            "target": digits[rows, asked][:, None],
        }
