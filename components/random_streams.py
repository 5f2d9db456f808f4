"""Counter-based random numbers: each value is a pure function of its address.

The data generators must produce the same records whatever the runner does:
how many workers, how elements are split into bundles, in which order shards
run. A stateful generator shared across elements cannot promise that. Here
every draw is a hash of (seed, split, index, draw number), so an element's
randomness depends on nothing but its own address, and whole shards are
still generated with vectorized NumPy.
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer: a bijection on uint64 with full avalanche."""
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MUL1
        z = (z ^ (z >> np.uint64(27))) * _MUL2
        return z ^ (z >> np.uint64(31))


def stream_key(seed: int, split: str) -> np.uint64:
    """The key of one split's stream; different splits never share draws."""
    split_code = np.uint64(zlib.crc32(split.encode("utf-8")))
    return _mix64(_mix64(np.asarray(np.uint64(seed))) ^ split_code)


def uniform(seed: int, split: str, indices: np.ndarray, draws: int) -> np.ndarray:
    """Uniform floats in [0, 1), shape [len(indices), draws].

    Row i holds draws 0..draws-1 of element indices[i]; asking for more draws
    leaves the first ones unchanged.
    """
    key = stream_key(seed, split)
    element = _mix64(key ^ np.asarray(indices, dtype=np.uint64))
    draw = np.arange(draws, dtype=np.uint64)
    bits = _mix64(element[:, None] ^ _mix64(draw)[None, :])
    # The top 53 bits fill a double's mantissa exactly.
    return (bits >> np.uint64(11)).astype(np.float64) / float(1 << 53)
