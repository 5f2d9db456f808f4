"""Shared test set-up: quiet TensorFlow, and a guard against Beam work."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture
def no_beam(monkeypatch):
    """Fails the test if anything constructs a Beam pipeline."""
    import apache_beam as beam

    def refuse(*args, **kwargs):
        raise AssertionError("a Beam pipeline was constructed")

    monkeypatch.setattr(beam.Pipeline, "__init__", refuse)


# Tiny but complete runs of the whole pipeline, shared by the e2e tests. The
# blessing is loosened (the candidate may be far worse, sanity bounds wide)
# so the Pusher runs: these models train for seconds.
TINY_RUNS = {
    "lcd": {
        "data_overrides": {"train_per_period": 40, "eval_per_period": 10, "length": 12},
        "training_overrides": {
            "epochs": 4,
            "batch_size": 32,
            "model": {"units": 16, "context_units": [8]},
        },
        "evaluation_overrides": {
            "min_improvement": -100.0,
            "max_mse": 10.0,
            "max_rollout_mse": 1000.0,
            "min_coverage": 1e-9,
            "max_coverage": 1 - 1e-9,
        },
    },
    "art": {
        "data_overrides": {"train_count": 400, "eval_count": 100},
        "training_overrides": {"epochs": 2, "batch_size": 64, "model": {"units": 12}},
        "evaluation_overrides": {"min_improvement": -100.0, "min_accuracy": 0.0},
    },
}


_RUNS: dict = {}


def _tiny_run(task: str, tmp_path_factory):
    """One finished pipeline run per task per test session."""
    from tfx_seqgen.pipeline import local_runs

    if task not in _RUNS:
        root = tmp_path_factory.mktemp(task)
        _RUNS[task] = local_runs.run(task, "demo", str(root), **TINY_RUNS[task])
    return _RUNS[task]


@pytest.fixture(scope="session", params=["lcd", "art"])
def tiny_run(request, tmp_path_factory):
    """(task, LocalRun) of a finished pipeline run, for each task."""
    return request.param, _tiny_run(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def lcd_run(tmp_path_factory):
    return _tiny_run("lcd", tmp_path_factory)


@pytest.fixture(scope="session")
def art_run(tmp_path_factory):
    return _tiny_run("art", tmp_path_factory)
