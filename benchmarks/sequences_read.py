"""Reading a user's long CSV at scale: SequencesExampleGen against a hand-written pandas job.

One long CSV per size (series of 25 steps, two value columns, a categorical
and a numeric context column; rows shuffled within blocks of 10,000 series,
as files written by many producers are), read three ways into the same
split TFRecords (one tf.Example per series, split by the hash of its id):

- pandas: the job a user would write by hand in one process: `read_csv` of
  the whole file, `groupby` the id, sort each series by step, serialize,
  write one gzipped file per split. The per-core reference;
- the component on the DirectRunner in multi-processing mode, 2 workers;
- the component on Beam's portable runner with its Python work in an
  external SDK worker pool (one worker), as beside Flink or Spark.

Per row: wall seconds (start-up included), rows a second, the marginal rate
(extra rows over the next smaller size divided by the extra time, which
leaves Beam's start-up out), that rate per worker as a fraction of pandas',
the peak resident memory (VmHWM) of the busiest Beam worker and of the
launching process (for pandas: its one process), and the output size.

    python -m benchmarks.sequences_read                      # 100k, 1M, 10M rows: ~25 min
    python -m benchmarks.sequences_read --sizes 100000 1000000 --runners pandas direct
    python -m benchmarks.sequences_read --quick              # 2,500 and 25,000 rows, ~1 min
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import sys
import tempfile
import time
from typing import List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.data_generation import beam_writer, directory_bytes, run_job  # noqa: E402
from benchmarks.worker_pool import external_worker_pool, portable_runner_args  # noqa: E402
from tfx_seqgen.tasks.sequences import series as series_lib  # noqa: E402
from tfx_seqgen.tasks.sequences.component import SPLITS, SequencesExampleGen  # noqa: E402

SIZES = (100_000, 1_000_000, 10_000_000)
QUICK_SIZES = (2_500, 25_000)
STEPS = 25
BLOCK_SERIES = 10_000
REGIONS = 20
DIRECT_WORKERS = 2
RUNNERS = ("pandas", "direct", "portable")
RUNNER_NAMES = {
    "pandas": "pandas read + groupby, 1 process",
    "direct": f"DirectRunner, {DIRECT_WORKERS} processes",
    "portable": "portable runner, worker pool",
}
WORKERS = {"pandas": 1, "direct": DIRECT_WORKERS, "portable": 1}
COLUMNS = {"id": "meter", "step": "hour", "values": ["load", "temperature"]}
CONTEXT = ["region", "capacity"]


def component_params(path: str) -> dict:
    return {"path": path, **COLUMNS, "context": CONTEXT}


def write_csv(path: str, rows: int, seed: int = 0) -> None:
    """`rows` // 25 series of 25 steps, written a block of series at a time."""
    rng = np.random.default_rng(seed)
    series = rows // STEPS
    with open(path, "w") as out:
        for first in range(0, series, BLOCK_SERIES):
            n = min(BLOCK_SERIES, series - first)
            ids = np.repeat(np.arange(first, first + n), STEPS)
            hours = np.tile(np.arange(STEPS), n)
            capacity = np.repeat(rng.uniform(1, 10, n).round(2), STEPS)
            frame = pd.DataFrame(
                {
                    "meter": [f"m{i:07d}" for i in ids],
                    "hour": hours,
                    "load": (
                        capacity * (1 + np.sin(hours / 4)) + rng.normal(0, 0.1, n * STEPS)
                    ).round(4),
                    "temperature": rng.normal(15, 5, n * STEPS).round(2),
                    "region": np.repeat([f"r{r:02d}" for r in rng.integers(0, REGIONS, n)], STEPS),
                    "capacity": capacity,
                }
            ).sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
            frame.to_csv(out, header=first == 0, index=False)


