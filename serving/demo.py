"""The demo's last step: serve a finished run's pushed model and generate from it.

This is what a user of the pipeline does next, so `seqgen run` ends with it
for a task that has a closing view (tasks.Task.closing_view): the view is
handed the served model's `generate` and says what it drew.
"""

from __future__ import annotations

import os
from typing import Callable

from tfx_seqgen.pipeline import local_runs
from tfx_seqgen.serving.client import ServingClient
from tfx_seqgen.serving.process import ServerProcess


def show_trajectories(
    run: local_runs.LocalRun, view: Callable[..., str], implementation: str = "auto"
) -> str:
    """Serves the pushed model over gRPC and returns `view(generate, run)`, with its source.

    The server is tensorflow_model_server when on PATH, else the built-in one,
    in its own process, logging to `<pipeline root>/model_server.log`. A run
    that was not blessed pushed nothing: then the Trainer's candidate is loaded
    in-process instead, and the report says so.
    """
    pushed = local_runs.pushed_to(run)
    if pushed is None:
        generate = local_runs.saved_model_generator(local_runs.model_dir(run))
        report = view(generate, run)
        source = "the unblessed candidate, loaded in-process (nothing was pushed)"
    else:
        log_path = os.path.join(run.pipeline_root, "model_server.log")
        name, base_path = os.path.basename(os.path.dirname(pushed)), os.path.dirname(pushed)
        with ServerProcess(name, base_path, implementation, log_path) as server:
            with ServingClient(server.address, name) as client:
                report = view(client.generate, run)
                source = (
                    f"model {name!r} version {client.last_version}, served over gRPC at "
                    f"{server.address} by {server.kind} "
                    f"(log: {log_path})"
                )
    return f"Generated trajectories from {source}; {report}"
