"""TF_CONFIG is checked before TensorFlow reads it, and a worker alone gives up in time."""

import json
import os
import subprocess
import sys
import time
import types

import pytest

from tfx_seqgen import tasks
from tfx_seqgen.components.local_workers import free_ports
from tfx_seqgen.models import cluster, training

WORKERS = ["127.0.0.1:2222", "127.0.0.1:2223"]


def tf_config(jobs=None, task=None) -> str:
    return json.dumps(
        {"cluster": jobs or {"worker": WORKERS}, "task": task or {"type": "worker", "index": 1}}
    )


@pytest.mark.parametrize(
    "raw, field, allowed",
    [
        ("{'cluster': 1}", r"\(the whole value\)", "a JSON object"),
        ("[]", r"\(the whole value\)", "a JSON object"),
        (json.dumps({"task": {"type": "worker"}}), "cluster", "an object such as"),
        (
            tf_config({"worker": WORKERS, "ps": ["127.0.0.1:2224"]}),
            "cluster",
            "no parameter servers",
        ),
        (tf_config({"worker": []}), "cluster.worker", "a non-empty list"),
        (tf_config({"worker": ["127.0.0.1"]}), r"cluster.worker\[0\]", '"host:port"'),
        (tf_config({"worker": ["127.0.0.1:http"]}), r"cluster.worker\[0\]", "port from 1"),
        (tf_config({"worker": ["127.0.0.1:70000"]}), r"cluster.worker\[0\]", "port from 1"),
        (tf_config({"worker": [WORKERS[0]] * 2}), "cluster", "each address once"),
        (
            tf_config({"chief": WORKERS, "worker": ["127.0.0.1:2224"]}),
            "cluster.chief",
            "one address at most",
        ),
        (tf_config(task={"type": "evaluator", "index": 0}), "task.type", "a job of the cluster"),
        (tf_config(task={"type": "worker", "index": 2}), "task.index", "0 to 1"),
        (tf_config(task={"type": "worker", "index": "1"}), "task.index", "an integer"),
        (json.dumps({"cluster": {"worker": WORKERS}}), "task", "an object such as"),
    ],
)
def test_a_bad_tf_config_is_refused_naming_the_field(raw, field, allowed):
    with pytest.raises(cluster.InvalidClusterConfig, match=rf"TF_CONFIG: {field}=.*{allowed}"):
        cluster.parse(raw)


def test_the_chief_is_tensorflows():
    assert cluster.parse(tf_config(task={"type": "worker", "index": 0})).is_chief
    assert not cluster.parse(tf_config()).is_chief
    with_chief = {"chief": ["127.0.0.1:2221"], "worker": WORKERS}
    assert cluster.parse(tf_config(with_chief, {"type": "chief", "index": 0})).is_chief
    assert not cluster.parse(tf_config(with_chief, {"type": "worker", "index": 0})).is_chief
    assert cluster.parse(tf_config(with_chief)).size == 3


def test_no_tf_config_or_one_task_trains_alone():
    assert cluster.from_environment({}) is None
    alone = tf_config({"chief": ["127.0.0.1:2221"]}, {"type": "chief", "index": 0})
    assert cluster.from_environment({"TF_CONFIG": alone}) is None  # Vertex AI, one replica


def test_run_fn_refuses_a_bad_tf_config_before_reading_anything(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config(task={"type": "worker", "index": 5}))
    fn_args = types.SimpleNamespace(
        custom_config={"task": "lcd", "model": {}}, transform_output="/nonexistent"
    )
    with pytest.raises(cluster.InvalidClusterConfig, match="task.index=5"):
        training.run_fn(fn_args, tasks.get("lcd"))


def test_vertex_keys_do_not_reach_the_training_config():
    settings = training.training_settings(
        {"task": "lcd", "model": {}, "ai_platform_training_args": {"project": "p"}}
    )
    assert settings == {"task": "lcd", "model": {}}


@pytest.mark.e2e
def test_a_worker_whose_peers_never_come_gives_up_after_the_timeout():
    """Worker 0 (the coordination leader) and worker 1, each of a cluster of its own
    whose other worker never starts; both at once, to save the suite's time."""
    code = "from tfx_seqgen.models import cluster; cluster.connect(cluster.from_environment(), 5)"
    started, waiting = time.monotonic(), []
    for index in (0, 1):
        ports = free_ports(2)
        config = {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
        env = dict(os.environ, TF_CONFIG=json.dumps(config))
        waiting.append(
            subprocess.Popen(
                [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True
            )
        )
    for index, worker in enumerate(waiting):
        stderr = worker.communicate(timeout=120)[1]
        assert worker.returncode == -9  # ended by its watchdog: the launcher may restart it
        assert f"worker {index} (127.0.0.1:" in stderr and "not reachable within 5 s" in stderr
    assert time.monotonic() - started < 100  # not TensorFlow's hour
