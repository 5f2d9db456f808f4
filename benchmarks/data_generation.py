"""Scale of the Beam data generators, from 100 thousand to 10 million records.

For LCD and ART at each size, three writers of the same records:
- plain: one process, NumPy + tf.io.TFRecordWriter, the per-core reference;
- the component on the DirectRunner in multi-processing mode, 2 workers;
- the component on Beam's portable runner (embedded job service) with its
  Python work in an external SDK worker pool, as beside Flink or Spark. The
  embedded job service runs a job on one SDK worker: it calls Beam's
  FnApiRunner without the `direct_num_workers` option, so these rows show
  what one worker of a distributed runner writes.

Per row: wall seconds (start-up included), records a second, the marginal
rate (extra records over the next smaller size divided by the extra time,
which leaves Beam's fixed start-up out), that rate per worker as a fraction
of the plain loop's, the peak resident memory of the busiest worker and of
the launching process, and the output size. Each Beam job runs in a fresh
process; memory is the kernel's high-water mark (VmHWM) of each process,
polled while the job runs.

    python -m benchmarks.data_generation                # 100k, 1M, 10M: ~25 min
    python -m benchmarks.data_generation --sizes 100000 1000000 --tasks lcd
    python -m benchmarks.data_generation --quick        # LCD, 2 small sizes, ~1 min
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tfx.dsl.components.base import base_beam_executor  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from benchmarks.worker_pool import external_worker_pool, portable_runner_args  # noqa: E402
from tfx_seqgen.components.example_gen import plan_shards, serialize  # noqa: E402
from tfx_seqgen.tasks.art.component import ArtExampleGen  # noqa: E402
from tfx_seqgen.tasks.lcd.component import LcdExampleGen  # noqa: E402

SIZES = (100_000, 1_000_000, 10_000_000)
QUICK_SIZES = (20_000, 100_000)
# The plain loop's rate does not depend on the size; past this it is not rerun.
PLAIN_MAX = 1_000_000
DIRECT_WORKERS = 2
RUNNERS = ("plain", "direct", "portable")
RUNNER_NAMES = {
    "plain": "plain NumPy + TFRecordWriter",
    "direct": f"DirectRunner, {DIRECT_WORKERS} processes",
    "portable": "portable runner, worker pool",
}
# Command-line fragments that mark a process as a Beam SDK worker.
_WORKER_MARKS = ("sdk_worker_main", "SdkHarness")


def make_component(task: str, records: int):
    """The task's generator with `records` records in all, 80% of them for training."""
    if task == "lcd":
        # 5 training and 4 eval periods.
        return LcdExampleGen(train_per_period=records * 4 // 25, eval_per_period=records // 20)
    return ArtExampleGen(train_count=records * 4 // 5, eval_count=records // 5)


def directory_bytes(path: str) -> int:
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def plain_writer(component, out_dir: str) -> None:
    """The same records, one gzipped file per split, from one process."""
    dataset = component.dataset
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    for split, bounds in plan_shards(dataset.split_sizes(), dataset.shard_size).items():
        with tf.io.TFRecordWriter(os.path.join(out_dir, f"{split}.tfrecord.gz"), options) as out:
            for start, stop in bounds:
                for record in serialize(dataset.arrays(split, start, stop)):
                    out.write(record)


def beam_writer(component, beam_args: List[str], out_dir: str) -> None:
    examples = standard_artifacts.Examples()
    examples.uri = out_dir
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args)
    executor = component.executor_spec.executor_class(context)
    executor.Do({}, {"examples": [examples]}, dict(component.exec_properties))


def _run_job(task: str, records: int, runner: str, address: str) -> None:
    """One job, in this process: prints its seconds and output bytes as JSON."""
    component = make_component(task, records)
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        if runner == "plain":
            plain_writer(component, out_dir)
        elif runner == "direct":
            args = ["--direct_running_mode=multi_processing"]
            beam_writer(component, [*args, f"--direct_num_workers={DIRECT_WORKERS}"], out_dir)
        else:
            beam_writer(component, portable_runner_args(address), out_dir)
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "bytes": directory_bytes(out_dir)}))


class PeakMemory:
    """Polls the high-water resident memory of a process and of its descendants."""

    def __init__(self, roots: List[int], interval: float = 0.2):
        self.roots, self.interval = roots, interval
        self.peaks_kb: Dict[int, int] = {}
        self.workers: set = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            for pid in self._tree():
                status = _read(f"/proc/{pid}/status")
                line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), None)
                if line:
                    self.peaks_kb[pid] = max(self.peaks_kb.get(pid, 0), int(line.split()[1]))
                if any(mark in _read(f"/proc/{pid}/cmdline") for mark in _WORKER_MARKS):
                    self.workers.add(pid)
            self._stop.wait(self.interval)

    def _tree(self) -> List[int]:
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                # The parent pid is the 2nd field after the parenthesized command name.
                fields = _read(f"/proc/{entry}/stat").rsplit(")", 1)[-1].split()
                if len(fields) > 1:
                    parents[int(entry)] = int(fields[1])
        tree, frontier = set(self.roots), list(self.roots)
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            tree.update(children)
            frontier.extend(children)
        return sorted(tree)

    def worker_mb(self) -> float:
        return max((self.peaks_kb.get(pid, 0) for pid in self.workers), default=0) / 1024

    def process_mb(self, pid: int) -> float:
        return self.peaks_kb.get(pid, 0) / 1024


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read().replace("\0", " ")
    except OSError:  # the process ended while being read
        return ""


