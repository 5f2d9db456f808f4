"""The Evaluator's machinery shared by tasks: TFMA thresholds and the blessing's checks.

A task's evaluation module (tasks/<task>/evaluation.py) builds its
tfma.EvalConfig from these: the blessing (overall slice only) asks the
headline metric to beat the baseline's by `min_improvement` (a relative
margin; 0 means any strict win) and absolute sanity bounds to hold, so a
pair of broken models cannot bless each other. The checks need neither TFX
nor TFMA, so `seqgen run` refuses a bad threshold before it imports them.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Dict, Tuple

from tfx_seqgen.components.validation import InvalidParameterError

if TYPE_CHECKING:
    import tensorflow_model_analysis as tfma

# A strict win: the candidate must be better than the baseline by more than this.
STRICT = 1e-9


def compared_metric(config: tfma.EvalConfig | None) -> Tuple[str, str] | None:
    """(output name, metric name) of the metric an EvalConfig compares with the baseline."""
    for spec in config.metrics_specs if config else []:
        for metric in spec.metrics:
            if any(t.threshold.HasField("change_threshold") for t in metric.per_slice_thresholds):
                name = json.loads(metric.config or "{}").get("name", metric.class_name)
                return (spec.output_names[0] if spec.output_names else "", name)
    return None


def overall(threshold: tfma.MetricThreshold) -> list:
    import tensorflow_model_analysis as tfma

    return [tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)]


def beats_baseline(
    lower_is_better: bool, min_improvement: float, bound: Dict[str, float]
) -> tfma.MetricThreshold:
    import tensorflow_model_analysis as tfma

    direction = (
        tfma.MetricDirection.LOWER_IS_BETTER
        if lower_is_better
        else tfma.MetricDirection.HIGHER_IS_BETTER
    )
    sign = -1.0 if lower_is_better else 1.0
    change = tfma.GenericChangeThreshold(direction=direction)
    change.relative.value = sign * min_improvement
    if min_improvement >= 0:
        change.absolute.value = sign * STRICT
    return tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(**bound), change_threshold=change
    )


def bounded(bound: Dict[str, float]) -> tfma.MetricThreshold:
    import tensorflow_model_analysis as tfma

    return tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(**bound))


def check_params(
    defaults: Dict[str, Any],
    params: Dict[str, Any],
    choices: Dict[str, Tuple[str, ...]] | None = None,
) -> Dict[str, Any]:
    """A task's `defaults` updated with `params`; bad names or values are refused.

    Every parameter is a finite number (`*_coverage` in (0, 1)) except those
    in `choices`, which take one of the names listed there.
    """
    choices = choices or {}
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise InvalidParameterError(
            "Evaluator", unknown[0], params[unknown[0]], f"one of {sorted(defaults)}"
        )
    merged = {**defaults, **params}
    for name, value in merged.items():
        if name in choices:
            if value not in choices[name]:
                raise InvalidParameterError(
                    "Evaluator", name, value, f"one of {', '.join(choices[name])}"
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
