"""Split-conformal calibration of a sampled trajectory band, per step and per context group.

A generator's samples are its mean path m (the mean-h0 rollout) plus its
own deviations d. Its 90% band at a step is [m + lo, m + hi], lo and hi the
5th and 95th percentiles of d. On a calibration split, disjoint from the
eval split and drawn like the data the model will serve, the score of a
sequence at step t is the factor the band must be scaled by to hold the
truth y:

    s = (y - m) / hi  where y >= m,     s = (m - y) / -lo  where y < m.

The calibrated factor q at step t is the k-th smallest score of the n
calibration sequences, k = ceil((n + 1) * 0.9) (split-conformal prediction,
Vovk et al.; Lei et al. 2018), per step because the error grows with the
horizon (CF-RNN), and per context group where a group has at least
MIN_GROUP sequences (Mondrian: a categorical value, or a bin of a numeric
context), the pooled factor otherwise and for a context the calibration
split never had. `generate` then serves
m + q * d: the mean path never moves, each sample keeps the shape of its
deviation, and for exchangeable data the band holds the truth with
probability at least 90% (and at most 90% + 1/(n + 1)).

A model whose h0 is deterministic has no deviations; its samples are m plus
a standard normal per sample path, z (models.conformal_band), and the same
scores and the same rule calibrate it: both models of a comparison are
calibrated alike. Scores are taken against the band of as many draws as
are judged later, drawn the same way, so calibration and evaluation see
the same sampling noise. Calibration never copies calibration residuals into
the samples: it only scales each model's own spread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Hashable, Sequence

import numpy as np

COVERAGE = 0.9
# Sequences a context group needs in the calibration split to get its own
# factors; smaller groups use the pooled ones.
MIN_GROUP = 50
# A numeric context is cut into at most this many equally filled bins, each
# with at least MIN_GROUP calibration sequences, to get factors of its own.
MAX_BINS = 5


def scores(error: np.ndarray, deviations: np.ndarray) -> np.ndarray:
    """Per sequence and step, the band factor that just holds the truth.

    `error` [N, T] is the truth minus the mean path; `deviations` [N, S, T]
    the samples minus the mean path. NaN in `error` (a step past a
    sequence's end) stays NaN: that step has no score.
    """
    tail = 100 * (1 - COVERAGE) / 2
    low, high = np.percentile(deviations, [tail, 100 - tail], axis=1)
    tiny = np.finfo(np.float32).tiny
    above = error / np.maximum(high, tiny)
    below = -error / np.maximum(-low, tiny)
    return np.where(error >= 0, above, below)


def quantile(values: np.ndarray, coverage: float = COVERAGE) -> float:
    """The k-th smallest of n finite scores, k = ceil((n + 1) * coverage); inf if k > n."""
    finite = np.sort(values[~np.isnan(values)])
    k = math.ceil((len(finite) + 1) * coverage)
    return float(finite[k - 1]) if k <= len(finite) else math.inf


def needed(coverage: float = COVERAGE) -> int:
    """The fewest scores for which `quantile` is finite."""
    return math.ceil(coverage / (1 - coverage) - 1e-9)


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Factors per group and step: `table` [len(keys) + 1, T], the last row pooled."""

    keys: tuple
    table: np.ndarray
    counts: dict  # group -> calibration sequences it had (pooled: None)

    def factors(self, key: Hashable) -> np.ndarray:
        """The factors [T] a request with context `key` gets."""
        row = self.keys.index(key) if key in self.keys else len(self.keys)
        return self.table[row]


def fit(
    step_scores: np.ndarray,
    groups: Sequence[Hashable],
    coverage: float = COVERAGE,
    min_group: int = MIN_GROUP,
) -> Calibration:
    """Calibrated factors from scores [N, T] of N calibration sequences in `groups` [N].

    A step where the pooled sequences are too few to give a finite factor
    (a long step few sequences reach) takes the previous step's; the first
    step must have enough, else the calibration split is too small, and the
    error says how many sequences it needs.
    """
    step_scores = np.asarray(step_scores, np.float64)
    groups = list(groups)
    pooled = _per_step(step_scores, coverage, carry=None)
    if not math.isfinite(pooled[0]):
        raise ValueError(
            f"the calibration split has {int(np.sum(~np.isnan(step_scores[:, 0])))} sequences; "
            f"a {coverage:.0%} band needs at least {needed(coverage)} (more give a tighter "
            f"band): enlarge the calibration split."
        )
    keys, rows, counts = [], [], {}
    for key in sorted(set(groups), key=repr):
        members = np.array([g == key for g in groups])
        counts[key] = int(members.sum())
        if counts[key] >= min_group:
            keys.append(key)
            rows.append(_per_step(step_scores[members], coverage, carry=pooled))
    table = np.stack([*rows, pooled]).astype(np.float32)
    return Calibration(tuple(keys), table, counts)


def _per_step(step_scores: np.ndarray, coverage: float, carry: np.ndarray | None) -> np.ndarray:
    """Per-step factors; a step without enough scores takes `carry`'s value there, or
    (no carry) the previous step's."""
    factors = np.array([quantile(step_scores[:, t], coverage) for t in range(step_scores.shape[1])])
    for t in range(len(factors)):
        if not math.isfinite(factors[t]):
            factors[t] = carry[t] if carry is not None else (factors[t - 1] if t else math.inf)
    return factors


def bin_edges(
    values: np.ndarray, min_group: int = MIN_GROUP, max_bins: int = MAX_BINS
) -> np.ndarray:
    """Inner edges that cut a numeric context's calibration values into equally filled
    bins of at least `min_group` (none when there are too few for two bins).

    Binned, a numeric context gets factors per bin (its error may grow with it,
    as a Mondrian group's does); a value outside the calibrated range falls in
    the first or last bin, so every context is defined.
    """
    bins = min(max_bins, len(values) // min_group)
    if bins < 2:
        return np.zeros([0])
    return np.unique(np.quantile(np.asarray(values, np.float64), np.arange(1, bins) / bins))


def bin_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each value's bin: how many inner edges are at or below it."""
    return np.searchsorted(edges, values, side="right")


def content_seeds(rows: np.ndarray) -> list:
    """A seed per row from its values, so a band does not depend on the order the
    training files are read in (shards may be listed in any order)."""
    seeds = []
    for row in rows:
        digest = hashlib.blake2b(np.ascontiguousarray(row, np.float32).tobytes(), digest_size=8)
        seeds.append(int.from_bytes(digest.digest(), "little") >> 1)
    return seeds
