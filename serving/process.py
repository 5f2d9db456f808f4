"""A model server in its own process, for the demo and the tests.

It runs the real `tensorflow_model_server` when that is on PATH (or when
asked for), otherwise `seqgen serve --implementation builtin`; either way
callers get addresses that speak TF Serving's gRPC and REST APIs.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from tfx_seqgen.serving import metrics
from tfx_seqgen.serving.batching import Batcher
from tfx_seqgen.serving.client import ServingClient
from tfx_seqgen.serving.server import model_server_binary

IMPLEMENTATIONS = ("auto", "builtin", "tensorflow_model_server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config_file(name: str, text: str) -> str:
    """`text` written to a new temporary file called `name`, for tensorflow_model_server."""
    path = os.path.join(tempfile.mkdtemp(prefix="seqgen-"), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def monitoring_config_file() -> str:
    """A TF Serving monitoring config that exports Prometheus metrics where the
    built-in server does; tensorflow_model_server exports none without one."""
    return _config_file(
        "monitoring.config",
        f'prometheus_config {{\n  enable: true\n  path: "{metrics.PATH}"\n}}\n',
    )


@dataclasses.dataclass(frozen=True)
class Batching:
    """Server-side batching options, for either server."""

    max_batch_size: int = 128
    batch_timeout_micros: int = 0

    def batcher(self) -> Batcher:
        return Batcher(self.max_batch_size, self.batch_timeout_micros)

    def parameters_file(self) -> str:
        """TF Serving's --batching_parameters_file with these options."""
        return _config_file(
            "batching.config",
            f"max_batch_size {{ value: {self.max_batch_size} }}\n"
            f"batch_timeout_micros {{ value: {self.batch_timeout_micros} }}\n",
        )

    def builtin_flags(self) -> list:
        return [
            "--enable-batching",
            f"--max-batch-size={self.max_batch_size}",
            f"--batch-timeout-micros={self.batch_timeout_micros}",
        ]


def server_command(
    implementation: str,
    model_name: str,
    base_path: str,
    port: int,
    poll_seconds: float = 1.0,
    rest_port: int = 0,
    model_config_file: str | None = None,
    config_poll_seconds: float = 0.0,
    batching: Batching | None = None,
    monitoring_config: str | None = None,
    flags: tuple = (),
) -> list:
    """The command line that serves `base_path` as `model_name` (or the models of
    `model_config_file`) on `port` (gRPC) and `rest_port` (REST; 0 for none).

    `flags` are TF Serving flags both servers take as they are (e.g.
    `--rest_api_timeout_in_ms=5000`); a `monitoring_config` file replaces the one
    that exports Prometheus metrics where the built-in server does."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"implementation={implementation!r} is unknown; allowed: {', '.join(IMPLEMENTATIONS)}."
        )
    binary = model_server_binary()
    if implementation == "tensorflow_model_server" or (implementation == "auto" and binary):
        if not binary:
            raise FileNotFoundError("tensorflow_model_server is not on PATH.")
        if model_config_file:
            models = [
                f"--model_config_file={os.path.abspath(model_config_file)}",
                f"--model_config_file_poll_wait_seconds={round(config_poll_seconds)}",
            ]
        else:
            models = [
                f"--model_name={model_name}",
                f"--model_base_path={os.path.abspath(base_path)}",
            ]
        return [
            binary,
            f"--port={port}",
            f"--rest_api_port={rest_port}",
            f"--monitoring_config_file={monitoring_config or monitoring_config_file()}",
            *models,
            f"--file_system_poll_wait_seconds={max(1, round(poll_seconds)) if poll_seconds else 0}",
            *flags,
            *(
                ["--enable_batching", f"--batching_parameters_file={batching.parameters_file()}"]
                if batching
                else []
            ),
        ]
    if model_config_file:
        models = [
            f"--model-config-file={os.path.abspath(model_config_file)}",
            f"--model-config-file-poll-wait-seconds={config_poll_seconds}",
        ]
    else:
        models = [f"--model-name={model_name}", f"--model-base-path={os.path.abspath(base_path)}"]
    return [
        sys.executable,
        "-m",
        "tfx_seqgen",
        "serve",
        "--implementation=builtin",
        f"--port={port}",
        f"--rest-api-port={rest_port}",
        *models,
        f"--poll-seconds={poll_seconds}",
        *(batching.builtin_flags() if batching else []),
        *(
            [f"--monitoring_config_file={os.path.abspath(monitoring_config)}"]
            if monitoring_config
            else []
        ),
        *flags,
    ]


class ServerProcess:
    """`with ServerProcess(...) as server:` serves until the block ends.

    `server.address` is its gRPC address, `server.rest_url` its REST API's root.
    With `model_config_file`, the server serves that file's models and
    `model_name` is the one waited for at start-up.
    """

    def __init__(
        self,
        model_name: str,
        base_path: str,
        implementation: str = "auto",
        log_path: str | None = None,
        startup_timeout: float = 180.0,
        poll_seconds: float = 1.0,
        model_config_file: str | None = None,
        config_poll_seconds: float = 0.0,
        batching: Batching | None = None,
    ):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.rest_port = free_port()
        self.rest_url = f"http://127.0.0.1:{self.rest_port}"
        self.model_name = model_name
        self.command = server_command(
            implementation,
            model_name,
            base_path,
            self.port,
            poll_seconds,
            self.rest_port,
            model_config_file,
            config_poll_seconds,
            batching,
        )
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    @property
    def kind(self) -> str:
        """Which server this is, in words."""
        builtin = self.command[0] == sys.executable
        return "the built-in server (seqgen serve)" if builtin else "tensorflow_model_server"

    @property
    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> ServerProcess:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=log)
        finally:
            if self.log_path:
                log.close()
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with ServingClient(self.address, self.model_name, retries=0) as client:
            while True:
                if self.process.poll() is not None:
                    where = f"; its log is {self.log_path}" if self.log_path else ""
                    raise RuntimeError(
                        f"the model server exited with status {self.process.returncode} "
                        f"before serving {self.model_name!r}{where}"
                    )
                try:
                    client.wait_until_available(timeout=1.0)
                    return
                except TimeoutError:
                    if time.monotonic() > deadline:
                        raise

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc) -> None:
        self.stop()
