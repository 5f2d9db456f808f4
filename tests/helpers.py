"""Readers for what the pipeline writes, checks that two runs agree, and concurrent callers."""

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


def records(run, node_id, key, split):
    """A run's records of one output and split, serialized and sorted."""
    from tfx_seqgen.pipeline.run_summary import output_of

    uri = output_of(run.components, node_id, key).uri
    return sorted(
        e.SerializeToString(deterministic=True)
        for e in read_examples(os.path.join(uri, f"Split-{split}"))
    )


def assert_same_data(run, lcd_run) -> None:
    """`run` executed and produced the generator's and Transform's records of the in-process run."""
    assert {c.state for c in run.components} == {"executed"}
    for split in ("train", "eval"):
        for node_id, key in (
            ("LcdExampleGen", "examples"),
            ("Transform", "transformed_examples"),
        ):
            assert records(run, node_id, key, split) == records(lcd_run, node_id, key, split)


def assert_same_data_and_scores(run, lcd_run) -> None:
    """`run` produced the records and deterministic scores of the in-process run."""
    import pytest

    from tfx_seqgen.pipeline import local_runs

    assert_same_data(run, lcd_run)
    # The same metrics, and the same values for both models' deterministic ones.
    # The candidate's sampled scores are left out: its band's calibration trains
    # a fold model that is not bitwise reproducible from run to run yet.
    rows, expected = local_runs.evaluation(run).rows, local_runs.evaluation(lcd_run).rows
    assert [(r.slice_name, r.metric) for r in rows] == [(r.slice_name, r.metric) for r in expected]
    deterministic = ("rollout MSE (mean h0)", "teacher-forced MSE (scaled)")
    # Equal up to float rounding: workers batch the eval examples differently,
    # and a matrix product of another shape rounds differently (measured: 4e-8
    # relative). A different model or data would differ by far more than 1e-6.
    for row, want in zip(rows, expected, strict=True):
        assert row.baseline == pytest.approx(want.baseline, rel=1e-6), (row, want)
        if row.metric in deterministic:
            assert row.candidate == pytest.approx(want.candidate, rel=1e-6), (row, want)


# Run first in every check of the installed copy: this environment's editable
# install of the repository adds an import finder that would serve any module
# missing from the installed copy out of the repository, and hide that it is missing.
ONLY_THE_INSTALLED_COPY = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if not getattr(f, "__module__", "").startswith("__editable__")]
"""

# Run last: every module of ours that was imported came from the installed copy.
ALL_FROM = """
loaded = {{n: m.__file__ for n, m in sys.modules.items() if n.split(".")[0] == "tfx_seqgen"}}
elsewhere = {{n: f for n, f in loaded.items() if not f.startswith({site!r})}}
assert loaded and not elsewhere, elsewhere
"""


def installed_copy_only(script: str, site) -> str:
    """`script` made to import our package from the installed copy at `site` alone, and
    to fail if any module of ours came from anywhere else."""
    return ONLY_THE_INSTALLED_COPY + script + ALL_FROM.format(site=str(site))
