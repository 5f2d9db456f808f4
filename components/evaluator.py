"""The Evaluator's machinery shared by tasks: TFMA thresholds and the blessing's schema.

A task's evaluation module (tasks/<task>/evaluation.py) builds its
tfma.EvalConfig from these: the blessing (overall slice only) asks the
headline metric to beat the baseline's by `min_improvement` (a relative
margin; 0 means any strict win) and absolute sanity bounds to hold, so a
pair of broken models cannot bless each other. The schema needs neither TFX
nor TFMA, so `seqgen run` refuses a bad threshold before it imports them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar, Dict, Tuple

from pydantic import model_validator

from tfx_seqgen.schema import Schema, fraction, integer, number

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


class Blessing(Schema):
    """The blessing's parameters every task has; a task's schema adds its bounds."""

    OWNER: ClassVar[str] = "Evaluator"

    min_improvement: float = number(
        0.0, doc="relative margin by which the headline must beat the baseline's (0: any win)"
    )
    eval_sample_per_slice: int | None = integer(
        None,
        1,
        doc="score at most this many eval examples per slice value, a seeded sample that"
        " keeps every slice (None: the whole eval split)",
        optional=True,
    )


class BandBlessing(Blessing):
    """A generator's blessing: its 90% band must hold the truth about as often as promised
    (a band that always holds it is too wide to inform)."""

    min_coverage: float = fraction(0.8, "lowest coverage of the 90% band on the eval split")
    max_coverage: float = fraction(0.99, "highest coverage of the 90% band on the eval split")

    @model_validator(mode="after")
    def _ordered(self) -> BandBlessing:
        if self.min_coverage > self.max_coverage:
            raise self.refuse(
                "min_coverage",
                self.min_coverage,
                f"a number at most max_coverage={self.max_coverage!r}",
            )
        return self
