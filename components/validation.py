"""Checks for component parameters, each naming the parameter, value and rule.

Parameters are checked when the pipeline is built, so a typo fails in a
second instead of after a Beam job has started on a cluster.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Sequence

MAX_SEED = 2**63 - 1
SPLITS = ("train", "eval")


class InvalidParameterError(ValueError):
    """A component parameter has a value the component cannot use."""

    def __init__(self, component: str, name: str, value: Any, allowed: str):
        self.component = component
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{component}: {name}={value!r} is invalid; allowed: {allowed}.")


def build_dataset(component: str, dataset_class: type, params: Dict[str, Any]) -> Any:
    """A dataset from keyword parameters: an unknown name is refused, naming the known ones."""
    known = [f.name for f in dataclasses.fields(dataset_class)]
    for name, value in params.items():
        if name not in known:
            raise InvalidParameterError(
                component, name, value, f"a parameter among {', '.join(known)}"
            )
    return dataset_class(**params)


def check_int(
    component: str, name: str, value: Any, minimum: int, maximum: int | None = None
) -> int:
    """An integer in [minimum, maximum]; bools and floats are refused."""
    upper = "" if maximum is None else f" and at most {maximum}"
    allowed = f"an integer at least {minimum}{upper}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(component, name, value, allowed)
    if value < minimum or (maximum is not None and value > maximum):
        raise InvalidParameterError(component, name, value, allowed)
    return value


def check_finite(component: str, name: str, value: Any, positive: bool = False) -> float:
    """A finite number, optionally strictly positive."""
    allowed = "a finite number" + (" greater than 0" if positive else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameterError(component, name, value, allowed)
    if not math.isfinite(value) or (positive and value <= 0):
        raise InvalidParameterError(component, name, value, allowed)
    return float(value)


def check_periods(component: str, name: str, value: Any) -> list[float]:
    """A non-empty list of distinct, finite, positive periods."""
    allowed = "a non-empty list of distinct finite numbers greater than 0"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise InvalidParameterError(component, name, value, allowed)
    periods = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise InvalidParameterError(component, name, value, allowed)
        if not math.isfinite(item) or item <= 0:
            raise InvalidParameterError(component, name, value, allowed)
        periods.append(float(item))
    if len(set(periods)) != len(periods):
        raise InvalidParameterError(component, name, value, allowed)
    return periods


def check_seed(component: str, value: Any) -> int:
    """A seed that MLMD can store: an integer in [0, 2**63 - 1]."""
    return check_int(component, "seed", value, 0, MAX_SEED)


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is unknown; allowed: {', '.join(SPLITS)}.")
    return split
