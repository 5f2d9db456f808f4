"""The Evaluator's verdict in words: metrics per slice, candidate vs baseline, and why."""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Tuple

import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.writers import eval_config_writer

from tfx_seqgen.components.evaluator import compared_metric

# (output name, metric name) -> how the report calls it.
LABELS = {
    ("crps", "crps"): "CRPS (sampled)",
    ("coverage", "coverage"): "coverage of 90% band",
    ("band_width", "band_width"): "90% band width",
    ("sample_mean", "mean_squared_error"): "sample-mean MSE",
    ("mean_path_mse", "mean_path_mse"): "mean-path MSE",
    ("rollout", "mean_squared_error"): "rollout MSE (mean h0)",
    ("predictions", "mean_squared_error"): "teacher-forced MSE (scaled)",
    ("", "accuracy"): "accuracy",
    ("", "log_loss"): "log loss",
}


@dataclasses.dataclass
class Row:
    slice_name: str
    metric: str
    candidate: float
    baseline: float

    @property
    def change(self) -> float:
        """Relative change of the candidate over the baseline."""
        if self.baseline == 0 or math.isnan(self.baseline):
            return math.nan
        return (self.candidate - self.baseline) / abs(self.baseline)


@dataclasses.dataclass
class Evaluation:
    rows: List[Row]
    validation: tfma.ValidationResult
    headline: str  # the label of the metric the blessing compares

    @property
    def ok(self) -> bool:
        return self.validation.validation_ok


def slice_name(slice_key) -> str:
    """`column=value` per sliced column (a text value as text), or "overall"."""
    parts = []
    for column in slice_key.single_slice_keys:
        kind = column.WhichOneof("kind")
        value = getattr(column, kind) if kind else None
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        parts.append(f"{column.column}={value}" if kind else column.column)
    return ", ".join(parts) or "overall"


def load(evaluation_uri: str) -> Evaluation:
    """Metrics and validation the Evaluator wrote to its `evaluation` artifact."""
    rows = []
    for sliced in tfma.load_metrics(evaluation_uri):
        values: Dict[Tuple[str, str], Dict[str, float]] = {}
        for item in sliced.metric_keys_and_values:
            key = (item.key.output_name, item.key.name)
            if key in LABELS and not item.key.is_diff:
                values.setdefault(key, {})[item.key.model_name] = item.value.double_value.value
        for key in sorted(values, key=list(LABELS).index):
            by_model = values[key]
            rows.append(
                Row(
                    slice_name(sliced.slice_key),
                    LABELS[key],
                    by_model.get("candidate", math.nan),
                    by_model.get("baseline", math.nan),
                )
            )
    rows.sort(key=lambda r: (r.slice_name != "overall", r.slice_name))
    eval_config = eval_config_writer.load_eval_run(evaluation_uri)[0]
    headline = LABELS.get(compared_metric(eval_config), "the headline metric")
    return Evaluation(rows, tfma.load_validation_result(evaluation_uri), headline)


def _failure(failure, rows: List[Row]) -> str:
    label = LABELS.get((failure.metric_key.output_name, failure.metric_key.name), "a metric")
    threshold = failure.metric_threshold
    if threshold.HasField("change_threshold"):
        overall = next((r for r in rows if r.slice_name == "overall" and r.metric == label), None)
        versus = f" ({overall.candidate:.4g} vs {overall.baseline:.4g})" if overall else ""
        relative = threshold.change_threshold.relative.value
        margin = f" by at least {abs(relative):.1%}" if relative else ""
        return f"{label} does not beat the baseline's{margin}{versus}"
    bounds = threshold.value_threshold
    value = failure.metric_value.double_value.value
    if bounds.HasField("upper_bound") and value > bounds.upper_bound.value:
        return f"{label} {value:.4g} is above the sanity bound {bounds.upper_bound.value:.4g}"
    return f"{label} {value:.4g} is below the sanity bound {bounds.lower_bound.value:.4g}"


def format_report(evaluation: Evaluation, pushed_to: str | None) -> str:
    """A table of every slice and metric, then the blessing and the push."""
    headline = evaluation.headline
    lines = [f"  {'slice':<14} {'metric':<28} {'contextual':>11} {'baseline':>11} {'change':>8}"]
    for row in evaluation.rows:
        change = "" if math.isnan(row.change) else f"{row.change:+.1%}"
        lines.append(
            f"  {row.slice_name:<14} {row.metric:<28} "
            f"{row.candidate:>11.4g} {row.baseline:>11.4g} {change:>8}"
        )
    if evaluation.ok:
        lines.append(
            f"Blessed: the contextual model beats the h0 = 0 baseline on {headline} "
            "(overall) and passes the sanity bounds."
        )
    else:
        reasons = [
            _failure(failure, evaluation.rows)
            for per_slice in evaluation.validation.metric_validations_per_slice
            for failure in per_slice.failures
        ]
        lines.append("Not blessed: " + ("; ".join(reasons) or "see the Evaluator's log") + ".")
    lines.append(
        f"Pushed to {pushed_to}" if pushed_to else "Not pushed: only a blessed model is pushed."
    )
    return "\n".join(lines)
