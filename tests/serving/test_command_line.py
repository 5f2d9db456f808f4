"""`seqgen serve` takes TF Serving's own command line (serving_config.md's flags)."""

import asyncio
import threading
import time
import urllib.error
import urllib.request

import grpc
import pytest

from tfx_seqgen import cli
from tfx_seqgen.serving import metrics, monitoring_config, predict, process
from tfx_seqgen.serving.server import StandInServer
from tfx_seqgen.serving.server_config import single


def parsed(*argv) -> dict:
    """The options `seqgen serve ARGV` runs with (nothing is started)."""
    return vars(cli.build_parser().parse_args(["serve", *argv]))


def test_tf_serving_flags_mean_what_they_mean_to_tensorflow_model_server(tmp_path):
    ours = parsed("--model-name", "lcd", "--model-base-path", "/models/lcd", "--poll-seconds", "2")
    theirs = parsed(
        "--model_name=lcd",
        "--model_base_path=/models/lcd",
        "--file_system_poll_wait_seconds=2",
        "--rest_api_timeout_in_ms=5000",
        "--max_num_load_retries=0",
        f"--monitoring_config_file={tmp_path / 'monitoring.config'}",
    )
    for name in ("model_name", "model_base_path", "poll_seconds"):
        assert theirs[name] == ours[name], name
    assert (ours["rest_api_timeout_in_ms"], ours["max_num_load_retries"]) == (30000, 5)
    assert (theirs["rest_api_timeout_in_ms"], theirs["max_num_load_retries"]) == (5000, 0)
    assert ours["load_retry_interval_micros"] == 60_000_000  # TF Serving's defaults


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--model_name=lcd", "--enable_model_warmup"],
            "unrecognized arguments: --enable_model_warmup",
        ),
        (["--file_system_poll_wait_seconds=-1"], "-1 is not supported: use 0"),
        (["--rest_api_timeout_in_ms=0"], "0 is too small"),
        (["--max_num_load_retries=-2"], "-2 is negative"),
    ],
)
def test_a_flag_it_does_not_take_is_refused_naming_it(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--implementation", "builtin", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def write(path, text):
    path.write_text(text)
    return str(path)


def test_the_monitoring_config_file_is_read_as_tf_serving_reads_it(tmp_path):
    enabled = 'prometheus_config {\n  enable: true\n  path: "/metrics/here"\n}\n'
    assert monitoring_config.metrics_path(write(tmp_path / "a", enabled)) == "/metrics/here"
    default = "prometheus_config { enable: true }"
    assert monitoring_config.metrics_path(write(tmp_path / "b", default)) == metrics.PATH
    assert monitoring_config.metrics_path(write(tmp_path / "c", "")) is None  # not enabled
    off = 'prometheus_config { enable: false path: "/m" }'
    assert monitoring_config.metrics_path(write(tmp_path / "d", off)) is None
    with pytest.raises(monitoring_config.BadMonitoringConfig, match="is not a MonitoringConfig"):
        monitoring_config.metrics_path(write(tmp_path / "e", "prometheus { enable: true }"))
    with pytest.raises(monitoring_config.BadMonitoringConfig, match="cannot be read"):
        monitoring_config.metrics_path(str(tmp_path / "missing"))


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.fixture
def server(tmp_path):
    served = StandInServer(
        single("lcd", str(tmp_path / "nothing-yet")),
        port=0,
        rest_port=0,
        metrics_path="/metrics/here",
        rest_timeout_seconds=0.2,
    ).start()
    yield served
    served.stop()


def test_metrics_are_served_where_the_monitoring_config_says_and_every_path_answers_json(server):
    root = f"http://{server.rest_address}"
    status, kind, text = get(root + "/metrics/here")
    assert status == 200 and kind.startswith("text/plain") and "# TYPE" in text
    for path in (metrics.PATH, "/nothing/here", "/"):
        status, kind, text = get(root + path)
        assert (status, kind) == (404, "application/json"), path
        assert text == f'{{"error": "Not found: {path}"}}'
    # Paths of the API match without regard to case, as TF Serving's do.
    status, kind, text = get(root + "/V1/MODELS/lcd")
    assert (status, kind) == (404, "application/json")
    assert "lcd" in text and "error" in text


def test_a_rest_call_past_the_timeout_gets_deadline_exceeded_and_still_counts_in_flight(server):
    release = threading.Event()

    def slow():
        release.wait(10)
        return {}

    rest = server.rest
    call = asyncio.run_coroutine_threadsafe(rest.run(slow), rest._loop)
    with pytest.raises(predict.ServingStatus) as refused:
        call.result(timeout=10)
    assert refused.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "within 200 ms (--rest_api_timeout_in_ms)" in refused.value.message
    assert rest._in_flight == 1  # its work still runs on the pool
    release.set()
    deadline = time.monotonic() + 10
    while rest._in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rest._in_flight == 0


def test_the_real_binary_gets_tf_servings_own_flags(monkeypatch, tmp_path):
    monkeypatch.setattr(process, "model_server_binary", lambda: "/usr/bin/tensorflow_model_server")
    config = write(tmp_path / "monitoring.config", "prometheus_config { enable: true }")
    command = process.server_command(
        "tensorflow_model_server",
        "lcd",
        str(tmp_path / "lcd"),
        8500,
        poll_seconds=0,
        rest_port=8501,
        monitoring_config=config,
        flags=["--rest_api_timeout_in_ms=5000"],
    )
    assert command == [
        "/usr/bin/tensorflow_model_server",
        "--port=8500",
        "--rest_api_port=8501",
        f"--monitoring_config_file={config}",
        "--model_name=lcd",
        f"--model_base_path={tmp_path / 'lcd'}",
        "--file_system_poll_wait_seconds=0",
        "--rest_api_timeout_in_ms=5000",
    ]


def test_the_request_counter_is_exported_under_tf_servings_name():
    server_metrics = metrics.ServerMetrics()
    with server_metrics.measure("lcd", "Predict", metrics.GRPC, "generate"):
        pass
    text = server_metrics.exposition().decode()
    assert "# TYPE :tensorflow:serving:request_count counter" in text
    labels = 'entrypoint="GRPC",model_name="lcd",signature_name="generate",status="OK"'
    assert f":tensorflow:serving:request_count{{{labels}}} 1.0" in text
    assert "request_count_total" not in text
