"""Beam's external SDK worker pool in a process of its own, and the options to use it.

This is how Python work runs beside Flink or Spark on Kubernetes: the runner
asks a long-lived pool (`apache_beam.runners.worker.worker_pool_main`) to
start SDK workers, which share no memory with the process that launched the
job. The e2e tests and `benchmarks.data_generation` run jobs through it with
Beam's portable runner and an embedded job service.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Iterator, List

START_TIMEOUT_SECONDS = 120


def portable_runner_args(address: str) -> List[str]:
    """Beam pipeline args that run a job's Python work in the pool at `address`."""
    return [
        "--runner=PortableRunner",
        "--job_endpoint=embed",
        "--environment_type=EXTERNAL",
        f"--environment_config={address}",
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def external_worker_pool(log_path: str) -> Iterator[tuple]:
    """Starts a pool on a free local port; yields (address, pool process).

    The pool starts each worker as `python` from PATH, so PATH leads to this
    environment's Python. Output goes to `log_path`; the pool and its workers
    are stopped on exit.
    """
    port = _free_port()
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    command = [
        sys.executable,
        "-m",
        "apache_beam.runners.worker.worker_pool_main",
        f"--service_port={port}",
    ]
    with open(log_path, "w") as log:
        pool = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if pool.poll() is not None:
                with open(log_path) as log:
                    raise RuntimeError(f"the worker pool exited at start:\n{log.read()[-3000:]}")
            try:
                socket.create_connection(("localhost", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the worker pool did not listen on port {port} within "
                        f"{START_TIMEOUT_SECONDS} s; its log is {log_path}"
                    ) from None
                time.sleep(0.5)
        yield f"localhost:{port}", pool
    finally:
        os.killpg(pool.pid, signal.SIGTERM)
        pool.wait(timeout=60)
