"""The associative retrieval task (ART) dataset of the Contextual RNN paper.

A record is `num_pairs` letter-digit pairs (letters drawn without replacement
from the alphabet, digits with replacement), the separator "??" and a query
letter drawn from the pairs' letters: "c9k8j3f1??k". The target is the digit
paired with the query letter (8 here).
"""

from __future__ import annotations

import dataclasses
import string
from typing import ClassVar

import numpy as np

from tfx_seqgen.components import random_streams
from tfx_seqgen.components.validation import (
    InvalidParameterError,
    check_int,
    check_seed,
    check_split,
)

COMPONENT = "ArtExampleGen"
SEPARATOR = "??"


@dataclasses.dataclass(frozen=True)
class ArtDataset:
    """Parameters of an ART dataset; invalid values fail on construction."""

    # The component that writes it, as errors name it.
    COMPONENT: ClassVar[str] = COMPONENT

    num_pairs: int = 4
    alphabet: str = string.ascii_lowercase
    train_count: int = 100_000
    eval_count: int = 20_000
    seed: int = 0
    shard_size: int = 10_000

    def __post_init__(self):
        letters_rule = "a non-empty string of distinct ASCII letters"
        if not isinstance(self.alphabet, str) or not self.alphabet:
            raise InvalidParameterError(COMPONENT, "alphabet", self.alphabet, letters_rule)
        for symbol in self.alphabet:
            if symbol not in string.ascii_letters:
                raise InvalidParameterError(
                    COMPONENT, "alphabet", self.alphabet, f"{letters_rule} ({symbol!r} is not one)"
                )
        if len(set(self.alphabet)) != len(self.alphabet):
            raise InvalidParameterError(
                COMPONENT, "alphabet", self.alphabet, f"{letters_rule} (it repeats a letter)"
            )
        check_int(COMPONENT, "num_pairs", self.num_pairs, 1, len(self.alphabet))
        check_int(COMPONENT, "train_count", self.train_count, 1)
        check_int(COMPONENT, "eval_count", self.eval_count, 1)
        check_seed(COMPONENT, self.seed)
        check_int(COMPONENT, "shard_size", self.shard_size, 1)

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
