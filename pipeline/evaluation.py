"""The Evaluator's TFMA config: the contextual model is blessed only if it beats h0 = 0.

Both models are scored on the eval split through their `serving_default`
signature, with labels from their own `transform_features` signature.

LCD scores two outputs: `predictions` (the teacher-forced one-step deltas,
scaled, against `delta_scaled`: what the paper reports and the models are
trained on) and `rollout` (x(1..n) generated free-running from the example's x(0) and period
with the mean h0, in original units, against `x_target`). Both are TFMA's
built-in MeanSquaredError: the rollout is computed by the model's own
signature, so no custom TFMA metric has to ship with the pipeline. Both are
reported overall and per period.

The blessing (overall slice only): the headline metric (LCD: teacher-forced
MSE; ART: accuracy) must beat the baseline's by `min_improvement` (a
relative margin; 0 means any strict win), and absolute sanity bounds must
hold, so a pair of broken models cannot bless each other.
"""

from __future__ import annotations

import math
from typing import Any, Dict

import tensorflow_model_analysis as tfma

from components.validation import InvalidParameterError

# A strict win: the candidate must be better than the baseline by more than this.
STRICT = 1e-9

DEFAULTS: Dict[str, Dict[str, float]] = {
    # MSE of scaled deltas (their range is [-1, 1]) and rollout MSE in x's
    # units (x spans [0, ~4]); predicting no change scores about 0.1 and 1.
    "lcd": {"min_improvement": 0.0, "max_mse": 0.01, "max_rollout_mse": 0.1},
    # Guessing among the query's pairs scores about 0.25; chance is 0.1.
    "art": {"min_improvement": 0.0, "min_accuracy": 0.3},
}
# (output name, metric name) of the metric the blessing compares.
HEADLINE = {"lcd": ("predictions", "mean_squared_error"), "art": ("", "accuracy")}


def check_params(task: str, params: Dict[str, Any]) -> Dict[str, float]:
    """The task's defaults updated with `params`; bad names or values are refused."""
    allowed = DEFAULTS[task]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidParameterError(
            "Evaluator", unknown[0], params[unknown[0]], f"one of {sorted(allowed)}"
        )
    merged = {**allowed, **params}
    for name, value in merged.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise InvalidParameterError("Evaluator", name, value, "a finite number")
    return merged


def _overall(threshold: tfma.MetricThreshold) -> list:
    return [tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)]


def _beats_baseline(
    lower_is_better: bool, min_improvement: float, bound: Dict[str, float]
) -> tfma.MetricThreshold:
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


def _bounded(bound: Dict[str, float]) -> tfma.MetricThreshold:
    return tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(**bound))


def eval_config(task: str, params: Dict[str, Any] | None = None) -> tfma.EvalConfig:
    """The EvalConfig for `task`, thresholds from DEFAULTS updated with `params`."""
    p = check_params(task, params or {})
    if task == "lcd":
        model_spec = tfma.ModelSpec(
            signature_name="serving_default",
            preprocessing_function_names=["transform_features"],
            label_keys={"predictions": "delta_scaled", "rollout": "x_target"},
        )
        mse = _beats_baseline(True, p["min_improvement"], {"upper_bound": {"value": p["max_mse"]}})
        rollout = _bounded({"upper_bound": {"value": p["max_rollout_mse"]}})
        metrics_specs = [
            tfma.MetricsSpec(
                output_names=[output],
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(
                        class_name="MeanSquaredError", per_slice_thresholds=_overall(threshold)
                    ),
                ],
            )
            for output, threshold in (("predictions", mse), ("rollout", rollout))
        ]
        slicing_specs = [tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["period"])]
    else:
        model_spec = tfma.ModelSpec(
            signature_name="serving_default",
            preprocessing_function_names=["transform_features"],
            label_key="label",
            prediction_key="probabilities",
        )
        accuracy = _beats_baseline(
            False, p["min_improvement"], {"lower_bound": {"value": p["min_accuracy"]}}
        )
        metrics_specs = [
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(
                        class_name="SparseCategoricalAccuracy",
                        config='{"name": "accuracy"}',
                        per_slice_thresholds=_overall(accuracy),
                    ),
                    tfma.MetricConfig(
                        class_name="SparseCategoricalCrossentropy", config='{"name": "log_loss"}'
                    ),
                ]
            )
        ]
        slicing_specs = [tfma.SlicingSpec()]
    return tfma.EvalConfig(
        model_specs=[model_spec], slicing_specs=slicing_specs, metrics_specs=metrics_specs
    )
