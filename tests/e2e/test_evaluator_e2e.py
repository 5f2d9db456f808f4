"""The Evaluator's verdict and the Pusher, on tiny runs of the whole pipeline."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import TINY_RUNS, run_after
from tests.helpers import probe, read_examples
from tfx_seqgen import tasks
from tfx_seqgen.pipeline import local_runs
from tfx_seqgen.pipeline.evaluation_report import format_report
from tfx_seqgen.pipeline.run_summary import SKIPPED, output_of


def metrics_by_hand(task: str, model_dir: str, examples: list) -> dict:
    """The overall metrics, computed straight from the model's own signatures."""
    model = tf.saved_model.load(model_dir)
    serialized = tf.constant([e.SerializeToString() for e in examples])
    labels = model.signatures["transform_features"](examples=serialized)
    if task == "lcd":
        out = model.signatures["evaluate"](examples=serialized)
        return {
            "CRPS (sampled)": np.mean(out["crps"]),
            "coverage of 90% band": np.mean(out["coverage"]),
            "90% band width": np.mean(out["band_width"]),
            "sample-mean MSE": np.mean((out["sample_mean"] - labels["x_target"]) ** 2),
            "rollout MSE (mean h0)": np.mean((out["rollout"] - labels["x_target"]) ** 2),
            "teacher-forced MSE (scaled)": np.mean(
                (out["predictions"] - labels["delta_scaled"]) ** 2
            ),
        }
    out = model.signatures["serving_default"](examples=serialized)
    probabilities, label = out["probabilities"].numpy(), labels["label"].numpy().ravel()
    return {
        "accuracy": np.mean(probabilities.argmax(axis=1) == label),
        "log loss": -np.mean(np.log(probabilities[np.arange(len(label)), label])),
    }


@pytest.mark.e2e
def test_metrics_are_what_the_models_score_on_the_eval_split(tiny_run):
    task, run = tiny_run
    examples = read_examples(
        os.path.join(
            output_of(run.components, f"{task.title()}ExampleGen", "examples").uri, "Split-eval"
        )
    )
    result = local_runs.evaluation(run)
    overall = {r.metric: r for r in result.rows if r.slice_name == "overall"}
    for node_id, side in (("Trainer", "candidate"), ("BaselineTrainer", "baseline")):
        expected = metrics_by_hand(task, local_runs.model_dir(run, node_id), examples)
        for metric, value in expected.items():
            np.testing.assert_allclose(
                getattr(overall[metric], side), value, rtol=1e-3, atol=1e-7, err_msg=metric
            )
    if task == "lcd":  # each metric for every eval period
        periods = {r.slice_name for r in result.rows} - {"overall"}
        assert periods == {f"period={p}" for p in (1.0, 2.0, 3.0, 4.0)}
        assert len(result.rows) == 6 * 5


@pytest.mark.e2e
def test_blessing_is_recorded_and_follows_from_the_metrics(tiny_run):
    task, run = tiny_run
    result = local_runs.evaluation(run)
    params = tasks.get(task).evaluation_params(TINY_RUNS[task]["evaluation_overrides"])
    overall = {r.metric: r for r in result.rows if r.slice_name == "overall"}
    if task == "lcd":
        headline = overall["CRPS (sampled)"]
        coverage = overall["coverage of 90% band"].candidate
        expected = (
            headline.change <= params["min_improvement"] * -1
            and params["min_coverage"] <= coverage <= params["max_coverage"]
            and overall["teacher-forced MSE (scaled)"].candidate <= params["max_mse"]
            and overall["rollout MSE (mean h0)"].candidate <= params["max_rollout_mse"]
        )
        assert result.headline == "CRPS (sampled)"
    else:
        headline = overall["accuracy"]
        expected = (
            headline.change >= params["min_improvement"]
            and headline.candidate >= params["min_accuracy"]
        )
    blessing = output_of(run.components, "Evaluator", "blessing")
    assert expected and result.ok
    assert blessing.properties["blessed"] == 1
    assert os.path.exists(os.path.join(blessing.uri, "BLESSED"))


@pytest.mark.e2e
def test_blessed_model_is_pushed_whole_in_tf_serving_layout(tiny_run):
    task, run = tiny_run
    pushed = local_runs.pushed_to(run)
    base = os.path.join(run.pipeline_root, "serving", task)
    assert os.path.dirname(pushed) == base
    assert os.listdir(base) == [os.path.basename(pushed)]  # one version, no staging left
    assert os.path.basename(pushed).isdigit()
    assert os.path.exists(os.path.join(pushed, "saved_model.pb"))
    # The served copy answers exactly like the Trainer's model.
    assert probe(pushed, task) == probe(local_runs.model_dir(run), task)


