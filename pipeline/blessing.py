"""The blessing's parameters per task, their defaults and their checks.

Apart from the TFMA config they become (pipeline.evaluation), so `seqgen
run` can refuse a bad threshold before it imports TFX or TFMA.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Tuple

from tfx_seqgen.components.validation import InvalidParameterError

# LCD headlines: name -> (output name, metric name).
LCD_HEADLINES: Dict[str, Tuple[str, str]] = {
    "crps": ("crps", "crps"),
    "rollout": ("rollout", "mean_squared_error"),
    "teacher_forced": ("predictions", "mean_squared_error"),
}

# Blessing parameters and their defaults, per task. LCD: MSE of scaled deltas
# (their range is [-1, 1]) and rollout MSE in x's units (x spans [0, ~4]);
# predicting no change scores about 0.1 and 1. Coverage of the nominal 90%
# band; a band that holds the truth always is too wide to be informative.
LCD_DEFAULTS: Dict[str, Any] = {
    "headline": "crps",
    "min_improvement": 0.0,
    "max_mse": 0.01,
    "max_rollout_mse": 0.1,
    "min_coverage": 0.7,
    "max_coverage": 0.99,
}
# ART: guessing among the query's pairs scores about 0.25; chance is 0.1.
ART_DEFAULTS: Dict[str, Any] = {"min_improvement": 0.0, "min_accuracy": 0.3}


def check_params(defaults: Dict[str, Any], params: Dict[str, Any]) -> Dict[str, Any]:
    """A task's `defaults` updated with `params`; bad names or values are refused."""
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise InvalidParameterError(
            "Evaluator", unknown[0], params[unknown[0]], f"one of {sorted(defaults)}"
        )
    merged = {**defaults, **params}
    for name, value in merged.items():
        if name == "headline":
            if value not in LCD_HEADLINES:
                raise InvalidParameterError(
                    "Evaluator", name, value, f"one of {', '.join(LCD_HEADLINES)}"
                )
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise InvalidParameterError("Evaluator", name, value, "a finite number")
        if name.endswith("_coverage") and not 0 < value < 1:
            raise InvalidParameterError("Evaluator", name, value, "a number in (0, 1)")
    if "min_coverage" in merged and merged["min_coverage"] > merged["max_coverage"]:
        raise InvalidParameterError(
            "Evaluator",
            "min_coverage",
            merged["min_coverage"],
            f"a number at most max_coverage={merged['max_coverage']!r}",
        )
    return merged
