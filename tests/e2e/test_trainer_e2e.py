"""The Trainer on a tiny pipeline run: training, export, and the signatures."""

import os

import numpy as np
import pytest

from tests.conftest import TINY_RUNS
from tests.helpers import probe
from tfx_seqgen import tasks
from tfx_seqgen.pipeline import local_runs, run_views
from tfx_seqgen.serving import demo
from tfx_seqgen.tasks.lcd import view
from tfx_seqgen.tasks.lcd.data import LcdDataset


@pytest.fixture(scope="module")
def trained(tiny_run):
    task, run = tiny_run
    models = {}
    for component in run.components:
        for output in component.outputs:
            if output.type_name == "Model":
                models[component.node_id] = os.path.join(output.uri, "Format-Serving")
            if output.type_name == "ModelRun":
                models[component.node_id + "/run"] = output.uri
    return task, run, models


@pytest.mark.e2e
def test_both_trainers_run_and_log_falling_loss_to_tensorboard(trained):
    task, run, models = trained
    states = {c.node_id: c.state for c in run.components}
    assert states["Transform"] == states["Trainer"] == states["BaselineTrainer"] == "executed"
    curves = run_views.training_curves(run)
    for trainer in ("Trainer", "BaselineTrainer"):
        assert os.path.exists(os.path.join(models[trainer], "saved_model.pb"))
        model = curves[curves.model == run_views.MODEL_NAMES[trainer]]
        losses = model[(model.split == "train") & (model.metric == "loss")].sort_values("epoch")
        assert len(losses) == TINY_RUNS[task]["training_overrides"]["epochs"]
        assert losses.value.iloc[-1] < losses.value.iloc[0]


@pytest.mark.e2e
@pytest.mark.parametrize("trainer", ["Trainer", "BaselineTrainer"])
def test_signatures_work_with_tensorflow_alone(trained, trainer):
    task, _, models = trained
    report = probe(models[trainer], task)
    if task == "lcd":
        assert report["signatures"] == [
            "evaluate",
            "generate",
            "serving_default",
            "transform_features",
        ]
        assert report["shape"] == [2, 5, 13]
        assert report["starts"] == [[3.0] * 5, [2.5] * 5]  # exactly x0
        assert report["finite"] and report["same_seed_identical"] and report["row_alone_identical"]
        assert report["per_row_counts_identical"]  # num_samples and steps given per row
        assert report["in_training_range"] == [True, False, False]
        if trainer == "Trainer":  # the learned distribution generates varied trajectories
            assert report["samples_differ"] and report["other_seed_differs"]
        else:  # h0 = 0, calibrated: generate draws the rollout shifted by q(t) * z per path
            assert report["rollout_shifted_per_path"] and not report["rollout_is_generate"]
        for name, result in report["bad"].items():
            assert result["status"] == "INVALID_ARGUMENT", name
            input_name = name.split("=")[0].split(" ")[0]
            assert input_name in result["message"], (name, result["message"][:300])
        assert report["serving_default"] == {
            "predictions": [1, 12],
            "delta": [1, 12],
            "next_x": [1, 12],
            "rollout": [1, 12],
        }
        # evaluate scores the samples generate draws for the example, seeded by its bytes.
        assert report["evaluate_is_generate_scored"]
        assert report["evaluate"] == {
            **report["serving_default"],
            **{k: [1, 12] for k in ("crps", "coverage", "band_width", "sample_mean")},
        }
    else:
        assert report["signatures"] == ["answer", "serving_default", "transform_features"]
        assert report["probabilities_shape"] == [2, 10]
        assert all(0 <= d <= 9 for d in report["digit"])
        np.testing.assert_allclose(report["probability_sums"], 1.0, atol=1e-5)
        for query, result in report["bad"].items():
            assert result["status"] == "INVALID_ARGUMENT", query
            assert "query must be 4 letter-digit pairs" in result["message"]
        assert report["serving_default"] == {"digit": [1], "probabilities": [1, 10]}


@pytest.mark.e2e
@pytest.mark.parametrize("tiny_run", ["lcd"], indirect=True)
def test_trained_generator_draws_trajectories_for_every_eval_period(trained):
    _, run, _ = trained
    report = demo.show_trajectories(run, tasks.get("lcd").closing_view)
    for period in run.data_params.get("eval_periods", [1.0, 2.0, 3.0, 4.0]):
        assert f"{period:>6.2f} " in report
    assert os.path.getsize(os.path.join(run.pipeline_root, "trajectories.png")) > 1000
    # The served numbers are the model's: the same draws called in-process give the
    # same table, and every trajectory is finite.
    model = local_runs.pushed_to(run) or local_runs.model_dir(run)
    dataset = LcdDataset(**run.data_params)
    direct = view.generate_per_period(
        local_runs.saved_model_generator(model), dataset, dataset.eval_periods
    )
    assert all(np.isfinite(result.samples).all() for result in direct)
    assert view.format_table(direct) in report


@pytest.mark.parametrize(
    "change,message",
    [
        ({"task": "weather"}, "task='weather' is unknown; allowed: lcd, art"),
        ({"epochs": 0}, "epochs=0 is invalid; allowed: an integer at least 1"),
        ({"learning_rate": -1.0}, "learning_rate=-1.0 is invalid"),
        ({"clip_norm": 0.0}, "clip_norm=0.0 is invalid"),
        ({"stop_at_accuracy": 1.5}, "stop_at_accuracy=1.5 is invalid"),
        ({"epoch": 3}, "epoch=3 is invalid; allowed: one of the parameters task, model, epochs"),
        ({"decay_epochs": -1}, "decay_epochs=-1 is invalid; allowed: an integer at least 0"),
        ({"decay_epochs": 2.5}, "decay_epochs=2.5 is invalid; allowed: an integer at least 0"),
        ({"jit_compile": "yes"}, "jit_compile='yes' is invalid; allowed: None"),
        ({"cache_data": 1}, "cache_data=1 is invalid; allowed: true or false"),
        ({"steps_per_execution": 0}, "steps_per_execution=0 is invalid; allowed: an integer"),
        ({"steps_per_execution": 33}, "steps_per_execution=33 is invalid; allowed: an integer"),
        ({"model": {"unroll": "no"}}, "model.unroll='no' is invalid"),
        (
            {"model": {"cell": "fast_weights", "cell_options": {"decay": 0.9, "inner_step": 2}}},
            "cell_options ['inner_step'] are unknown for cell 'fast_weights'",
        ),
        ({"task": "art", "model": {"head_units": -1}}, "model.head_units=-1 is invalid"),
        (
            {"task": "art", "model": {"embedding_initializer": "ones"}},
            "embedding_initializer='ones' is invalid; allowed: one of .'uniform', 'zeros'.",
        ),
    ],
)
def test_bad_training_config_is_refused_by_name(change, message):
    config = {"task": "lcd", "model": {}, **change}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        tasks.get(config["task"]).training_config(config)
