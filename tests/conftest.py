"""Shared test set-up: quiet TensorFlow, a guard against Beam work, tiny runs the workers share."""

import fcntl
import os
import pathlib
import pickle
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

# The files that take minutes, longest first (measured on 2 idle cores: 761 s
# down to 60 s). With `--dist loadfile --no-loadscope-reorder` (the Makefile)
# the two workers take files in this order, so neither is left running a long
# file alone at the end. test_packaging runs second because it needs no shared
# run: the other worker builds the LCD run meanwhile. Other files follow, in
# their usual order.
LONGEST_FILES_FIRST = [
    "test_benchmarks.py",
    "test_packaging.py",
    "test_serving_e2e.py",
    "test_pipeline_e2e.py",
    "test_multi_worker_e2e.py",
    "test_multi_processing_e2e.py",
    "test_evaluator_e2e.py",
    "test_cli.py",
    "test_example_gen.py",
    "test_notebook.py",
    "test_trainer_e2e.py",
    "test_readme.py",
    "test_task_models.py",
    "test_kubeflow.py",
]


@pytest.hookimpl(wrapper=True)  # after pytest has grouped tests by their fixtures
def pytest_collection_modifyitems(items):
    """Orders the files longest first; tests keep their order within a file."""
    result = yield

    def rank(item) -> int:
        name = item.path.name
        listed = name in LONGEST_FILES_FIRST
        return LONGEST_FILES_FIRST.index(name) if listed else len(LONGEST_FILES_FIRST)

    items.sort(key=rank)
    return result


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
        "data_overrides": {
            "train_per_period": 40,
            "eval_per_period": 10,
            "calibration_per_period": 15,
            "length": 12,
        },
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
        # No XLA: a tiny model's 14 steps train in a second, and compiling
        # them took 12 s more (the benchmark tests train ART with XLA).
        "training_overrides": {
            "epochs": 2,
            "batch_size": 64,
            "jit_compile": False,
            "model": {"units": 12},
        },
        "evaluation_overrides": {"min_improvement": -100.0, "min_accuracy": 0.0},
    },
}


_RUNS: dict = {}


def _shared_dir(tmp_path_factory) -> pathlib.Path:
    """A directory every pytest-xdist worker of this session sees (its own basetemp alone)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _tiny_run(task: str, tmp_path_factory):
    """One finished pipeline run per task per test session, shared by the xdist workers.

    The first worker to ask runs it while holding a lock; the others wait and
    read back what it ran. Tests treat the run as read-only.
    """
    from tfx_seqgen.pipeline import local_runs

    if task not in _RUNS:
        shared = _shared_dir(tmp_path_factory)
        root, record = shared / f"tiny-{task}", shared / f"tiny-{task}.pickle"
        with open(shared / f"tiny-{task}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not record.exists():
                run = local_runs.run(task, "demo", str(root), **TINY_RUNS[task])
                record.write_bytes(pickle.dumps(run))
            _RUNS[task] = pickle.loads(record.read_bytes())
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


def run_after(base, task: str, pipeline_root, **overrides):
    """A tiny run under `pipeline_root` whose MLMD store starts as a copy of `base`'s.

    TFX takes every component whose inputs and parameters are those of `base`
    from its cache (the artifacts stay where `base` wrote them, untouched) and
    executes the others: a test that changes only the Evaluator's bounds
    trains nothing. `overrides` replace TINY_RUNS entries of `local_runs.run`.
    """
    from tfx_seqgen.pipeline import local_runs

    os.makedirs(pipeline_root, exist_ok=True)
    shutil.copyfile(base.metadata_path, os.path.join(pipeline_root, "metadata.sqlite"))
    return local_runs.run(task, "demo", str(pipeline_root), **{**TINY_RUNS[task], **overrides})
