"""`seqgen serve` started with TF Serving's own command line, as serving_config.md writes it."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tfx_seqgen.pipeline import local_runs
from tfx_seqgen.serving.process import free_port

START_SECONDS = 120


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.headers["Content-Type"], answer.read().decode()


@pytest.mark.e2e
def test_the_single_model_command_line_of_tf_serving_starts_it_unchanged(lcd_run, tmp_path):
    """tensorflow_model_server --port=8500 --rest_api_port=8501 --model_name=NAME
    --model_base_path=PATH, plus a monitoring config: the same flags, the same answers."""
    base = os.path.dirname(local_runs.pushed_to(lcd_run))
    version = os.path.basename(local_runs.pushed_to(lcd_run))
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text('prometheus_config {\n  enable: true,\n  path: "/metrics"\n}\n')
    grpc_port, rest_port = free_port(), free_port()
    flags = [
        f"--port={grpc_port}",
        f"--rest_api_port={rest_port}",
        "--model_name=lcd",
        f"--model_base_path={base}",
        "--file_system_poll_wait_seconds=1",
        f"--monitoring_config_file={monitoring}",
        "--rest_api_timeout_in_ms=30000",
    ]
    command = [sys.executable, "-m", "tfx_seqgen", "serve", "--implementation=builtin", *flags]
    with open(tmp_path / "server.log", "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{rest_port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                status, _, text = get(root + "/v1/models/lcd")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the server did not answer in time"
                time.sleep(0.5)
        assert status == 200
        (entry,) = json.loads(text)["model_version_status"]
        assert (entry["version"], entry["state"]) == (version, "AVAILABLE")
        status, kind, metrics_text = get(root + "/metrics")  # where the monitoring config says
        assert status == 200 and "# TYPE :tensorflow:serving:request_count counter" in metrics_text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
