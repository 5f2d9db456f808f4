"""The Trainer on several workers: TF_CONFIG, the strategy, and exporting once.

Multi-worker training is TensorFlow's own: `MultiWorkerMirroredStrategy`,
configured by the `TF_CONFIG` environment variable that Vertex AI, a
Kubeflow TFJob or `components.local_workers` set for every replica. Its
failure modes are quiet by default: a malformed TF_CONFIG gives a bare JSON
error or a hang (a `ps` task is taken as the coordination leader and never
starts), and a worker whose peers never come waits an hour. So TF_CONFIG is
checked here before TensorFlow reads it, and the connection has a deadline.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping

from tfx_seqgen.errors import InvalidTrainingConfig

_log = logging.getLogger(__name__)

TRAINING_JOBS = ("chief", "worker")  # the jobs MultiWorkerMirroredStrategy trains with


class InvalidClusterConfig(InvalidTrainingConfig):
    """TF_CONFIG does not describe a cluster the Trainer can train on."""


@dataclass(frozen=True)
class Cluster:
    """One replica's view of the training cluster, from TF_CONFIG."""

    jobs: Dict[str, List[str]]  # job name -> "host:port" of each task
    task_type: str
    task_index: int

    @property
    def size(self) -> int:
        return sum(len(tasks) for tasks in self.jobs.values())

    @property
    def is_chief(self) -> bool:
        """TensorFlow's rule: the chief task, or worker 0 when there is no chief."""
        if "chief" in self.jobs:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0

    @property
    def name(self) -> str:
        address = self.jobs[self.task_type][self.task_index]
        return f"{self.task_type} {self.task_index} ({address}) of {self.size}"


def _refuse(field: str, value, allowed: str) -> InvalidClusterConfig:
    return InvalidClusterConfig(
        f"TF_CONFIG: {field}={value!r} is invalid; allowed: {allowed}. TF_CONFIG is set by "
        "the job's launcher (Vertex AI, a TFJob or `workers` in the Trainer's config); "
        "unset it to train on one worker."
    )


def _address(job: str, index: int, address) -> str:
    field = f"cluster.{job}[{index}]"
    if not isinstance(address, str) or address.count(":") != 1:
        raise _refuse(field, address, 'a "host:port" string')
    host, port = address.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _refuse(field, address, 'a "host:port" string with a port from 1 to 65535')
    return address


def parse(raw: str) -> Cluster:
    """The cluster TF_CONFIG describes, or InvalidClusterConfig naming the bad field."""
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise _refuse("(the whole value)", raw[:200], f"a JSON object ({error})") from None
    if not isinstance(config, dict):
        raise _refuse("(the whole value)", config, 'a JSON object with "cluster" and "task"')
    jobs, task = config.get("cluster"), config.get("task")
    if not isinstance(jobs, dict) or not jobs:
        raise _refuse("cluster", jobs, 'an object such as {"worker": ["host:port", ...]}')
    for job, tasks in jobs.items():
        if job not in TRAINING_JOBS:
            raise _refuse(
                "cluster",
                sorted(jobs),
                f"jobs among {TRAINING_JOBS} (MultiWorkerMirroredStrategy "
                "has no parameter servers or evaluators)",
            )
        if not isinstance(tasks, list) or not tasks:
            raise _refuse(f"cluster.{job}", tasks, 'a non-empty list of "host:port"')
    if len(jobs.get("chief", [])) > 1:
        raise _refuse("cluster.chief", jobs["chief"], "one address at most")
    addresses = {
        job: [_address(job, i, a) for i, a in enumerate(tasks)] for job, tasks in jobs.items()
    }
    flat = [a for tasks in addresses.values() for a in tasks]
    repeated = sorted({a for a in flat if flat.count(a) > 1})
    if repeated:
        raise _refuse("cluster", repeated, "each address once (one port per task)")
    if not isinstance(task, dict):
        raise _refuse("task", task, 'an object such as {"type": "worker", "index": 0}')
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type not in addresses:
        raise _refuse("task.type", task_type, f"a job of the cluster: {sorted(addresses)}")
    if not isinstance(index, int) or isinstance(index, bool):
        raise _refuse("task.index", index, "an integer")
    if not 0 <= index < len(addresses[task_type]):
        raise _refuse("task.index", index, f"0 to {len(addresses[task_type]) - 1}")
    return Cluster(addresses, task_type, index)


def from_environment(environ: Mapping[str, str] = os.environ) -> Cluster | None:
    """The cluster of this replica, or None to train alone (no TF_CONFIG, or one task)."""
    raw = environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    cluster = parse(raw)
    return cluster if cluster.size > 1 else None


# Runs beside a connecting worker: TensorFlow waits for peers in C++ holding
# Python's lock, so no thread of the worker's own could act on a deadline.
_WATCHDOG = """
import os, sys, time
parent, timeout, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
time.sleep(timeout)
if os.getppid() == parent:
    print(message, file=sys.stderr, flush=True)
    os.kill(parent, 9)
"""


def connect(cluster: Cluster, timeout: float):
    """MultiWorkerMirroredStrategy for `cluster`, once every worker has answered.

    The strategy reads TF_CONFIG itself. If the peers have not all joined and
    passed one collective within `timeout` seconds, a watchdog process prints
    a message naming this worker and ends it (SIGKILL: the local launcher may
    then start the group again).
    """
    import tensorflow as tf

    peers = [a for tasks in cluster.jobs.values() for a in tasks]
    message = (
        f"Trainer {cluster.name}: the other workers were not reachable within {timeout:g} s "
        f"(cluster {peers}). Check that all {cluster.size} workers started and their ports "
        "are free, or raise peer_timeout in the Trainer's config."
    )
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(timeout), message]
    )
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        barrier(strategy)
    finally:
        watchdog.kill()
        watchdog.wait()
    _log.info("Trainer %s: connected, %d replicas", cluster.name, strategy.num_replicas_in_sync)
    return strategy


def barrier(strategy) -> None:
    """Returns on every worker only once all of them have called it."""
    import tensorflow as tf

    one = strategy.run(lambda: tf.constant(1.0))
    strategy.reduce(tf.distribute.ReduceOp.SUM, one, axis=None).numpy()


def export_once(strategy, is_chief: bool, export: Callable[[str], None], directory: str) -> None:
    """The chief exports to a temporary directory and renames it to `directory`;
    every worker returns once it has (TFX's Trainer checks the directory exists
    on every replica). A chief that fails leaves no `directory`, half-written or not.
    """
    import tensorflow as tf

    if is_chief:
        temporary = f"{directory.rstrip('/')}.tmp-{uuid.uuid4().hex}"
        export(temporary)
        if tf.io.gfile.exists(directory):
            tf.io.gfile.rmtree(directory)
        tf.io.gfile.rename(temporary, directory)
    barrier(strategy)
