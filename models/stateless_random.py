"""Per-row stateless random numbers from integer seeds, in plain TensorFlow ops.

TensorFlow's stateless samplers take one seed for a whole tensor, so a row's
draw would change with the other rows of its batch. Serving must give the
same answer for the same (request, seed) whatever it is batched with, so each
row here is a hash of its own seed: a counter-based generator (SplitMix64's
finalizer) written with uint64 arithmetic, bit ops and casts only, which any
TensorFlow runtime, TF Serving included, can execute.
"""

from __future__ import annotations

import math

import tensorflow as tf

_GOLDEN = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB


def _u64(value: int) -> tf.Tensor:
    return tf.constant(value, dtype=tf.uint64)


def _mix64(z: tf.Tensor) -> tf.Tensor:
    z = z + _u64(_GOLDEN)
    z = tf.bitwise.bitwise_xor(z, tf.bitwise.right_shift(z, _u64(30))) * _u64(_MUL1)
    z = tf.bitwise.bitwise_xor(z, tf.bitwise.right_shift(z, _u64(27))) * _u64(_MUL2)
    return tf.bitwise.bitwise_xor(z, tf.bitwise.right_shift(z, _u64(31)))


def _keys(seeds: tf.Tensor, salt: int) -> tf.Tensor:
    return _mix64(tf.bitwise.bitwise_xor(tf.cast(seeds, tf.uint64), _mix64(_u64(salt))))


def derive_seeds(seeds: tf.Tensor, salt: int) -> tf.Tensor:
    """New int64 seeds, one per input seed; distinct salts give unrelated streams."""
    return tf.cast(tf.bitwise.right_shift(_keys(seeds, salt), _u64(1)), tf.int64)


def combine(seeds: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """One new seed per (seed, index) pair, e.g. a request's seed and a sample number."""
    mixed = tf.bitwise.bitwise_xor(derive_seeds(seeds, 0x5EED), tf.cast(index, tf.int64))
    return derive_seeds(mixed, 0x1DE7)


def uniform(seeds: tf.Tensor, size: int, salt: int = 0) -> tf.Tensor:
    """Floats in the open interval (0, 1), shape [len(seeds), size], float32.

    Row i depends only on seeds[i], salt and the column.
    """
    counters = _mix64(tf.cast(tf.range(size), tf.uint64))
    bits = _mix64(tf.bitwise.bitwise_xor(_keys(seeds, salt)[:, None], counters[None, :]))
    # 53 random bits, centred in their bin so neither 0 nor 1 is reachable.
    top = tf.cast(tf.bitwise.right_shift(bits, _u64(11)), tf.float64)
    return tf.cast((top + 0.5) / float(1 << 53), tf.float32)


def normal(seeds: tf.Tensor, size: int, salt: int = 0) -> tf.Tensor:
    """Standard normal floats, shape [len(seeds), size], float32 (Box-Muller)."""
    u = uniform(seeds, 2 * size, salt)
    radius = tf.sqrt(-2.0 * tf.math.log(u[:, :size]))
    return radius * tf.cos(2.0 * math.pi * u[:, size:])
