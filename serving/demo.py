"""The demo's last step: serve a finished LCD run's pushed model and generate from it.

This is what a user of the pipeline does next, so `seqgen run --task lcd`
ends with it (the task registry names it as LCD's closing view).
"""

from __future__ import annotations

import os

from tfx_seqgen.components.lcd_data import LcdDataset
from tfx_seqgen.pipeline import local_runs, trajectories
from tfx_seqgen.serving.client import ServingClient
from tfx_seqgen.serving.process import ServerProcess


def show_trajectories(run: local_runs.LocalRun, implementation: str = "auto") -> str:
    """Serves the pushed model over gRPC, draws 100 trajectories per eval period; a report.

    The server is tensorflow_model_server when on PATH, else the built-in one,
    in its own process, logging to `<pipeline root>/model_server.log`. A run
    that was not blessed pushed nothing: then the Trainer's candidate is loaded
    in-process instead, and the report says so.
    """
    dataset = LcdDataset(**run.data_params)
    pushed = local_runs.pushed_to(run)
    if pushed is None:
        generate = local_runs.saved_model_generator(local_runs.model_dir(run))
        results = trajectories.generate_per_period(generate, dataset, dataset.eval_periods)
        source = "the unblessed candidate, loaded in-process (nothing was pushed)"
    else:
        log_path = os.path.join(run.pipeline_root, "model_server.log")
        name, base_path = os.path.basename(os.path.dirname(pushed)), os.path.dirname(pushed)
        with ServerProcess(name, base_path, implementation, log_path) as server:
            with ServingClient(server.address, name) as client:
                results = trajectories.generate_per_period(
                    client.generate, dataset, dataset.eval_periods
                )
                source = (
                    f"model {name!r} version {client.last_version}, served over gRPC at "
                    f"{server.address} by {server.kind} "
                    f"(log: {log_path})"
                )
    path = trajectories.plot(results, os.path.join(run.pipeline_root, "trajectories.png"))
    return (
        f"Generated trajectories from {source}; x0 = 3.0, 100 samples per period:\n"
        f"{trajectories.format_table(results)}\nPlot: {path}"
    )
