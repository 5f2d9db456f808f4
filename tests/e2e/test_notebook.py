"""notebooks/inspect_run.ipynb and the helpers it calls, on tiny pipeline runs."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests import ROOT
from tests.conftest import TINY_RUNS
from tfx_seqgen.pipeline import local_runs, run_views

NOTEBOOK = ROOT / "notebooks" / "inspect_run.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.e2e
def test_notebook_runs_headless_on_a_run(tiny_run, monkeypatch):
    task, run = tiny_run
    monkeypatch.setenv("SEQGEN_PIPELINE_ROOT", run.pipeline_root)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    kinds = [kind for o in outputs for kind in o.get("data", {})]
    assert kinds.count("image/png") == (2 if task == "lcd" else 1)  # curves (+ trajectories)
    text = "".join(o.get("text", "") for o in outputs)
    assert run.pipeline_name in text and "Blessed" in text


@pytest.mark.e2e
def test_open_run_finds_the_newest_run_and_its_parameters(tiny_run):
    task, run = tiny_run
    opened = local_runs.open_run(run.pipeline_root)
    assert opened.pipeline_name == run.pipeline_name
    assert [c.node_id for c in opened.components] == [c.node_id for c in run.components]
    for name, value in TINY_RUNS[task]["data_overrides"].items():
        assert opened.data_params[name] == value


@pytest.mark.e2e
def test_helpers_read_what_the_run_recorded(tiny_run):
    task, run = tiny_run
    frame = run_views.examples_frame(run, "eval", limit=3)
    assert len(frame) == 3
    assert set(frame.columns) == ({"x", "period"} if task == "lcd" else {"query", "target"})
    curves = run_views.training_curves(run)
    epochs = TINY_RUNS[task]["training_overrides"]["epochs"]
    for model in run_views.MODEL_NAMES.values():
        losses = curves[(curves.model == model) & (curves.split == "train")]
        assert sorted(losses[losses.metric == "loss"].epoch) == list(range(1, epochs + 1))
    evaluation = run_views.evaluation_frame(run)
    assert len(evaluation) == len(local_runs.evaluation(run).rows)
    assert os.path.exists(run_views.statistics_path(run, "train"))
    if task == "lcd":
        results = run_views.lcd_trajectories(run, num_samples=4)
        assert [r.period for r in results] == [1.0, 2.0, 3.0, 4.0]
        assert all(r.samples.shape == (4, 13) for r in results)
    else:
        answers = run_views.art_answers(run, ["c9k8j3f1??k"])
        assert 0 <= answers.digit[0] <= 9 and 0 < answers.probability[0] <= 1


def test_open_run_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="is .* a pipeline root of `seqgen run`"):
        local_runs.open_run(str(tmp_path))
