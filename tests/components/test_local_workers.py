"""The local worker group: its TF_CONFIGs, logs, and no worker outliving its launcher."""

import json
import os
import signal
import subprocess
import sys
import time

from tfx_seqgen.components import local_workers

PRINT_CONFIG = "import os, time; print(os.environ['TF_CONFIG'], flush=True); time.sleep(60)"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"  # a zombie has ended


def test_each_worker_gets_its_own_task_in_one_cluster(tmp_path):
    group = local_workers._Group([sys.executable, "-c", PRINT_CONFIG], 3, str(tmp_path), 0)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
            os.path.getsize(log) > 200 for log in group.logs
        ):
            time.sleep(0.1)
    finally:
        group.stop()
    configs = []
    for index, log in enumerate(group.logs):
        assert os.path.basename(log) == f"worker-{index}.log"
        with open(log) as f:
            configs.append(json.loads(f.read().splitlines()[-1]))
        with open(log.replace(".log", ".pid")) as f:
            assert int(f.read()) == group.processes[index].pid
    (cluster,) = {json.dumps(c["cluster"]) for c in configs}  # one cluster for all
    addresses = json.loads(cluster)["worker"]
    assert len(set(addresses)) == 3 and all(a.startswith("127.0.0.1:") for a in addresses)
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(3)]
    assert all(p.poll() is not None for p in group.processes)  # stopped


def test_workers_end_when_their_launcher_is_killed(tmp_path):
    launcher = (
        "import sys, time; from tfx_seqgen.components import local_workers; "
        f"g = local_workers._Group([sys.executable, '-c', 'import time; time.sleep(60)'], 2, "
        f"{str(tmp_path)!r}, 0); print([p.pid for p in g.processes], flush=True); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True)
    pids = json.loads(process.stdout.readline())
    assert all(alive(pid) for pid in pids)
    process.send_signal(signal.SIGKILL)  # no clean-up of its own can run
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)


def test_only_a_worker_ended_by_a_signal_is_started_again():
    assert local_workers.restartable(-signal.SIGKILL)  # killed, out of memory, its watchdog
    assert not local_workers.restartable(1)  # its own error: a restart would repeat it
