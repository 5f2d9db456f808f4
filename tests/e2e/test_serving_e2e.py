"""Pushed models served over TF Serving's gRPC and REST APIs.

Every test runs against the built-in server, and again against the real
`tensorflow_model_server` when it is on PATH (reported as skipped when not).
"""

import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import run_concurrently
from tfx_seqgen.components.pusher import publish
from tfx_seqgen.pipeline import local_runs
from tfx_seqgen.serving.client import ServingClient, ServingError
from tfx_seqgen.serving.process import Batching, ServerProcess
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


def rest(server, path, document=None, method=None):
    """(HTTP status, parsed JSON body) of a REST call; a bytes `document` is sent as is."""
    data = document if isinstance(document, bytes) or document is None else None
    if data is None and document is not None:
        data = json.dumps(document).encode()
    request = urllib.request.Request(server.rest_url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def rest_generate(**changes):
    values = {**GENERATE, **changes}
    return {"signature_name": "generate", "inputs": values}


@pytest.mark.e2e
def test_rest_answers_as_grpc_does(lcd_server, client):
    version = max(int(v) for v in os.listdir(lcd_server.base_path) if v.isdigit())
    status, answer = rest(lcd_server, "/v1/models/lcd:predict", rest_generate())
    assert status == 200, answer
    outputs = answer["outputs"]
    served, _ = client.predict(generate_inputs(), "generate")
    np.testing.assert_array_equal(
        np.asarray(outputs["trajectories"], np.float32), served["trajectories"]
    )
    assert outputs["in_training_range"] == [True, True]
    # The row format: every row repeats num_samples and steps.
    rows = [
        {"x0": x0, "period": period, "seed": seed, "num_samples": 5, "steps": 12}
        for x0, period, seed in zip(
            GENERATE["x0"], GENERATE["period"], GENERATE["seed"], strict=True
        )
    ]
    status, by_row = rest(lcd_server, "/v1/models/lcd:predict",
                          {"signature_name": "generate", "instances": rows})  # fmt: skip
    assert status == 200, by_row
    assert [row["trajectories"] for row in by_row["predictions"]] == outputs["trajectories"]
    status, answer_mixed = rest(lcd_server, "/v1/models/lcd:predict", {
        "signature_name": "generate", "instances": [rows[0], {**rows[1], "num_samples": 6}],
    })  # fmt: skip
    assert status == 400 and "num_samples must be the same in every row" in answer_mixed["error"]
    status, versioned = rest(
        lcd_server, f"/v1/models/lcd/versions/{version}:predict", rest_generate()
    )
    assert status == 200 and versioned == answer
    assert rest(lcd_server, "/v1/models/lcd") == (
        200,
        {
            "model_version_status": [
                {
                    "version": str(version),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        },
    )
    status, metadata = rest(lcd_server, "/v1/models/lcd/metadata")
    assert status == 200
    assert metadata["model_spec"]["name"] == "lcd"
    assert metadata["model_spec"]["version"] == str(version)
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert {"generate", "serving_default", "evaluate"} <= set(signatures)
    assert signatures["generate"]["inputs"]["x0"]["dtype"] == "DT_FLOAT"


REST_ERRORS = {
    # name: (path, body, method, HTTP status, words the error must hold)
    "unknown model": ("/v1/models/weather:predict", rest_generate(), None, 404, "weather"),
    "unknown version": ("/v1/models/lcd/versions/1:predict", rest_generate(), None, 404, "lcd"),
    "unknown signature": (
        "/v1/models/lcd:predict",
        {"signature_name": "sample", "inputs": GENERATE},
        None,
        400,
        "sample",
    ),
    "bad JSON": ("/v1/models/lcd:predict", b"{x0: 3}", None, 400, "JSON Parse error"),
    "neither instances nor inputs": (
        "/v1/models/lcd:predict",
        {"signature_name": "generate"},
        None,
        400,
        "Missing 'inputs' or 'instances' key",
    ),
    "float for an integer": (
        "/v1/models/lcd:predict",
        rest_generate(seed=[7.5, 8]),
        None,
        400,
        "7.5",
    ),
    "num_samples=0": (
        "/v1/models/lcd:predict",
        rest_generate(num_samples=0),
        None,
        400,
        "num_samples",
    ),
    "period=-2": (
        "/v1/models/lcd:predict",
        rest_generate(period=[-2.0, 1.0]),
        None,
        400,
        "period must be > 0",
    ),
    "DELETE": ("/v1/models/lcd", None, "DELETE", 400, "Malformed request"),
    "GET predict": ("/v1/models/lcd:predict", None, None, 400, "Malformed request"),
    "unknown version status": ("/v1/models/lcd/versions/1", None, None, 404, "version 1"),
}


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(REST_ERRORS))
def test_rest_errors_carry_tf_servings_http_status_and_the_server_keeps_serving(lcd_server, name):
    path, document, method, expected, words = REST_ERRORS[name]
    status, answer = rest(lcd_server, path, document, method)
    assert status == expected, answer
    assert words in answer["error"], answer
    assert rest(lcd_server, "/v1/models/lcd:predict", rest_generate())[0] == 200


@pytest.mark.e2e
def test_builtin_rest_refuses_shapes_unknown_fields_and_oversized_bodies(lcd_server):
    """Stricter than tensorflow_model_server, which leaves these to the graph or ignores them."""
    if "built-in" not in lcd_server.kind:
        pytest.skip("the built-in server's own checks")
    predict_url = "/v1/models/lcd:predict"
    status, answer = rest(lcd_server, predict_url, rest_generate(x0=[[3.0], [2.5]]))
    assert status == 400
    assert answer["error"] == (
        "input x0 has shape [2, 1], but the signature expects shape [None] (None: any size)"
    )
    status, answer = rest(lcd_server, predict_url, {**rest_generate(), "signature": "generate"})
    assert status == 400 and "Unknown key(s) in the request body: signature" in answer["error"]
    # A body announced over the 16 MB limit is answered before any of it is sent.
    host, port = lcd_server.rest_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            f"POST {predict_url} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Length: {20 * 1024 * 1024}\r\n\r\n".encode()
        )
        reply = connection.makefile("rb").read().decode()
    assert reply.startswith("HTTP/1.1 413"), reply
    assert "larger than the server's limit of 16777216 bytes" in reply
    assert rest(lcd_server, predict_url, rest_generate())[0] == 200


MODEL_CONFIG = """
model_config_list {{
  config {{
    name: "lcd"
    base_path: "{lcd}"
    model_version_policy {{ specific {{ versions: {old} versions: {new} }} }}
    version_labels {{ key: "stable" value: {old} }}
    version_labels {{ key: "canary" value: {new} }}
  }}
  {art}
}}
"""


@pytest.mark.e2e
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_one_process_serves_lcd_and_art_from_a_model_config_file(
    lcd_run, art_run, implementation, tmp_path
):
    lcd = tmp_path / "lcd"
    shutil.copytree(os.path.dirname(local_runs.pushed_to(lcd_run)), lcd)
    old = max(int(v) for v in os.listdir(lcd) if v.isdigit())
    new = publish(local_runs.model_dir(lcd_run), str(lcd))
    art = f'config {{ name: "art" base_path: "{os.path.dirname(local_runs.pushed_to(art_run))}" }}'
    config = tmp_path / "models.config"
    config.write_text(MODEL_CONFIG.format(lcd=lcd, old=old, new=new, art=art))
    queries = ["c9k8j3f1??k", "a1b2c3d4??d"]
    with ServerProcess(
        "lcd", None, implementation, str(tmp_path / "log"), model_config_file=str(config),
        config_poll_seconds=1,
    ) as server:  # fmt: skip
        with ServingClient(server.address, "lcd") as lcd_client:
            assert lcd_client.versions() == {old: "AVAILABLE", new: "AVAILABLE"}
            latest, _ = lcd_client.predict(generate_inputs(), "generate")
            assert lcd_client.last_version == new
            lcd_client.predict(generate_inputs(), "generate", version_label="stable")
            assert lcd_client.last_version == old
            lcd_client.predict(generate_inputs(), "generate", version_label="canary")
            assert lcd_client.last_version == new
        status, answer = rest(server, "/v1/models/lcd/labels/canary:predict", rest_generate())
        assert status == 200
        np.testing.assert_array_equal(
            np.asarray(answer["outputs"]["trajectories"], np.float32), latest["trajectories"]
        )
        with ServingClient(server.address, "art") as art_client:
            digits, probabilities = art_client.answer(queries)
        status, answer = rest(server, "/v1/models/art:predict",
                              {"signature_name": "answer", "instances": queries})  # fmt: skip
        assert status == 200 and [r["digit"] for r in answer["predictions"]] == digits.tolist()
        # A bad edit keeps the last good config serving; a good one drops ART.
        config.write_text("model_config_list { config { name: 'lcd' } }")
        time.sleep(3)
        assert rest(server, "/v1/models/art")[0] == 200
        config.write_text(MODEL_CONFIG.format(lcd=lcd, old=old, new=new, art=""))
        deadline = time.monotonic() + 60
        while rest(server, "/v1/models/art")[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert rest(server, "/v1/models/art:predict",
                    {"signature_name": "answer", "instances": queries})[0] == 404  # fmt: skip
        assert rest(server, "/v1/models/lcd:predict", rest_generate())[0] == 200


@pytest.mark.e2e
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_batching_merges_concurrent_requests_without_changing_any_result(
    lcd_run, implementation, tmp_path
):
    base = os.path.dirname(local_runs.pushed_to(lcd_run))
    direct = tf.saved_model.load(local_runs.pushed_to(lcd_run)).signatures["generate"]

    def inputs(client_number, request_number):
        rows = 1 + (client_number + request_number) % 3
        seeds = [1000 * client_number + 10 * request_number + r for r in range(rows)]
        return {
            "x0": np.linspace(2.5, 3.5, rows, dtype=np.float32),
            "period": np.full(rows, 2.0, np.float32),
            "seed": np.asarray(seeds, np.int64),
            "num_samples": np.full(rows, 4, np.int32),  # per row: the batcher needs a batch axis
            "steps": np.full(rows, 10, np.int32),
        }

    served, errors = {}, []
    batching = Batching(max_batch_size=32, batch_timeout_micros=20_000)
    with ServerProcess(
        "lcd", base, implementation, str(tmp_path / "log"), batching=batching
    ) as server:

        def work(client_number):
            with ServingClient(server.address, "lcd", timeout=120) as client:
                for request_number in range(6):
                    try:
                        outputs, _ = client.predict(
                            inputs(client_number, request_number), "generate"
                        )
                        served[client_number, request_number] = outputs["trajectories"]
                    except Exception as error:  # every failure is counted
                        errors.append(error)

        run_concurrently([lambda c=c: work(c) for c in range(8)])
        with ServingClient(server.address, "lcd") as client:
            # The client sends num_samples and steps per row, so it works here as is...
            from_client = client.generate(**GENERATE)
            # ...while a request with scalars is refused, as TF Serving's batcher does.
            with pytest.raises(ServingError) as caught:
                client.predict(generate_inputs(), "generate")
        batches = None
        if "built-in" in server.kind:
            samples = prometheus_samples(server)
            batches = (
                samples[(":seqgen:serving:batch_requests_sum", ())],
                samples[(":seqgen:serving:batch_requests_count", ())],
            )
    assert not errors, errors[:3]
    for (client_number, request_number), trajectories in served.items():
        expected = direct(
            **{k: tf.constant(v) for k, v in inputs(client_number, request_number).items()}
        )
        # The same draws: a batch changes only the matrix products' shapes, and
        # with them the float rounding (docs/pipeline.md states this bound, 1e-5).
        # A row given another request's seed or x0 would be off by 1e-2 or more.
        np.testing.assert_allclose(trajectories, expected["trajectories"].numpy(), atol=1e-5)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "at least one dimension" in caught.value.message
    expected = direct(**{k: tf.constant(v) for k, v in generate_inputs().items()})
    expected = expected["trajectories"].numpy()
    assert from_client.shape == (2, 5, 13)
    np.testing.assert_allclose(from_client, expected, atol=1e-5)
    if batches is not None:
        requests, runs = batches
        assert requests >= 48 and runs < requests, batches  # some requests shared a run


def prometheus_samples(server) -> dict:
    """{(metric name, sorted label items): value} from the server's metrics page."""
    with urllib.request.urlopen(server.rest_url + "/monitoring/prometheus/metrics") as page:
        text = page.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.mark.e2e
def test_metrics_count_requests_per_model_signature_and_status(lcd_server, client):
    if "built-in" not in lcd_server.kind:
        pytest.skip("tensorflow_model_server names its own label set")

    def count(status, signature, entrypoint):
        labels = {"model_name": "lcd", "status": status, "signature_name": signature,
                  "entrypoint": entrypoint}  # fmt: skip
        # prometheus_client's parser names a counter's samples `..._total` whatever the
        # text says (the text itself has TF Serving's name: tests/serving).
        key = (":tensorflow:serving:request_count_total", tuple(sorted(labels.items())))
        return prometheus_samples(lcd_server).get(key, 0)

    before = {
        "grpc ok": count("OK", "generate", "GRPC"),
        "grpc bad": count("INVALID_ARGUMENT", "generate", "GRPC"),
        "rest ok": count("OK", "generate", "REST"),
        "rest bad": count("INVALID_ARGUMENT", "generate", "REST"),
    }
    for _ in range(3):
        client.generate(**GENERATE)
    with pytest.raises(ServingError):
        client.generate(**{**GENERATE, "num_samples": 0})
    for _ in range(2):
        assert rest(lcd_server, "/v1/models/lcd:predict", rest_generate())[0] == 200
    assert rest(lcd_server, "/v1/models/lcd:predict", rest_generate(steps=0))[0] == 400
    assert count("OK", "generate", "GRPC") - before["grpc ok"] == 3
    assert count("INVALID_ARGUMENT", "generate", "GRPC") - before["grpc bad"] == 1
    assert count("OK", "generate", "REST") - before["rest ok"] == 2
    assert count("INVALID_ARGUMENT", "generate", "REST") - before["rest bad"] == 1
    latency = {
        key: value
        for key, value in prometheus_samples(lcd_server).items()
        if key[0] == ":tensorflow:serving:request_latency_count"
        and ("API", "Predict") in key[1]
        and ("entrypoint", "REST") in key[1]
    }
    assert sum(latency.values()) >= 3


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
def test_art_answers_over_grpc_and_rest_as_the_pushed_model_does(art_run, implementation, tmp_path):
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
        # REST's row format: one prediction per query.
        status, answer = rest(server, "/v1/models/art:predict",
                              {"signature_name": "answer", "instances": queries})  # fmt: skip
        assert status == 200, answer
        assert [row["digit"] for row in answer["predictions"]] == digits.tolist()
        np.testing.assert_array_equal(
            np.asarray([row["probabilities"] for row in answer["predictions"]], np.float32),
            probabilities,
        )


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
    printed = np.asarray(report["trajectories"])
    # The same draws as the pushed model's own signature: one row per period,
    # seeds 7 and 8 (the given seed, then one more per row), 25 steps by default.
    version = max(int(v) for v in os.listdir(lcd_server.base_path) if v.isdigit())
    direct = tf.saved_model.load(os.path.join(lcd_server.base_path, str(version)))
    expected = direct.signatures["generate"](
        x0=tf.constant([3.0, 3.0]),
        period=tf.constant([1.0, 2.0]),
        seed=tf.constant([7, 8], tf.int64),
        num_samples=tf.constant([4, 4]),
        steps=tf.constant([25, 25]),
    )["trajectories"].numpy()
    assert printed.shape == (2, 4, 26) and np.isfinite(printed).all()
    np.testing.assert_allclose(printed, expected, rtol=1e-6, atol=1e-6)
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
    direct = tf.saved_model.load(local_runs.pushed_to(art_run)).signatures["answer"]
    expected = direct(query=tf.constant(["c9k8j3f1??k"]))
    digit = int(expected["digit"].numpy()[0])
    assert answer["query"] == "c9k8j3f1??k" and answer["digit"] == digit
    assert answer["probability"] == pytest.approx(expected["probabilities"].numpy()[0, digit])
