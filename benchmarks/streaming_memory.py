"""The Trainer's input pipeline from 1 to 30 million LCD records: streamed, then held in memory.

The records are the LCD demo's transformed training split (read from a
pipeline run's Transform output), repeated in gzipped shards of 1 million
to reach each size: the same bytes per record, the same feature spec. For
each size a fresh process builds the Trainer's TrainingData and passes once
over the training split as an epoch does (`dataset("train", shuffle=True)`:
read, parse, shuffle within `shuffle_buffer` rows, batch, map to the
model's inputs), counting rows; it reports the rows, seconds, rows per
second and its peak resident memory (VmHWM). `cache_data: false` streams;
`cache_data: true` (the default) holds the split as NumPy arrays, run up to
`--memory-up-to` records, as it grows with them.

    python -m benchmarks.streaming_memory --transform-run runs/benchmark-multi-worker-lcd
    python -m benchmarks.streaming_memory --transform-run ROOT --quick   # 20,000 records
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import types
from typing import List

from benchmarks import provenance

SIZES = [1_000_000, 3_000_000, 10_000_000, 30_000_000]
QUICK_SIZES = [20_000]
OUT = os.path.join("benchmarks", "results")


def transformed_split(run_root: str, split: str) -> List[str]:
    pattern = os.path.join(
        run_root, "Transform", "transformed_examples", "*", f"Split-{split}", "*"
    )
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"no transformed examples under {pattern}: run the LCD pipeline there")
    return files


def write_records(source: List[str], folder: str, rows: int, shard: int) -> None:
    """`rows` records, `source`'s repeated, in gzipped files of `shard`; kept if already there."""
    import tensorflow as tf

    shards = -(-rows // shard)
    done = os.path.join(folder, "DONE")
    if os.path.exists(done):
        return
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    records = tf.data.TFRecordDataset(source, "GZIP").repeat()
    for index in range(shards):
        count = min(shard, rows - index * shard)
        path = os.path.join(folder, f"transformed_examples-{index:05d}-of-{shards:05d}.gz")
        # Each file starts the source again: the bytes are what matter, not their order.
        tf.data.experimental.TFRecordWriter(path, "GZIP").write(records.take(count))
        print(f"  wrote {min(rows, (index + 1) * shard):,} of {rows:,} records", flush=True)
    open(done, "w").close()


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _pass(train_folder: str, eval_files: List[str], transform_dir: str, cache: bool) -> None:
    """One epoch's pass over the training split; prints a JSON line."""
    import tensorflow_transform as tft

    from tfx_seqgen.models.training_config import TrainingConfig
    from tfx_seqgen.models.training_data import TrainingData
    from tfx_seqgen.tasks.lcd.signatures import to_model

    fn_args = types.SimpleNamespace(
        train_files=[os.path.join(train_folder, "*.gz")], eval_files=eval_files
    )
    config = TrainingConfig(task="lcd", model={}, batch_size=128, cache_data=cache)
    data = TrainingData(fn_args, tft.TFTransformOutput(transform_dir), config)
    began, rows = time.perf_counter(), 0
    for inputs, _ in data.dataset("train", True, to_model):
        rows += int(inputs["x"].shape[0])
    seconds = time.perf_counter() - began
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": _peak_mb()}), flush=True)


def measure(folder: str, eval_files, transform_dir: str, cache: bool) -> dict:
    command = [sys.executable, "-m", "benchmarks.streaming_memory", "--pass", folder]
    command += [transform_dir, "cache" if cache else "stream", *eval_files]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: List[dict]) -> str:
    lines = [
        "| records | input | seconds | records/s | peak MB |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rows']:,} | {r['input']} | {r['seconds']:.0f} | {r['rows'] / r['seconds']:,.0f}"
            f" | {r['peak_mb']:,.0f} |"
        )
    return "\n".join(lines)


def _training_rate(out: str):
    """LCD records a second of one worker's Trainer, from multi_worker's results if there."""
    try:
        with open(os.path.join(out, "multi_worker.json")) as f:
            runs = json.load(f)
    except FileNotFoundError:
        return None
    one = [r for r in runs if r["task"] == "lcd" and r["case"] == "1 worker, fit"]
    return one[0]["train_rows"] / one[0]["epoch_seconds"] if one else None


