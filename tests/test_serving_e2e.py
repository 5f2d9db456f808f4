"""Pushed models served over TF Serving's gRPC API, called through the client.

Every test runs against the built-in server, and again against the real
`tensorflow_model_server` when it is on PATH (reported as skipped when not).
"""

import json
import os
import shutil
import threading

import grpc
import numpy as np
import pytest
import tensorflow as tf

from tfx_seqgen.components.pusher import publish
from tfx_seqgen.pipeline import local_runs
from tfx_seqgen.serving.client import ServingClient, ServingError
from tfx_seqgen.serving.process import ServerProcess
from tfx_seqgen.serving.server import model_server_binary

IMPLEMENTATIONS = [
    "builtin",
    pytest.param(
        "tensorflow_model_server",
        marks=pytest.mark.skipif(
            model_server_binary() is None,
            reason="tensorflow_model_server is not on PATH: served by the built-in server only",
        ),
    ),
]
GENERATE = {"x0": [3.0, 2.5], "period": [2.0, 1.0], "seed": [7, 8], "num_samples": 5, "steps": 12}


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        line = next(x for x in f if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def generate_inputs(**changes):
    values = {**GENERATE, **changes}
    return {
        "x0": np.asarray(values["x0"], np.float32),
        "period": np.asarray(values["period"], np.float32),
        "seed": np.asarray(values["seed"], np.int64),
        "num_samples": np.int32(values["num_samples"]),
        "steps": np.int32(values["steps"]),
    }


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def lcd_server(request, lcd_run, tmp_path_factory):
    """A server for a copy of the LCD run's serving directory (tests push into it)."""
    base = tmp_path_factory.mktemp("serving") / "lcd"
    shutil.copytree(os.path.dirname(local_runs.pushed_to(lcd_run)), base)
    log = str(base.parent / "server.log")
    with ServerProcess("lcd", str(base), request.param, log_path=log) as server:
        server.base_path = str(base)
        yield server


@pytest.fixture
def client(lcd_server):
    with ServingClient(lcd_server.address, "lcd", timeout=60) as client:
        yield client


@pytest.mark.e2e
def test_served_trajectories_match_a_direct_call_of_the_pushed_model(lcd_server, client):
    version = max(int(v) for v in os.listdir(lcd_server.base_path) if v.isdigit())
    direct = tf.saved_model.load(os.path.join(lcd_server.base_path, str(version)))
    expected = direct.signatures["generate"](
        **{k: tf.constant(v) for k, v in generate_inputs().items()}
    )["trajectories"].numpy()
    served = client.generate(**GENERATE)
    assert served.shape == (2, 5, 13) and client.last_version == version
    np.testing.assert_allclose(served, expected, rtol=1e-6, atol=1e-6)
    assert client.versions() == {version: "AVAILABLE"}
    signatures = client.signatures()
    assert {"generate", "serving_default", "transform_features"} <= set(signatures)
    assert signatures["generate"].inputs["x0"].dtype == tf.float32.as_datatype_enum


BAD_REQUESTS = {
    # name: (client call, expected status, words the message must hold)
    "unknown model": (
        lambda c: ServingClient(c.address, "weather").generate(**GENERATE),
        grpc.StatusCode.NOT_FOUND,
        "weather",
    ),
    "unknown version": (
        lambda c: c.predict(generate_inputs(), "generate", version=1),
        grpc.StatusCode.NOT_FOUND,
        "lcd",
    ),
    "unknown signature": (
        lambda c: c.predict(generate_inputs(), "sample"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "sample",
    ),
    "wrong dtype": (
        lambda c: c.predict({**generate_inputs(), "x0": np.array([3.0, 2.5])}, "generate"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "float",
    ),
    "missing input": (
        lambda c: c.predict(
            {k: v for k, v in generate_inputs().items() if k != "seed"}, "generate"
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "seed",
    ),
    "extra input": (
        lambda c: c.predict({**generate_inputs(), "noise": np.float32(1)}, "generate"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "noise",
    ),
    "num_samples=0": (
        lambda c: c.generate(**{**GENERATE, "num_samples": 0}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "num_samples",
    ),
    "num_samples=1001": (
        lambda c: c.generate(**{**GENERATE, "num_samples": 1001}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "num_samples",
    ),
    "steps=0": (
        lambda c: c.generate(**{**GENERATE, "steps": 0}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "steps",
    ),
    "steps=1001": (
        lambda c: c.generate(**{**GENERATE, "steps": 1001}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "steps",
    ),
    "x0=NaN": (
        lambda c: c.generate(**{**GENERATE, "x0": [float("nan"), 2.5]}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "x0",
    ),
    "period=inf": (
        lambda c: c.generate(**{**GENERATE, "period": [2.0, float("inf")]}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "period",
    ),
    "too much output": (
        lambda c: c.generate([3.0] * 20, [2.0] * 20, list(range(20)), 1000, 1000),
        grpc.StatusCode.INVALID_ARGUMENT,
        "rows x num_samples",
    ),
    "unknown output_filter": (
        lambda c: c.predict(generate_inputs(), "generate", output_filter=["mean"]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "mean",
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_request_gets_its_status_and_the_server_keeps_serving(lcd_server, client, name):
    call, code, words = BAD_REQUESTS[name]
    with pytest.raises(ServingError) as caught:
        call(client)
    assert caught.value.code == code, caught.value
    assert words in caught.value.message, caught.value
    assert client.generate(**GENERATE).shape == (2, 5, 13)


@pytest.mark.e2e
def test_oversized_request_is_refused_before_any_work(lcd_server, client):
    """20 MB of x0: over the built-in server's 16 MB limit. The real binary takes any
    size, and the signature's output bound refuses it instead."""
    rows = 5_000_000 // 2
    big = {"x0": [3.0] * rows, "period": [2.0] * rows, "seed": [1] * rows}
    with pytest.raises(ServingError) as caught:
        client.generate(**big, num_samples=2, steps=2)
    builtin = "built-in" in lcd_server.kind
    expected = grpc.StatusCode.RESOURCE_EXHAUSTED if builtin else grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.code == expected, caught.value
    assert client.generate(**GENERATE).shape == (2, 5, 13)


def hammer(address, clients, requests, stop=None):
    """`clients` threads each sending `requests` generate calls; (versions seen, errors)."""
    seen, errors = [], []

    def work():
        with ServingClient(address, "lcd", timeout=60, retries=0) as c:
            for _ in range(requests):
                if stop is not None and stop.is_set():
                    return
                try:
                    c.generate(x0=[3.0], period=[2.0], seed=[1], num_samples=10, steps=25)
                    seen.append(c.last_version)
                except Exception as error:  # every failure is counted, none ignored
                    errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads, seen, errors


@pytest.mark.e2e
def test_8_clients_x_200_requests_no_errors_and_flat_memory(lcd_server):
    threads, _, errors = hammer(lcd_server.address, 8, 20)  # warm up
    for thread in threads:
        thread.join()
    before = rss_mb(lcd_server.pid)
    threads, seen, errors = hammer(lcd_server.address, 8, 200)
    for thread in threads:
        thread.join()
    after = rss_mb(lcd_server.pid)
    assert not errors, errors[:3]
    assert len(seen) == 8 * 200
    assert after - before < 150, f"server RSS grew from {before:.0f} MB to {after:.0f} MB"


@pytest.mark.e2e
def test_a_version_pushed_under_load_is_served_without_a_failed_request(lcd_server, lcd_run):
    old = max(int(v) for v in os.listdir(lcd_server.base_path) if v.isdigit())
    stop = threading.Event()
    threads, seen, errors = hammer(lcd_server.address, 8, 10_000, stop)
    new = publish(local_runs.model_dir(lcd_run), lcd_server.base_path)
    with ServingClient(lcd_server.address, "lcd") as client:
        client.wait_until_available(timeout=120, version=new)
        for _ in range(50):  # requests keep flowing after the switch
            client.generate(**GENERATE)
        assert client.last_version == new
        versions = client.versions()
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert versions[new] == "AVAILABLE" and versions.get(old, "END") == "END"
    assert old in seen and new in seen


@pytest.mark.e2e
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_art_answers_over_grpc_as_the_pushed_model_does(art_run, implementation, tmp_path):
    base = os.path.dirname(local_runs.pushed_to(art_run))
    queries = ["c9k8j3f1??k", "a1b2c3d4??d"]
    direct = tf.saved_model.load(local_runs.pushed_to(art_run)).signatures["answer"]
    expected = direct(query=tf.constant(queries))
    with ServerProcess("art", base, implementation, str(tmp_path / "log")) as server:
        with ServingClient(server.address, "art") as client:
            digits, probabilities = client.answer(queries)
            np.testing.assert_array_equal(digits, expected["digit"].numpy())
            np.testing.assert_allclose(probabilities, expected["probabilities"].numpy(), atol=1e-6)
            with pytest.raises(ServingError) as caught:
                client.answer(["c9k8j3f1??z"])
            assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert "query must be 4 letter-digit pairs" in caught.value.message


def seqgen(*args):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "tfx_seqgen", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.e2e
def test_generate_command_prints_json_and_plots(lcd_server, tmp_path):
    plot = tmp_path / "t.png"
    result = seqgen(
        "generate", "--server", lcd_server.address, "--x0", "3", "--period", "1", "2",
        "--samples", "4", "--seed", "7", "--json", "--plot", str(plot),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == "lcd" and report["periods"] == [1.0, 2.0]
    assert np.asarray(report["trajectories"]).shape == (2, 4, 26)
    assert np.allclose(np.asarray(report["trajectories"])[:, :, 0], 3.0)
    assert plot.stat().st_size > 1000
    refused = seqgen("generate", "--server", lcd_server.address, "--x0", "3", "--period", "1",
                     "--samples", "0")  # fmt: skip
    assert refused.returncode == 2
    assert "says INVALID_ARGUMENT: assertion failed: [num_samples must be in" in refused.stderr
    # Trained on periods 0.5-4.5: a period of 9 is served, with a warning.
    beyond = seqgen("generate", "--server", lcd_server.address, "--x0", "3", "--period", "2", "9",
                    "--samples", "2", "--json")  # fmt: skip
    assert beyond.returncode == 0, beyond.stderr
    assert "1 of 2 rows (x0=3 period=9) lie outside the x0 and period ranges" in beyond.stderr
    negative = seqgen("generate", "--server", lcd_server.address, "--x0", "3", "--period", "-2")
    assert negative.returncode == 2
    assert "period must be > 0" in negative.stderr


@pytest.mark.e2e
def test_answer_command(art_run, tmp_path):
    base = os.path.dirname(local_runs.pushed_to(art_run))
    with ServerProcess("art", base, "builtin", str(tmp_path / "log")) as server:
        result = seqgen("answer", "--server", server.address, "--query", "c9k8j3f1??k", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)["answers"][0]
    assert answer["query"] == "c9k8j3f1??k" and 0 <= answer["digit"] <= 9
    assert 0 < answer["probability"] <= 1
