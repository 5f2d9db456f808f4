"""Every bound of the blessing decides the verdict, both ways, on a tiny run's real metrics.

Each bound is set just on either side of the metric it bounds, as the
Evaluator measured it on the tiny run; the task's EvalConfig with that bound
is judged by TFMA's own validator over the Evaluator's stored metrics (the
same check the Evaluator runs), so a bound wired to the wrong metric, with
the wrong direction, or dropped, fails here. test_evaluator_e2e.py's reruns
show a verdict reaching the Pusher.
"""

import pytest

from tests.conftest import TINY_RUNS
from tfx_seqgen import tasks
from tfx_seqgen.pipeline import local_runs
from tfx_seqgen.pipeline.run_summary import output_of

# How far either side of a measured value a bound is set (relative).
MARGIN = 1e-4


def stored_metrics(run) -> list:
    """The Evaluator's metrics per slice, as TFMA's validator takes them."""
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.metrics import metric_types
    from tensorflow_model_analysis.slicer import slicer_lib

    sliced = []
    for metrics in tfma.load_metrics(evaluation_uri(run)):
        values = {
            metric_types.MetricKey.from_proto(item.key): item.value.double_value.value
            for item in metrics.metric_keys_and_values
        }
        sliced.append((slicer_lib.deserialize_slice_key(metrics.slice_key), values))
    return sliced


def evaluator_models(run) -> list:
    """The model specs the Evaluator ran with: the task's, named candidate and baseline."""
    from tensorflow_model_analysis.writers import eval_config_writer

    config = eval_config_writer.load_eval_run(evaluation_uri(run))[0]
    return list(config.model_specs)


def evaluation_uri(run) -> str:
    return output_of(run.components, "Evaluator", "evaluation").uri


def blessed(task: str, run, metrics: list, **bounds) -> bool:
    """TFMA's verdict on the stored metrics under the tiny run's bounds updated by
    `bounds`: the task's EvalConfig for them, with the models the Evaluator named."""
    from tensorflow_model_analysis.evaluators import metrics_validator
    from tensorflow_model_analysis.utils import config_util

    params = {**TINY_RUNS[task]["evaluation_overrides"], **bounds}
    config = tasks.get(task).eval_config(params)
    del config.model_specs[:]
    config.model_specs.extend(evaluator_models(run))
    config = config_util.update_eval_config_with_defaults(config, has_baseline=True)
    return all(metrics_validator.validate_metrics(m, config).validation_ok for m in metrics)


def measured(run) -> dict:
    """{metric label: overall Row} of the tiny run's evaluation."""
    return {r.metric: r for r in local_runs.evaluation(run).rows if r.slice_name == "overall"}


def either_side(value: float) -> tuple:
    """(just below, just above) `value`."""
    step = MARGIN * max(abs(value), 1e-6)
    return value - step, value + step


@pytest.mark.e2e
def test_every_lcd_bound_decides_the_verdict_both_ways(lcd_run):
    metrics, overall = stored_metrics(lcd_run), measured(lcd_run)
    assert blessed("lcd", lcd_run, metrics)  # the tiny run's own loose bounds bless it

    change = overall["CRPS (sampled)"].change  # relative; negative when the candidate wins
    below, above = either_side(-change)  # min_improvement is the improvement asked for
    assert blessed("lcd", lcd_run, metrics, min_improvement=below)
    assert not blessed("lcd", lcd_run, metrics, min_improvement=above)

    coverage = overall["coverage of 90% band"].candidate
    below, above = either_side(coverage)
    assert blessed("lcd", lcd_run, metrics, min_coverage=below)
    assert not blessed("lcd", lcd_run, metrics, min_coverage=above)
    assert blessed("lcd", lcd_run, metrics, max_coverage=above)
    assert not blessed("lcd", lcd_run, metrics, max_coverage=below, min_coverage=below / 2)

    teacher_forced = overall["teacher-forced MSE (scaled)"].candidate
    below, above = either_side(teacher_forced)
    assert blessed("lcd", lcd_run, metrics, max_mse=above)
    assert not blessed("lcd", lcd_run, metrics, max_mse=below)

    rollout = overall["rollout MSE (mean h0)"].candidate
    below, above = either_side(rollout)
    assert blessed("lcd", lcd_run, metrics, max_rollout_mse=above)
    assert not blessed("lcd", lcd_run, metrics, max_rollout_mse=below)


@pytest.mark.e2e
def test_every_art_bound_decides_the_verdict_both_ways(art_run):
    metrics, overall = stored_metrics(art_run), measured(art_run)
    assert blessed("art", art_run, metrics)

    accuracy = overall["accuracy"]
    below, above = either_side(accuracy.change)  # higher is better: change is the gain
    assert blessed("art", art_run, metrics, min_improvement=below)
    assert not blessed("art", art_run, metrics, min_improvement=above)

    below, above = either_side(accuracy.candidate)
    assert blessed("art", art_run, metrics, min_accuracy=below)
    assert not blessed("art", art_run, metrics, min_accuracy=above)