def projection(rows: List[dict], training_rate=None, sizes=(100_000_000, 1_000_000_000)) -> str:
    """What the largest measured sizes say of larger splits: a streamed pass at the
    largest streamed size's rate and peak memory; the in-memory peak grown at the
    rate it grew between the two largest in-memory sizes; a training epoch at
    `training_rate` records a second."""
    streamed = max((r for r in rows if r["input"] == "streamed"), key=lambda r: r["rows"])
    held = sorted((r for r in rows if r["input"] == "in memory"), key=lambda r: r["rows"])
    per_row = None
    if len(held) >= 2:
        growth = held[-1]["peak_mb"] - held[-2]["peak_mb"]
        per_row = growth / (held[-1]["rows"] - held[-2]["rows"])
    lines = [
        "| records | streamed pass, hours | streamed peak MB | in memory, peak GB"
        " | one training epoch, hours |",
        "|---|---|---|---|---|",
    ]
    for size in sizes:
        hours = size / (streamed["rows"] / streamed["seconds"]) / 3600
        memory = ""
        if per_row is not None:
            memory = f"{(held[-1]['peak_mb'] + per_row * (size - held[-1]['rows'])) / 1024:,.0f}"
        epoch = f"{size / training_rate / 3600:.1f}" if training_rate else ""
        lines.append(
            f"| {size:,} | {hours:.1f} | {streamed['peak_mb']:,.0f} | {memory} | {epoch} |"
        )
    notes = []
    if per_row is not None:
        total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
        fills = held[-1]["rows"] + (total_mb - held[-1]["peak_mb"]) / per_row
        notes.append(
            f"In memory the peak grows {per_row * 1e6:,.0f} MB a million records: this"
            f" machine's {total_mb / 1024:.0f} GiB fill at about {fills / 1e6:.0f} million."
        )
    if training_rate:
        notes.append(
            f"One worker's LCD Trainer consumes {training_rate:,.0f} records a second"
            " (multi_worker.json)."
        )
    return "\n".join(lines) + ("\n\n" + " ".join(notes) if notes else "")


def write_report(rows: List[dict], out: str) -> None:
    projected = projection(rows, _training_rate(out))
    with open(os.path.join(out, "streaming_memory.md"), "w") as f:
        f.write(
            f"# {__doc__.splitlines()[0]} (benchmarks/streaming_memory.py)\n\n{table(rows)}\n\n"
            f"Projected from the largest sizes measured:\n\n{projected}\n"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transform-run", help="a pipeline root holding an LCD Transform output")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"records (default {SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"records {QUICK_SIZES}")
    parser.add_argument("--memory-up-to", type=int, default=3_000_000)
    parser.add_argument("--data-dir", default=os.path.join("runs", "benchmark-streaming-records"))
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--pass", nargs="+", dest="one_pass", help=argparse.SUPPRESS)
    parser.add_argument(
        "--render", action="store_true", help="write the report again from the results file"
    )
    args = parser.parse_args(argv)
    if args.render:
        with open(os.path.join(args.out, "streaming_memory.json")) as f:
            write_report(json.load(f), args.out)
        return
    if args.one_pass:
        folder, transform_dir, mode, *eval_files = args.one_pass
        _pass(folder, eval_files, transform_dir, mode == "cache")
        return
    if not args.transform_run:
        parser.error("--transform-run is required")
    source = transformed_split(args.transform_run, "train")
    eval_files = transformed_split(args.transform_run, "eval")
    transform_dir = sorted(
        glob.glob(os.path.join(args.transform_run, "Transform", "transform_graph", "*"))
    )[-1]
    os.makedirs(args.out, exist_ok=True)
    rows: List[dict] = []
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    shard = 10_000 if args.quick else 1_000_000
    for size in sizes:
        folder = os.path.join(args.data_dir, str(size))
        print(f"{size:,} records:", flush=True)
        write_records(source, folder, size, shard)
        modes = [False] + ([True] if size <= args.memory_up_to else [])
        for cache in modes:
            result = measure(folder, eval_files, transform_dir, cache)
            rows.append(
                {**result, "input": "in memory" if cache else "streamed", **provenance.stamp()}
            )
            print(table(rows[-1:]).splitlines()[-1], flush=True)
            with open(os.path.join(args.out, "streaming_memory.json"), "w") as f:
                json.dump(rows, f, indent=1)
    write_report(rows, args.out)
    print(table(rows))


if __name__ == "__main__":
    main()
