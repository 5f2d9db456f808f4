"""What the data components share about their parameters: the error, seeds, splits.

Each dataset is a `tfx_seqgen.schema.Schema` (tasks/<task>/data.py), checked
when the pipeline is built, so a typo fails in a second instead of after a
Beam job has started on a cluster.
"""

from __future__ import annotations

from typing import Any, Dict

from tfx_seqgen.errors import InvalidParameterError

MAX_SEED = 2**63 - 1
# The calibration split (optional) fits the served band; it is disjoint from eval.
SPLITS = ("train", "eval", "calibration")

__all__ = ["InvalidParameterError", "MAX_SEED", "SPLITS", "build_dataset", "check_split"]


def build_dataset(dataset_class: type, params: Dict[str, Any]) -> Any:
    """A dataset from keyword parameters; an unknown name or bad value is refused, naming it."""
    return dataset_class(**params)


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is unknown; allowed: {', '.join(SPLITS)}.")
    return split