def run_job(command: List[str], pool=None) -> tuple:
    """Runs a job's command in a fresh process: (the JSON it printed last, the peak MB
    of its busiest Beam worker, the peak MB of the process itself)."""
    pool_process = pool[1] if pool else None
    job = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    roots = [job.pid] + ([pool_process.pid] if pool_process else [])
    with PeakMemory(roots) as memory:
        out, _ = job.communicate()
    if job.returncode:
        raise RuntimeError(f"{' '.join(command)} failed with exit code {job.returncode}")
    return json.loads(out.strip().splitlines()[-1]), memory.worker_mb(), memory.process_mb(job.pid)


def measure(task: str, records: int, runner: str, pool=None) -> dict:
    """Runs one job in a fresh process; its times, sizes and peak memory."""
    address = pool[0] if pool else ""
    command = [sys.executable, "-m", "benchmarks.data_generation", "--job"]
    result, worker_mb, launcher_mb = run_job([*command, task, str(records), runner, address], pool)
    return {
        "task": task,
        "runner": runner,
        "records": records,
        "seconds": result["seconds"],
        "output_mb": result["bytes"] / 2**20,
        "worker_mb": worker_mb,
        "launcher_mb": launcher_mb,
    }


def add_rates(rows: List[dict]) -> List[dict]:
    """Records a second, the marginal rate, and per-worker rate vs the plain loop."""
    for row in rows:
        row["rate"] = row["records"] / row["seconds"]
    # The reference: the plain loop at its largest size.
    plain = {
        r["task"]: r for r in sorted(rows, key=lambda r: r["records"]) if r["runner"] == "plain"
    }
    previous: Dict[tuple, dict] = {}
    for row in sorted(rows, key=lambda r: r["records"]):
        key = (row["task"], row["runner"])
        before = previous.get(key)
        extra = row["seconds"] - before["seconds"] if before else 0.0
        row["marginal"] = (row["records"] - before["records"]) / extra if extra > 0 else None
        workers = {"plain": 1, "direct": DIRECT_WORKERS, "portable": 1}[row["runner"]]
        reference = plain.get(row["task"])
        rate = row["marginal"] if row["runner"] != "plain" else None
        row["per_worker_vs_plain"] = (
            rate / workers / reference["rate"] if rate and reference else None
        )
        previous[key] = row
    return rows


def table(rows: List[dict]) -> str:
    header = (
        f"{'task':<5} {'writer':<30} {'records':>11} {'seconds':>8} {'records/s':>10}"
        f" {'marginal/s':>11} {'per worker vs plain':>20} {'worker MB':>10}"
        f" {'launcher MB':>12} {'output MB':>10}"
    )
    lines = [header]
    for r in rows:
        marginal = f"{r['marginal']:,.0f}" if r.get("marginal") else ""
        ratio = f"{r['per_worker_vs_plain']:.2f}x" if r.get("per_worker_vs_plain") else ""
        worker = f"{r['worker_mb']:,.0f}" if r["runner"] != "plain" else ""
        lines.append(
            f"{r['task']:<5} {RUNNER_NAMES[r['runner']]:<30} {r['records']:>11,} "
            f"{r['seconds']:>8.1f} {r['rate']:>10,.0f} {marginal:>11} {ratio:>20} "
            f"{worker:>10} {r['launcher_mb']:>12,.0f} {r['output_mb']:>10,.1f}"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"LCD at {QUICK_SIZES}, for CI")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"records per job (default {SIZES})")
    parser.add_argument("--tasks", nargs="+", choices=("lcd", "art"), default=["lcd", "art"])
    parser.add_argument("--runners", nargs="+", choices=RUNNERS, default=list(RUNNERS))
    parser.add_argument("--json", help="also write the rows to this file, after every job")
    parser.add_argument("--job", nargs=4, help=argparse.SUPPRESS)  # one job, internal
    args = parser.parse_args(argv)
    if args.job:
        task, records, runner, address = args.job
        _run_job(task, int(records), runner, address)
        return
    sizes = sorted(args.sizes or (QUICK_SIZES if args.quick else SIZES))
    if any(size < 100 for size in sizes):
        parser.error(f"--sizes must be at least 100 records each; got {sizes}")
    tasks = ["lcd"] if args.quick else args.tasks
    rows: List[dict] = []
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        pool = None
        if "portable" in args.runners:
            log_path = os.path.join(scratch, "worker_pool.log")
            pool = stack.enter_context(external_worker_pool(log_path))
        for task in tasks:
            for size in sizes:
                for runner in args.runners:
                    if runner == "plain" and size > PLAIN_MAX and size != sizes[0]:
                        continue
                    print(f"{task}: {size:,} records, {RUNNER_NAMES[runner]}...", flush=True)
                    rows.append(measure(task, size, runner, pool if runner == "portable" else None))
                    if args.json:
                        with open(args.json, "w") as f:
                            json.dump(add_rates([dict(r) for r in rows]), f, indent=1)
    print()
    print(table(add_rates(rows)))


if __name__ == "__main__":
    main()
