"""Throughput of the Beam data generators against a plain single-process writer.

Prints one table row per (task, writer): examples generated and written per
second. The Beam rows run the component's executor on the DirectRunner in
multi-processing mode with 1 and 2 worker processes; the plain row generates
the same records with NumPy and writes them with tf.io.TFRecordWriter.

    python -m benchmarks.data_generation            # LCD 100k, ART 400k records
    python -m benchmarks.data_generation --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tfx.dsl.components.base import base_beam_executor  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from components import ArtExampleGen, LcdExampleGen  # noqa: E402
from components.example_gen import plan_shards, serialize  # noqa: E402


def beam_writer(component, workers: int, out_dir: str) -> None:
    examples = standard_artifacts.Examples()
    examples.uri = out_dir
    args = ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=args)
    executor = component.executor_spec.executor_class(context)
    executor.Do({}, {"examples": [examples]}, dict(component.exec_properties))


def plain_writer(component, out_dir: str) -> None:
    dataset = component.dataset
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    for split, bounds in plan_shards(dataset.split_sizes(), dataset.shard_size).items():
        path = os.path.join(out_dir, f"{split}.tfrecord.gz")
        with tf.io.TFRecordWriter(path, options) as writer:
            for start, stop in bounds:
                for record in serialize(dataset.arrays(split, start, stop)):
                    writer.write(record)


def measure(write, count: int) -> float:
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        write(out_dir)
        return count / (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for CI")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    components = {
        "lcd": LcdExampleGen(train_per_period=16_000 // scale, eval_per_period=5_000 // scale),
        "art": ArtExampleGen(train_count=320_000 // scale, eval_count=80_000 // scale),
    }
    rows = []
    for task, component in components.items():
        count = sum(component.dataset.split_sizes().values())
        rows.append(
            (
                task,
                "plain NumPy + TFRecordWriter",
                count,
                measure(lambda d, c=component: plain_writer(c, d), count),
            )
        )
        for workers in (1, 2):
            rate = measure(lambda d, c=component, w=workers: beam_writer(c, w, d), count)
            rows.append((task, f"Beam DirectRunner, {workers} worker(s)", count, rate))
    print(f"\n{'task':<5} {'writer':<32} {'examples':>9} {'examples/s':>11}")
    for task, writer, count, rate in rows:
        print(f"{task:<5} {writer:<32} {count:>9} {rate:>11,.0f}")


if __name__ == "__main__":
    main()
