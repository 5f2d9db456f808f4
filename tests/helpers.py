"""Readers for what the pipeline writes, and a way to run callers concurrently."""

import glob
import json
import os
import subprocess
import sys
import threading

import tensorflow as tf

PROBE = os.path.join(os.path.dirname(__file__), "saved_model_probe.py")


def read_examples(split_dir: str) -> list:
    """Every tf.Example in a split directory's gzipped TFRecord files."""
    files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
    assert files, f"no TFRecord files in {split_dir}"
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf.train.Example.FromString(r.numpy()) for r in records]


def probe(path: str, task: str) -> dict:
    """The JSON report of saved_model_probe.py on a SavedModel, run in a fresh process."""
    result = subprocess.run(
        [sys.executable, PROBE, path, task], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT "))


def run_concurrently(calls) -> None:
    """Starts every call on its own thread at once, and waits for all of them."""
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
