"""ART's Evaluator: accuracy must beat the h0 = 0 baseline's, above a floor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

from tfx_seqgen.components.evaluator import Blessing, beats_baseline, overall
from tfx_seqgen.schema import number

if TYPE_CHECKING:  # imported where used: the defaults load without TFMA
    import tensorflow_model_analysis as tfma


class ArtBlessing(Blessing):
    """ART's bound: guessing among the query's pairs scores about 0.25; chance is 0.1."""

    min_accuracy: float = number(0.3, doc="lowest eval accuracy a blessed model may have")


def eval_config(p: Dict[str, Any]) -> tfma.EvalConfig:
    """ART's EvalConfig for checked parameters `p` (see ArtBlessing)."""
    import tensorflow_model_analysis as tfma

    model_spec = tfma.ModelSpec(
        signature_name="serving_default",
        preprocessing_function_names=["transform_features"],
        label_key="label",
        prediction_key="probabilities",
    )
    accuracy = beats_baseline(
        False, p["min_improvement"], {"lower_bound": {"value": p["min_accuracy"]}}
    )
    metrics_specs = [
        tfma.MetricsSpec(
            metrics=[
                tfma.MetricConfig(class_name="ExampleCount"),
                tfma.MetricConfig(
                    class_name="SparseCategoricalAccuracy",
                    config='{"name": "accuracy"}',
                    per_slice_thresholds=overall(accuracy),
                ),
                tfma.MetricConfig(
                    class_name="SparseCategoricalCrossentropy", config='{"name": "log_loss"}'
                ),
            ]
        )
    ]
    return tfma.EvalConfig(
        model_specs=[model_spec], slicing_specs=[tfma.SlicingSpec()], metrics_specs=metrics_specs
    )