@pytest.mark.e2e
def test_a_baseline_that_wins_is_not_pushed(lcd_run, tmp_path):
    """The candidate barely trains (learning rate 1e-7); the baseline trains properly.

    Both models train anew on the data of `lcd_run`, which come from its cache."""
    tiny = TINY_RUNS["lcd"]
    run = run_after(
        lcd_run,
        "lcd",
        tmp_path,
        training_overrides={
            **tiny["training_overrides"],
            "learning_rate": 1e-7,
            "rollout_learning_rate": 1e-7,
        },
        baseline_overrides={"learning_rate": 1e-2, "rollout_learning_rate": 1e-3},
        evaluation_overrides={**tiny["evaluation_overrides"], "min_improvement": 0.0},
    )
    states = {c.node_id: c.state for c in run.components}
    assert states["Transform"] == "cached"
    assert states["Trainer"] == states["BaselineTrainer"] == "executed"
    result = local_runs.evaluation(run)
    overall = {r.metric: r for r in result.rows if r.slice_name == "overall"}
    assert overall["CRPS (sampled)"].change > 0  # the baseline won
    assert not result.ok
    assert output_of(run.components, "Evaluator", "blessing").properties["blessed"] == 0
    pusher = next(c for c in run.components if c.node_id == "Pusher")
    assert pusher.state == SKIPPED and not pusher.outputs  # the condition kept it from running
    assert local_runs.pushed_to(run) is None
    assert not os.path.exists(os.path.join(run.pipeline_root, "serving", "lcd"))
    report = format_report(result, None)
    assert "Not blessed: CRPS (sampled) does not beat the baseline's" in report
    assert "Not pushed" in report


@pytest.mark.e2e
def test_a_band_outside_the_coverage_bounds_is_not_pushed_and_one_inside_is(lcd_run, tmp_path):
    """Two runs over the trained models of `lcd_run`: only the Evaluator's bounds differ."""
    tiny = TINY_RUNS["lcd"]

    def run(bounds):
        return run_after(
            lcd_run,
            "lcd",
            tmp_path,
            evaluation_overrides={**tiny["evaluation_overrides"], **bounds},
        )

    # Coverage is a multiple of 1/480 (40 sequences x 12 steps): never in this range.
    narrow = run({"min_coverage": 0.999999, "max_coverage": 0.9999999})
    result = local_runs.evaluation(narrow)
    assert not result.ok
    assert local_runs.pushed_to(narrow) is None
    assert "coverage of 90% band" in format_report(result, None)
    assert "sanity bound" in format_report(result, None)

    wide = run({})
    states = {c.node_id: c.state for c in wide.components}
    assert states["Trainer"] == states["BaselineTrainer"] == "cached"
    assert local_runs.evaluation(wide).ok
    assert local_runs.pushed_to(wide) is not None


@pytest.mark.e2e
def test_a_sampled_eval_split_scores_every_period_on_its_sample(lcd_run, tmp_path):
    """`lcd_run`'s models scored on 3 of each period's 10 eval sequences; nothing retrains."""
    tiny = TINY_RUNS["lcd"]
    run = run_after(
        lcd_run,
        "lcd",
        tmp_path,
        evaluation_overrides={**tiny["evaluation_overrides"], "eval_sample_per_slice": 3},
    )
    states = {c.node_id: c.state for c in run.components}
    assert states["Trainer"] == states["BaselineTrainer"] == "cached"
    assert states["EvalSample"] == states["Evaluator"] == "executed"
    sample = read_examples(
        os.path.join(output_of(run.components, "EvalSample", "sampled_examples").uri, "Split-eval")
    )
    periods = sorted(e.features.feature["period"].float_list.value[0] for e in sample)
    assert periods == [1.0] * 3 + [2.0] * 3 + [3.0] * 3 + [4.0] * 3
    result = local_runs.evaluation(run)
    assert {r.slice_name for r in result.rows} - {"overall"} == {
        f"period={p}" for p in (1.0, 2.0, 3.0, 4.0)
    }
    overall = {r.metric: r for r in result.rows if r.slice_name == "overall"}
    # The deterministic scores, by hand on exactly the sampled rows. (The sampled
    # ones, computed in this process after the in-process pipeline run, came out
    # up to 0.6% from the Evaluator's; in a fresh process they are equal.)
    for node_id, side in (("Trainer", "candidate"), ("BaselineTrainer", "baseline")):
        expected = metrics_by_hand("lcd", local_runs.model_dir(run, node_id), sample)
        for metric in ("rollout MSE (mean h0)", "teacher-forced MSE (scaled)"):
            np.testing.assert_allclose(
                getattr(overall[metric], side), expected[metric], rtol=1e-5, err_msg=metric
            )
