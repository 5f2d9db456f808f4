"""What a GroupByKey alone costs a worker's memory on Beam's local runners.

SequencesExampleGen's workers peak higher as the CSV grows (BENCHMARKS.md,
"Reading your own sequences"). This measures the same shuffle with nothing
of ours in it: chunks of 100,000 rows become one random payload of
`--bytes-per-row` bytes per bucket (36 by default: what the component sends
per row of the benchmark CSV in tasks/sequences/blocks.py's Rows: a 4-byte
id code, an 8-byte step, two float32 values, a 4-byte category code, a
float64 context value and a 4-byte file index), a GroupByKey brings
each bucket's payloads together, and a DoFn only counts their bytes.
Buckets grow with the input as the component's do (one per 8 MB of the
33-byte CSV rows, at least 8).

The DirectRunner in multi-processing mode (2 workers), as in the read
benchmark. Per row: rows, shuffled MB, wall seconds, the peak resident
memory (VmHWM) of the busiest worker and of the launching process.

    python -m benchmarks.shuffle_memory            # 1M and 10M rows -> benchmarks/results/
    python -m benchmarks.shuffle_memory --quick    # 250,000 rows, for CI
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import List

from benchmarks import provenance
from benchmarks.data_generation import run_job

DEFAULT_OUT = ("benchmarks", "results")
QUICK_OUT = ("runs", "benchmarks-quick")
SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (250_000,)
CHUNK_ROWS = 100_000
CSV_BYTES_PER_ROW = 33  # the read benchmark's CSV: 330 MB for 10 million rows
BUCKET_BYTES = 8 * 2**20  # tasks/sequences/tables.py: one bucket per 8 MB of input
DIRECT_WORKERS = 2


def buckets_for(rows: int) -> int:
    return max(8, math.ceil(rows * CSV_BYTES_PER_ROW / BUCKET_BYTES))


def _run_job(rows: int, bytes_per_row: int) -> None:
    """One shuffle, in this process: prints its seconds and shuffled bytes as JSON."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    buckets = buckets_for(rows)

    def payloads(chunk: int, chunk_rows: int = CHUNK_ROWS):
        # Runs in the workers, where this module is not imported: no module globals.
        import numpy

        count = min(chunk_rows, rows - chunk * chunk_rows)
        data = numpy.random.default_rng(chunk).integers(0, 256, count * bytes_per_row, numpy.uint8)
        yield from enumerate(numpy.array_split(data, buckets))  # (bucket, its part)

    options = PipelineOptions(
        direct_running_mode="multi_processing", direct_num_workers=DIRECT_WORKERS
    )
    start = time.perf_counter()
    with beam.Pipeline(options=options) as pipeline:
        _ = (
            pipeline
            | beam.Create(range(math.ceil(rows / CHUNK_ROWS)))
            | beam.FlatMap(payloads)
            | beam.GroupByKey()
            | beam.MapTuple(lambda bucket, parts: sum(part.nbytes for part in parts))
        )
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "bytes": rows * bytes_per_row, "buckets": buckets}))


def measure(rows: int, bytes_per_row: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.shuffle_memory", "--job", str(rows)]
    result, worker_mb, launcher_mb = run_job([*command, str(bytes_per_row)])
    return {
        "rows": rows,
        "bytes_per_row": bytes_per_row,
        "buckets": result["buckets"],
        "shuffled_mb": result["bytes"] / 2**20,
        "seconds": result["seconds"],
        "worker_mb": worker_mb,
        "launcher_mb": launcher_mb,
        **provenance.stamp(),
    }


def table(rows: List[dict]) -> str:
    lines = [
        "| rows | buckets | shuffled MB | seconds | busiest worker MB | launcher MB |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rows']:,} | {r['buckets']} | {r['shuffled_mb']:.0f} | {r['seconds']:.1f}"
            f" | {r['worker_mb']:.0f} | {r['launcher_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", help=f"rows (default {SIZES})")
    parser.add_argument("--bytes-per-row", type=int, default=36)
    parser.add_argument("--quick", action="store_true", help=f"rows {QUICK_SIZES}")
    parser.add_argument("--out", help="folder for shuffle_memory.{json,md} (default: by --quick)")
    parser.add_argument("--job", nargs=2, type=int, help=argparse.SUPPRESS)  # one job, internal
    args = parser.parse_args(argv)
    if args.job:
        _run_job(*args.job)
        return
    out = args.out or os.path.join(*(QUICK_OUT if args.quick else DEFAULT_OUT))
    os.makedirs(out, exist_ok=True)
    rows = []
    for size in args.sizes or (QUICK_SIZES if args.quick else SIZES):
        rows.append(measure(size, args.bytes_per_row))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        with open(os.path.join(out, "shuffle_memory.json"), "w") as f:
            json.dump(rows, f, indent=1)
    with open(os.path.join(out, "shuffle_memory.md"), "w") as f:
        f.write(f"# {__doc__.splitlines()[0]} (benchmarks/shuffle_memory.py)\n\n{table(rows)}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
