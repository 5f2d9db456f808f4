"""The sequences task's Evaluator: the calibrated generator must beat the baseline's CRPS.

Both models are scored on the eval split through their `evaluate` signature:
per series, over the steps it has, the CRPS of `eval_samples` trajectories
generated from its x0 and context, the coverage and width of their 90%
band and the mean path's squared error; TFMA averages them, overall and
per value of each categorical context column.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Sequence

from tfx_seqgen.components.evaluator import BandBlessing, beats_baseline, bounded, overall

if TYPE_CHECKING:  # imported where used: the defaults load without TFMA
    import tensorflow_model_analysis as tfma

SCORES = ("crps", "coverage", "band_width", "mean_path_mse")


class SequencesBlessing(BandBlessing):
    """CRPS must beat the baseline's, and the 90% band must hold the truth about as promised."""


def eval_config(p: Dict[str, Any], slice_columns: Sequence[str] = ()) -> tfma.EvalConfig:
    """The EvalConfig for checked parameters `p`, sliced by each column in `slice_columns`."""
    import tensorflow_model_analysis as tfma

    model_spec = tfma.ModelSpec(
        signature_name="evaluate",
        preprocessing_function_names=["transform_features"],
        label_keys={score: "length" for score in SCORES},
    )
    coverage = {
        "lower_bound": {"value": p["min_coverage"]},
        "upper_bound": {"value": p["max_coverage"]},
    }

    def metric(score: str) -> tfma.MetricConfig:
        if score == "crps":
            thresholds = overall(beats_baseline(True, p["min_improvement"], {}))
        elif score == "coverage":
            thresholds = overall(bounded(coverage))
        else:
            thresholds = []
        return tfma.MetricConfig(
            class_name="MeanPrediction",
            config=json.dumps({"name": score}),
            per_slice_thresholds=thresholds,
        )

    metrics_specs = [
        tfma.MetricsSpec(output_names=[score], metrics=[metric(score)]) for score in SCORES
    ]
    metrics_specs[0].metrics.insert(0, tfma.MetricConfig(class_name="ExampleCount"))
    slicing = [tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[c]) for c in slice_columns]
    return tfma.EvalConfig(
        model_specs=[model_spec], slicing_specs=slicing, metrics_specs=metrics_specs
    )
