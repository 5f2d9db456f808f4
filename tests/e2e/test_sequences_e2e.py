"""The sequences task end to end: a user's CSV -> a calibrated generator served over gRPC and REST.

The data is small, multivariate (2 value columns), of variable length (4 to
8 steps) and has a categorical context (`trend`: up or down) and a numeric
one (`dose`) that shape each series.
"""

import json
import os
import subprocess
import sys
import urllib.request

import grpc
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tests import ROOT
from tfx_seqgen.errors import ServingError
from tfx_seqgen.pipeline import local_runs
from tfx_seqgen.pipeline.run_summary import output_of
from tfx_seqgen.serving.client import ServingClient
from tfx_seqgen.serving.process import ServerProcess

pytestmark = pytest.mark.e2e
SERIES = 200
DATA = dict(id="unit", step="t", values=["level", "wave"], context=["trend", "dose"])


def series_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(SERIES):
        trend, dose = ("up", "down")[i % 2], float(1 + i % 3)
        start = rng.uniform(1.0, 2.0)
        for t in range(4 + i % 5):
            level = start * (1 + (0.15 if trend == "up" else -0.1) * t)
            wave = dose * np.sin(t / 2.0) + rng.normal(0, 0.05)
            rows.append(dict(unit=f"u{i}", t=t, level=level, wave=wave, trend=trend, dose=dose))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sequences")
    series_frame().to_csv(directory / "units.csv", index=False)
    return local_runs.run(
        "sequences",
        "demo",
        str(directory / "root"),
        data_overrides={"path": str(directory / "units.csv"), **DATA},
        training_overrides={
            "epochs": 3,
            "batch_size": 32,
            "eval_samples": 20,
            "model": {"units": 16, "context_units": [8]},
        },
        evaluation_overrides={"min_improvement": -100.0, "min_coverage": 1e-9},
    )


def test_every_component_ran_and_the_evaluator_sliced_by_the_categorical_context(run):
    assert {c.node_id: c.state for c in run.components}["Pusher"] != "failed"
    evaluation = local_runs.evaluation(run)
    slices = {row.slice_name for row in evaluation.rows}
    assert {"overall", "trend=up", "trend=down"} <= slices, slices
    assert not any(name.startswith("dose=") for name in slices)
    assert output_of(run.components, "Evaluator", "blessing").properties["blessed"] == 1


def inputs(x0, trend, dose, num_samples=5, steps=6, seed=(1, 2)):
    return {
        "x0": np.asarray(x0, np.float32),
        "trend": np.asarray(trend, object),
        "dose": np.asarray(dose, np.float32),
        "seed": np.asarray(seed, np.int64),
        "num_samples": np.int32(num_samples),
        "steps": np.int32(steps),
    }


def test_generate_over_grpc_and_rest_matches_the_pushed_model(run, tmp_path):
    pushed = local_runs.pushed_to(run)
    request = inputs([[1.5, 0.0], [1.2, 0.1]], ["up", "down"], [1.0, 3.0])
    direct = tf.saved_model.load(pushed).signatures["generate"](
        **{k: tf.constant(v) for k, v in request.items()}
    )
    expected = direct["trajectories"].numpy()
    assert expected.shape == (2, 5, 7, 2)
    np.testing.assert_allclose(
        expected[:, :, 0], request["x0"][:, None].repeat(5, 1)
    )  # row 0 is x0
    assert np.isfinite(expected).all() and not np.allclose(expected[0, 0], expected[0, 1])
    assert direct["in_training_range"].numpy().tolist() == [True, True]
    base = os.path.dirname(pushed)
    with ServerProcess("sequences", base, "builtin", str(tmp_path / "log")) as server:
        with ServingClient(server.address, "sequences") as client:
            served, _ = client.predict(request, signature="generate")
            np.testing.assert_allclose(served["trajectories"], expected, atol=1e-5)
            for bad, name in (
                (inputs([[1.5, 0.0], [1.2, 0.1]], ["up", "sideways"], [1.0, 3.0]), "trend"),
                (inputs([[1.5, 0.0, 1.0], [1.2, 0.1, 1.0]], ["up", "up"], [1.0, 3.0]), "x0"),
            ):
                with pytest.raises(ServingError) as caught:
                    client.predict(bad, signature="generate")
                assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
                assert name in caught.value.message, caught.value.message
        body = {
            "signature_name": "generate",
            "inputs": {k: np.asarray(v).tolist() for k, v in request.items()},
        }
        call = urllib.request.Request(
            f"{server.rest_url}/v1/models/sequences:predict",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(call, timeout=60) as response:
            answer = json.loads(response.read())
        rest = np.asarray(answer["outputs"]["trajectories"], np.float32)
        np.testing.assert_allclose(rest, expected, atol=1e-5)


def test_the_generate_command_takes_x0_and_the_context_by_name(run, tmp_path):
    base = os.path.dirname(local_runs.pushed_to(run))
    with ServerProcess("sequences", base, "builtin", str(tmp_path / "log")) as server:
        command = [sys.executable, "-m", "tfx_seqgen", "generate", "--server", server.address,
                   "--model-name", "sequences", "--x0", "1.5", "0.0", "--samples", "4",
                   "--steps", "3"]  # fmt: skip
        done = subprocess.run(
            [*command, "--context", "trend=up", "--context", "dose=2", "--json"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        trajectories = np.asarray(json.loads(done.stdout)["trajectories"])
        assert trajectories.shape == (4, 4, 2)  # samples, x0 and 3 steps, 2 value columns
        np.testing.assert_allclose(trajectories[:, 0], [[1.5, 0.0]] * 4)
        missing = subprocess.run(
            [*command, "--context", "trend=up"], capture_output=True, text=True, timeout=300
        )
        assert missing.returncode != 0
        assert "the model takes exactly the context columns ['dose', 'trend']" in missing.stderr


def test_the_notebook_inspects_a_sequences_run(run, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    notebook_path = str(ROOT / "notebooks" / "inspect_run.ipynb")
    monkeypatch.setenv("SEQGEN_PIPELINE_ROOT", run.pipeline_root)
    notebook = nbformat.read(notebook_path, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(notebook_path)}},
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    kinds = [kind for o in outputs for kind in o.get("data", {})]
    assert kinds.count("image/png") == 2  # training curves, and the generated series
    text = "".join(o.get("text", "") for o in outputs)
    assert run.pipeline_name in text and "Blessed" in text
