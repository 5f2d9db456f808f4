"""A Trainer that trains on several worker processes of this machine.

With `workers: N` in its custom_config (N > 1) the executor starts N copies
of TFX's own Trainer executor (`tfx.scripts.run_executor`, the command
Vertex AI runs on each replica), each with a TF_CONFIG naming all N on
loopback ports, so run_fn trains with MultiWorkerMirroredStrategy
(models.cluster) exactly as on Vertex AI or a TFJob. With one worker it is
TFX's GenericExecutor.

It supervises the group: each worker logs to `<model_run>/workers/worker-<i>.log`
(its pid beside it), the chief's epoch lines are repeated here as progress,
and when a worker dies of a signal (killed, out of memory, or ended by its
watchdog when its peers were unreachable) all are stopped and started
again, up to `worker_restarts` times; training resumes from the last
epoch-end checkpoint. A worker that fails with an error of its
own (a bad config, a bug) is not restarted: its error is raised here with
the end of its log.

TensorFlow's gRPC server listens on all interfaces of the port, whatever
host TF_CONFIG names: run it on a machine whose ports are not open to others.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Dict, List

from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import json_utils
from tfx.v1.components import Trainer

_log = logging.getLogger(__name__)

EXECUTOR = f"{trainer_executor.GenericExecutor.__module__}.GenericExecutor"
POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 10
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def free_ports(count: int) -> List[int]:
    """Ports the system has free on loopback now (a small race remains, as in TF's tests)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _end_with_parent() -> None:
    """In a worker before it starts: Linux kills it when the launcher dies, however the
    launcher dies (no worker is left training, or waiting for its peers, alone)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the launcher's own clean-up only
        pass


def tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class _Group:
    """N worker processes started together, each with its TF_CONFIG and log file."""

    def __init__(self, command: List[str], workers: int, log_dir: str, attempt: int):
        ports = free_ports(workers)
        cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        self.logs = [os.path.join(log_dir, f"worker-{i}.log") for i in range(workers)]
        self.processes = []
        for index, log in enumerate(self.logs):
            env = dict(
                os.environ,
                TF_CONFIG=json.dumps(
                    {"cluster": cluster, "task": {"type": "worker", "index": index}}
                ),
                TF_NUM_INTRAOP_THREADS=threads,  # N workers share the machine's cores
                TF_NUM_INTEROP_THREADS=threads,
                PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
                no_proxy=",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1"])),
            )
            with open(log, "a") as out:
                out.write(f"--- attempt {attempt + 1}: TF_CONFIG {env['TF_CONFIG']}\n")
                out.flush()
                self.processes.append(
                    subprocess.Popen(
                        command,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        preexec_fn=_end_with_parent,
                    )
                )
            with open(f"{log[: -len('.log')]}.pid", "w") as f:
                f.write(str(self.processes[-1].pid))
        self._read = 0  # how far the chief's log has been repeated

    def progress(self) -> None:
        """Repeats the chief's new epoch lines in this process's log."""
        with open(self.logs[0], errors="replace") as f:
            f.seek(self._read)
            text = f.read()
        complete = text[: text.rfind("\n") + 1]
        self._read += len(complete.encode())
        for line in complete.splitlines():
            if " epoch " in line or "resumed after epoch" in line:
                _log.info("worker 0: %s", line.split("] ", 1)[-1].strip())  # no absl prefix

    def wait(self) -> tuple | None:
        """Waits until all exit 0 (returns None) or one fails: (index, exit code)."""
        while True:
            self.progress()
            codes = [p.poll() for p in self.processes]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                return failed[0]
            if all(c == 0 for c in codes):
                return None
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        """Ends the workers still running: SIGTERM, then SIGKILL after a grace period."""
        running = [p for p in self.processes if p.poll() is None]
        for p in running:
            os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for p in running:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def restartable(code: int) -> bool:
    """A worker killed by a signal (lost, out of memory, or ended by its watchdog when
    its peers were unreachable): the group may try again. Any other failure is the
    worker's own error, which a restart would repeat."""
    return code < 0


class LocalWorkersExecutor(trainer_executor.GenericExecutor):
    """TFX's Trainer executor, run by `workers` local processes (see the module)."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        settings = json_utils.loads(
            exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null"
        )
        settings = settings or {}
        workers, restarts = int(settings.get("workers", 1)), int(settings.get("worker_restarts", 2))
        if workers <= 1:
            return super().Do(input_dict, output_dict, exec_properties)
        command = [
            sys.executable,
            "-m",
            "tfx.scripts.run_executor",
            f"--executor_class_path={EXECUTOR}",
            f"--inputs-base64={_encoded(artifact_utils.jsonify_artifact_dict(input_dict))}",
            f"--outputs-base64={_encoded(artifact_utils.jsonify_artifact_dict(output_dict))}",
            f"--exec-properties-base64={_encoded(json.dumps(exec_properties))}",
        ]
        model_run = artifact_utils.get_single_uri(
            output_dict[standard_component_specs.MODEL_RUN_KEY]
        )
        log_dir = os.path.join(model_run, "workers")
        os.makedirs(log_dir, exist_ok=True)
        for attempt in range(restarts + 1):
            _log.info(
                "Trainer: starting %d workers (attempt %d of %d); logs in %s",
                workers,
                attempt + 1,
                restarts + 1,
                log_dir,
            )
            group = _Group(command, workers, log_dir, attempt)
            try:
                failed = group.wait()
            finally:
                group.stop()
            if failed is None:
                return None
            index, code = failed
            log = group.logs[index]
            if not restartable(code):
                raise RuntimeError(
                    f"Trainer worker {index} of {workers} failed (exit code {code}); the others "
                    f"were stopped. Its log is {log}; it ends:\n{tail(log)}"
                )
            _log.warning(
                "Trainer worker %d of %d ended with exit code %d (%s); %s",
                index,
                workers,
                code,
                f"signal {-code}",
                "starting the group again from its last checkpoint"
                if attempt < restarts
                else "no restarts left",
            )
        raise RuntimeError(
            f"Trainer: worker {index} of {workers} ended with exit code {code} on the last of "
            f"{restarts + 1} attempts (worker_restarts={restarts}). Its log is {log}; it "
            f"ends:\n{tail(log)}"
        )


class WorkersTrainer(Trainer):
    """TFX's Trainer whose `workers` setting trains on that many local processes."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(LocalWorkersExecutor)