def pandas_job(path: str, out_dir: str) -> None:
    """The hand-written job: the whole file in one frame, sorted by id and step once,
    each series a slice of it."""
    dataset = SequencesExampleGen(**component_params(path)).dataset
    frame = pd.read_csv(path, dtype={"meter": str, "region": str})
    frame = frame.sort_values(["meter", "hour"], kind="stable")
    ids = frame["meter"].to_numpy()
    values = frame[COLUMNS["values"]].to_numpy(np.float32)
    regions, capacities = frame["region"].to_numpy(), frame["capacity"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    stops = np.r_[starts[1:], len(ids)]
    longest = int((stops - starts).max())
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    writers = {
        split: tf.io.TFRecordWriter(os.path.join(out_dir, f"{split}.tfrecord.gz"), options)
        for split in SPLITS
    }
    for start, stop in zip(starts, stops, strict=True):
        context = (str(regions[start]), float(capacities[start]))
        series = series_lib.Series(str(ids[start]), values[start:stop], context)
        split = dataset.split_of(series.id, dict(zip(CONTEXT, context, strict=True)))
        writers[split].write(series_lib.serialize(series, dataset, longest))
    for writer in writers.values():
        writer.close()


def split_counts(out_dir: str) -> dict:
    """Records per split in a job's output (`SPLIT.tfrecord.gz` or `SPLIT/...gz` files)."""
    counts = {}
    for split in SPLITS:
        files = glob.glob(os.path.join(out_dir, f"{split}*.gz"))
        files += glob.glob(os.path.join(out_dir, f"Split-{split}", "*.gz"))
        records = tf.data.TFRecordDataset(files, compression_type="GZIP")
        counts[split] = int(records.reduce(0, lambda n, _: n + 1))
    return counts


def _run_job(path: str, runner: str, address: str) -> None:
    """One job, in this process: prints its seconds and output bytes as JSON."""
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        if runner == "pandas":
            pandas_job(path, out_dir)
        else:
            component = SequencesExampleGen(**component_params(path))
            if runner == "direct":
                args = ["--direct_running_mode=multi_processing"]
                args.append(f"--direct_num_workers={DIRECT_WORKERS}")
            else:
                args = portable_runner_args(address)
            beam_writer(component, args, out_dir)
        seconds = time.perf_counter() - start
        size = directory_bytes(out_dir)
        print(json.dumps({"seconds": seconds, "bytes": size, "series": split_counts(out_dir)}))


def measure(path: str, rows: int, runner: str, pool=None) -> dict:
    """Runs one job in a fresh process; its time, output size and peak memory."""
    address = pool[0] if pool else ""
    command = [sys.executable, "-m", "benchmarks.sequences_read", "--job", path, runner, address]
    result, worker_mb, launcher_mb = run_job(command, pool)
    return {
        "runner": runner,
        "rows": rows,
        "file_mb": os.path.getsize(path) / 2**20,
        "seconds": result["seconds"],
        "output_mb": result["bytes"] / 2**20,
        "series": result["series"],
        "worker_mb": worker_mb,
        "launcher_mb": launcher_mb,
    }


def add_rates(rows: List[dict]) -> List[dict]:
    """Rows a second, the marginal rate, and the per-worker marginal rate vs pandas'."""
    previous: dict = {}
    for row in sorted(rows, key=lambda r: r["rows"]):
        row["rate"] = row["rows"] / row["seconds"]
        before = previous.get(row["runner"])
        extra = row["seconds"] - before["seconds"] if before else 0.0
        row["marginal"] = (row["rows"] - before["rows"]) / extra if extra > 0 else None
        previous[row["runner"]] = row
    for row in rows:
        reference = next(
            (r for r in rows if r["runner"] == "pandas" and r["rows"] == row["rows"]), None
        )
        rate = row["marginal"]
        fair = reference and reference["marginal"]
        row["per_worker_vs_pandas"] = (
            rate / WORKERS[row["runner"]] / reference["marginal"]
            if rate and fair and row["runner"] != "pandas"
            else None
        )
    return rows


def same_series(rows: List[dict], size: int) -> str:
    """Says whether every reader wrote the same number of series to each split."""
    counts = {RUNNER_NAMES[r["runner"]]: r["series"] for r in rows if r["rows"] == size}
    if len({json.dumps(c, sort_keys=True) for c in counts.values()}) != 1:
        raise RuntimeError(
            f"the readers disagree on the series per split at {size:,} rows: {counts}"
        )
    return (
        f"{size:,} rows: every reader wrote the same series per split {next(iter(counts.values()))}"
    )


def table(rows: List[dict]) -> str:
    header = (
        f"{'reader':<33} {'rows':>11} {'file MB':>8} {'seconds':>8} {'rows/s':>9}"
        f" {'marginal/s':>11} {'per worker vs pandas':>21} {'worker MB':>10}"
        f" {'launcher MB':>12} {'output MB':>10}"
    )
    lines = [header]
    for r in rows:
        marginal = f"{r['marginal']:,.0f}" if r.get("marginal") else ""
        ratio = f"{r['per_worker_vs_pandas']:.2f}x" if r.get("per_worker_vs_pandas") else ""
        worker = f"{r['worker_mb']:,.0f}" if r["runner"] != "pandas" else ""
        lines.append(
            f"{RUNNER_NAMES[r['runner']]:<33} {r['rows']:>11,} {r['file_mb']:>8,.0f} "
            f"{r['seconds']:>8.1f} {r['rate']:>9,.0f} {marginal:>11} {ratio:>21} "
            f"{worker:>10} {r['launcher_mb']:>12,.0f} {r['output_mb']:>10,.1f}"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", help=f"CSV rows (default {SIZES})")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SIZES} rows, pandas and DirectRunner"
    )
    parser.add_argument("--runners", nargs="+", choices=RUNNERS, default=list(RUNNERS))
    parser.add_argument("--json", help="also write the rows to this file, after every job")
    parser.add_argument("--scratch", help="folder for the CSV files (default: a temporary one)")
    parser.add_argument("--job", nargs=3, help=argparse.SUPPRESS)  # one job, internal
    args = parser.parse_args(argv)
    if args.job:
        _run_job(*args.job)
        return
    sizes = sorted(args.sizes or (QUICK_SIZES if args.quick else SIZES))
    runners = ["pandas", "direct"] if args.quick else args.runners
    if any(size < 100 * STEPS for size in sizes):
        parser.error(f"--sizes must be at least {100 * STEPS} rows each; got {sizes}")
    rows: List[dict] = []
    with contextlib.ExitStack() as stack:
        scratch = args.scratch or stack.enter_context(tempfile.TemporaryDirectory())
        pool = None
        if "portable" in runners:
            log_path = os.path.join(scratch, "worker_pool.log")
            pool = stack.enter_context(external_worker_pool(log_path))
        for size in sizes:
            path = os.path.join(scratch, f"long_{size}.csv")
            if not os.path.exists(path):
                print(f"writing {path}...", flush=True)
                write_csv(path, size)
            for runner in runners:
                print(f"{size:,} rows, {RUNNER_NAMES[runner]}...", flush=True)
                rows.append(measure(path, size, runner, pool if runner == "portable" else None))
                print(table(add_rates([dict(r) for r in rows])).splitlines()[-1], flush=True)
                if args.json:
                    with open(args.json, "w") as f:
                        json.dump(add_rates([dict(r) for r in rows]), f, indent=1)
            print(same_series(rows, size), flush=True)
    print()
    print(table(add_rates(rows)))


if __name__ == "__main__":
    main()
