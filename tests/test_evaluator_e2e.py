"""The Evaluator's verdict and the Pusher, on tiny runs of the whole pipeline."""

import os

import numpy as np
import pytest
import tensorflow as tf

import local_runner
from pipeline import evaluation
from pipeline.evaluation_report import LABELS, format_report
from pipeline.run_summary import SKIPPED, output_of
from tests.conftest import TINY_RUNS
from tests.helpers import probe, read_examples


def metrics_by_hand(task: str, model_dir: str, examples: list) -> dict:
    """The overall metrics, computed straight from the model's own signatures."""
    model = tf.saved_model.load(model_dir)
    serialized = tf.constant([e.SerializeToString() for e in examples])
    out = model.signatures["serving_default"](examples=serialized)
    labels = model.signatures["transform_features"](examples=serialized)
    if task == "lcd":
        return {
            "teacher-forced MSE (scaled)": np.mean(
                (out["predictions"] - labels["delta_scaled"]) ** 2
            ),
            "rollout MSE": np.mean((out["rollout"] - labels["x_target"]) ** 2),
        }
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
    result = local_runner.evaluation(run)
    overall = {r.metric: r for r in result.rows if r.slice_name == "overall"}
    for node_id, side in (("Trainer", "candidate"), ("BaselineTrainer", "baseline")):
        expected = metrics_by_hand(task, local_runner.model_dir(run, node_id), examples)
        for metric, value in expected.items():
            np.testing.assert_allclose(getattr(overall[metric], side), value, rtol=1e-3)
    if task == "lcd":  # each metric for every eval period
        periods = {r.slice_name for r in result.rows} - {"overall"}
        assert periods == {f"period={p}" for p in (1.0, 2.0, 3.0, 4.0)}
        assert len(result.rows) == 2 * 5


@pytest.mark.e2e
def test_blessing_is_recorded_and_follows_from_the_metrics(tiny_run):
    task, run = tiny_run
    result = local_runner.evaluation(run)
    params = evaluation.check_params(task, TINY_RUNS[task]["evaluation_overrides"])
    overall = {r.metric: r for r in result.rows if r.slice_name == "overall"}
    headline = overall[LABELS[evaluation.HEADLINE[task]]]
    if task == "lcd":
        expected = (
            headline.change <= params["min_improvement"] * -1
            and headline.candidate <= params["max_mse"]
            and overall["rollout MSE"].candidate <= params["max_rollout_mse"]
        )
    else:
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
    pushed = local_runner.pushed_to(run)
    base = os.path.join(run.pipeline_root, "serving", task)
    assert os.path.dirname(pushed) == base
    assert os.listdir(base) == [os.path.basename(pushed)]  # one version, no staging left
    assert os.path.basename(pushed).isdigit()
    assert os.path.exists(os.path.join(pushed, "saved_model.pb"))
    # The served copy answers exactly like the Trainer's model.
    assert probe(pushed, task) == probe(local_runner.model_dir(run), task)


@pytest.mark.e2e
def test_a_baseline_that_wins_is_not_pushed(tmp_path):
    """The candidate barely trains (learning rate 1e-7); the baseline trains properly."""
    tiny = TINY_RUNS["lcd"]
    run = local_runner.run(
        "lcd",
        "demo",
        str(tmp_path),
        data_overrides=tiny["data_overrides"],
        training_overrides={**tiny["training_overrides"], "learning_rate": 1e-7},
        baseline_overrides={"learning_rate": 1e-2},
        evaluation_overrides={"max_mse": 10.0, "max_rollout_mse": 1000.0},
    )
    result = local_runner.evaluation(run)
    overall = {r.metric: r for r in result.rows if r.slice_name == "overall"}
    assert overall["teacher-forced MSE (scaled)"].change > 0  # the baseline won
    assert not result.ok
    assert output_of(run.components, "Evaluator", "blessing").properties["blessed"] == 0
    pusher = next(c for c in run.components if c.node_id == "Pusher")
    assert pusher.state == SKIPPED and not pusher.outputs  # the condition kept it from running
    assert local_runner.pushed_to(run) is None
    assert not os.path.exists(os.path.join(run.pipeline_root, "serving", "lcd"))
    report = format_report(result, None, "lcd")
    assert "Not blessed: teacher-forced MSE (scaled) does not beat the baseline's" in report
    assert "Not pushed" in report
