"""Latency and throughput of trajectory generation: over gRPC vs a direct signature call.

For each batch size (trajectories per request: one row, num_samples = batch,
25 steps) it measures, for the pushed LCD model:
- direct: the SavedModel's `generate` signature called in this process;
- gRPC: the same request through ServingClient to a model server in its own
  process (tensorflow_model_server when on PATH, else the built-in server),
  one client at a time (latency) and 8 concurrent clients (throughput).

    python -m benchmarks.serving                        # the demo run's model
    python -m benchmarks.serving --model-base-path DIR  # any pushed LCD model
    python -m benchmarks.serving --quick                # fewer requests
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfx_seqgen.serving.client import ServingClient  # noqa: E402
from tfx_seqgen.serving.model_store import ready_versions  # noqa: E402
from tfx_seqgen.serving.process import ServerProcess  # noqa: E402

DEFAULT_BASE = os.path.join("runs", "seqgen-lcd-demo", "serving", "lcd")
BATCHES = (1, 16, 128)
STEPS = 25
CLIENTS = 8


def request(batch: int, seed: int) -> dict:
    return {"x0": [3.0], "period": [2.0], "seed": [seed], "num_samples": batch, "steps": STEPS}


def timed(call, count: int) -> np.ndarray:
    """Seconds per call, after two warm-up calls."""
    call(0)
    call(1)
    seconds = []
    for i in range(count):
        start = time.perf_counter()
        call(i)
        seconds.append(time.perf_counter() - start)
    return np.array(seconds)


def concurrent_rate(address: str, batch: int, count: int) -> float:
    """Trajectories per second with CLIENTS clients sending `count` requests each."""

    def work():
        with ServingClient(address, "lcd", timeout=120) as client:
            for i in range(count):
                client.generate(**request(batch, i))

    threads = [threading.Thread(target=work) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return CLIENTS * count * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-base-path", default=DEFAULT_BASE)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    versions = ready_versions(args.model_base_path)
    if not versions:
        sys.exit(
            f"No pushed model under {args.model_base_path}: run `make demo` first, "
            "or pass --model-base-path <serving dir>/lcd."
        )
    path = os.path.join(args.model_base_path, str(versions[-1]))
    generate = tf.saved_model.load(path).signatures["generate"]

    def direct(batch):
        def call(i):
            r = request(batch, i)
            generate(
                x0=tf.constant(r["x0"], tf.float32),
                period=tf.constant(r["period"], tf.float32),
                seed=tf.constant(r["seed"], tf.int64),
                num_samples=tf.constant(batch, tf.int32),
                steps=tf.constant(STEPS, tf.int32),
            )["trajectories"].numpy()

        return call

    count = 30 if args.quick else 200
    rows = []
    with ServerProcess("lcd", args.model_base_path) as server:
        print(f"model {path}; server: {server.kind}; {count} requests per row", flush=True)
        with ServingClient(server.address, "lcd", timeout=120) as client:
            for batch in BATCHES:
                n = max(10, count // (4 if batch == 128 else 1))
                local = timed(direct(batch), n)
                remote = timed(lambda i, b=batch: client.generate(**request(b, i)), n)
                rate = concurrent_rate(server.address, batch, max(5, n // CLIENTS))
                rows.append((batch, local, remote, rate))
                print(f"  batch {batch}: done", file=sys.stderr, flush=True)
    print(
        f"\n{'batch':>5} {'path':<22} {'p50 ms':>8} {'p99 ms':>8} {'traj/s 1 client':>16} "
        f"{'traj/s 8 clients':>17}"
    )
    for batch, local, remote, rate in rows:
        for name, seconds, many in (("direct signature call", local, ""), ("gRPC", remote, rate)):
            p50, p99 = np.percentile(seconds, [50, 99]) * 1000
            single = batch / np.mean(seconds)
            many_text = f"{many:>17,.0f}" if many else f"{'':>17}"
            print(f"{batch:>5} {name:<22} {p50:>8.2f} {p99:>8.2f} {single:>16,.0f} {many_text}")


if __name__ == "__main__":
    main()
