"""Throughput of the Beam data generators against a plain single-process writer.

Prints one table row per (task, writer): examples generated and written per
second. The Beam rows run the component's executor on the DirectRunner in
multi-processing mode with 1 and 2 worker processes; the plain row generates
the same records with NumPy and writes them with tf.io.TFRecordWriter.

A Beam job has a fixed start-up cost (worker processes import TensorFlow), so
the table also gives the marginal rate, which leaves it out: the extra records
of the full job over a job of a fifth of its size, divided by the extra time.
Each Beam job runs in a process of its own, so the peak resident memory of its
worker processes can be read; that it stays flat from the small job to the
full one is what lets a distributed runner scale the count.

    python -m benchmarks.data_generation            # LCD 100k, ART 400k records
    python -m benchmarks.data_generation --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tfx.dsl.components.base import base_beam_executor  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from tfx_seqgen.components import ArtExampleGen, LcdExampleGen  # noqa: E402
from tfx_seqgen.components.example_gen import plan_shards, serialize  # noqa: E402


def beam_writer(component, workers: int, out_dir: str) -> None:
    examples = standard_artifacts.Examples()
    examples.uri = out_dir
    args = ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=args)
    executor = component.executor_spec.executor_class(context)
    executor.Do({}, {"examples": [examples]}, dict(component.exec_properties))


def make_components(task: str, scale: int, fraction: int = 1):
    if task == "lcd":
        return LcdExampleGen(
            train_per_period=16_000 // scale // fraction, eval_per_period=5_000 // scale // fraction
        )
    return ArtExampleGen(
        train_count=320_000 // scale // fraction, eval_count=80_000 // scale // fraction
    )


def beam_job(task: str, scale: int, fraction: int, workers: int) -> dict:
    """Runs one Beam job in a fresh process: its seconds and its workers' peak memory."""
    command = [sys.executable, "-m", "benchmarks.data_generation", "--job"]
    command += [task, str(scale), str(fraction), str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_job(task: str, scale: int, fraction: int, workers: int) -> None:
    component = make_components(task, scale, fraction)
    elapsed = seconds(lambda d: beam_writer(component, workers, d))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": elapsed, "worker_peak_mb": peak_kb / 1024}))


def plain_writer(component, out_dir: str) -> None:
    dataset = component.dataset
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    for split, bounds in plan_shards(dataset.split_sizes(), dataset.shard_size).items():
        path = os.path.join(out_dir, f"{split}.tfrecord.gz")
        with tf.io.TFRecordWriter(path, options) as writer:
            for start, stop in bounds:
                for record in serialize(dataset.arrays(split, start, stop)):
                    writer.write(record)


def seconds(write) -> float:
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        write(out_dir)
        return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for CI")
    parser.add_argument("--job", nargs=4, help=argparse.SUPPRESS)  # one Beam job, internal
    args = parser.parse_args(argv)
    if args.job:
        task, scale, fraction, workers = args.job
        _run_job(task, int(scale), int(fraction), int(workers))
        return
    scale = 10 if args.quick else 1
    rows = []
    for task in ("lcd", "art"):
        component = make_components(task, scale)
        count = sum(component.dataset.split_sizes().values())
        small_count = sum(make_components(task, scale, 5).dataset.split_sizes().values())
        total = seconds(lambda d, c=component: plain_writer(c, d))
        rows.append(
            (task, "plain NumPy + TFRecordWriter", count, total, f"{count / total:,.0f}", "", "")
        )
        for workers in (1, 2):
            small = beam_job(task, scale, 5, workers)
            full = beam_job(task, scale, 1, workers)
            extra = full["seconds"] - small["seconds"]
            marginal = f"{(count - small_count) / extra:,.0f}" if extra > 0 else "n/a (noise)"
            memory = (f"{small['worker_peak_mb']:,.0f}", f"{full['worker_peak_mb']:,.0f}")
            name = f"Beam DirectRunner, {workers} worker(s)"
            rows.append((task, name, count, full["seconds"], marginal, *memory))
    header = f"{'task':<5} {'writer':<32} {'examples':>9} {'seconds':>8} {'examples/s':>11}"
    print(f"\n{header} {'marginal/s':>12} {'worker MB (1/5 job)':>20} {'worker MB (full)':>17}")
    for task, writer, count, total, marginal, small_mb, full_mb in rows:
        rate = count / total
        print(
            f"{task:<5} {writer:<32} {count:>9} {total:>8.1f} {rate:>11,.0f} {marginal:>12}"
            f" {small_mb:>20} {full_mb:>17}"
        )


if __name__ == "__main__":
    main()
