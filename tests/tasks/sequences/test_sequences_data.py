"""SequencesExampleGen on small CSV, Parquet and SequenceExample files (tasks/sequences/)."""

import gzip
import hashlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils, standard_artifacts

from tfx_seqgen.errors import InvalidParameterError, InvalidSequenceData
from tfx_seqgen.tasks.sequences import blocks, tables
from tfx_seqgen.tasks.sequences.component import SequencesExampleGen
from tfx_seqgen.tasks.sequences.data import SequencesDataset

COLUMNS = dict(id="meter", step="hour", values=["load", "temp"], context=["kind", "dose"])
SERIES = 120


def make_series(count: int = SERIES) -> dict:
    """{id: (values [length, 2], kind, dose)}: lengths 3 to 6, two channels."""
    rng = np.random.default_rng(3)
    series = {}
    for i in range(count):
        length = 3 + i % 4
        values = np.round(rng.normal(size=(length, 2)), 4).astype(np.float32)
        series[f"m{i:03d}"] = (values, "ab"[i % 2], float(i % 5))
    return series


def long_frame(series: dict) -> pd.DataFrame:
    rows = [
        {"meter": sid, "hour": t, "load": v[t, 0], "temp": v[t, 1], "kind": kind, "dose": dose}
        for sid, (v, kind, dose) in series.items()
        for t in range(len(v))
    ]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # rows in no order


def expected_split(series_id: str, seed: int = 0) -> str:
    """The split rule written out: blake2b of "seed\\x1fid", 70% / 15% / 15%."""
    digest = hashlib.blake2b(f"{seed}\x1f{series_id}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "little") / 2.0**64
    return "train" if u < 0.7 else ("calibration" if u < 0.85 else "eval")


def run(component, uri):
    examples = standard_artifacts.Examples()
    examples.uri = str(uri)
    executor = component.executor_spec.executor_class(
        base_beam_executor.BaseBeamExecutor.Context(
            beam_pipeline_args=["--direct_running_mode=in_memory"]
        )
    )
    executor.Do({}, {"examples": [examples]}, dict(component.exec_properties))
    records = {}
    for split in artifact_utils.decode_split_names(examples.split_names):
        files = tf.io.gfile.glob(os.path.join(str(uri), f"Split-{split}", "*"))
        records[split] = [
            tf.train.Example.FromString(r.numpy())
            for r in tf.data.TFRecordDataset(files, compression_type="GZIP")
        ]
    return examples, records


def decoded(records: dict) -> dict:
    """{id: (split, values [length, 2], kind, dose, padded length)}."""
    out = {}
    for split, examples in records.items():
        for e in examples:
            f = e.features.feature
            length = f["length"].int64_list.value[0]
            flat = np.array(f["values"].float_list.value, np.float32).reshape(-1, 2)
            out[f["series_id"].bytes_list.value[0].decode()] = (
                split,
                flat[:length],
                f["kind"].bytes_list.value[0].decode(),
                f["dose"].float_list.value[0],
                len(flat),
                flat[length:],
            )
    return out


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("csv")
    frame = long_frame(make_series())
    half = len(frame) // 2  # a series' rows fall in both files
    frame.iloc[:half].to_csv(directory / "part-0.csv", index=False)
    frame.iloc[half:].to_csv(directory / "part-1.csv", index=False)
    return directory


def check_records(records):
    series = make_series()
    got = decoded(records)
    assert sorted(got) == sorted(series)
    for sid, (values, kind, dose) in series.items():
        split, read, read_kind, read_dose, padded, padding = got[sid]
        assert split == expected_split(sid), sid
        np.testing.assert_array_equal(read, values)  # in step order, both channels
        assert (read_kind, read_dose) == (kind, dose)
        assert padded == 6 and not padding.any()  # padded with zeros to the longest series


def test_csv_files_become_one_record_per_series_in_its_split(csv_dir, tmp_path):
    component = SequencesExampleGen(path=str(csv_dir / "*.csv"), **COLUMNS)
    examples, records = run(component, tmp_path)
    check_records(records)
    counts = {s: len(r) for s, r in records.items()}
    assert counts == {s: examples.get_int_custom_property(f"num_examples_{s}") for s in counts}


def test_parquet_and_sequence_examples_give_the_same_records(csv_dir, tmp_path):
    frame = pd.concat([pd.read_csv(p) for p in sorted(csv_dir.glob("*.csv"))])
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    parquet = SequencesExampleGen(path=str(tmp_path / "data.parquet"), **COLUMNS)
    check_records(run(parquet, tmp_path / "from-parquet")[1])

    path = tmp_path / "data.tfrecord.gz"
    with tf.io.TFRecordWriter(str(path), "GZIP") as writer:
        for sid, (values, kind, dose) in make_series().items():
            example = tf.train.SequenceExample()
            example.context.feature["meter"].bytes_list.value.append(sid.encode())
            example.context.feature["kind"].bytes_list.value.append(kind.encode())
            example.context.feature["dose"].float_list.value.append(dose)
            for channel, name in enumerate(("load", "temp")):
                for value in values[:, channel]:
                    lst = example.feature_lists.feature_list[name]
                    lst.feature.add().float_list.value.append(value)
            writer.write(example.SerializeToString())
    records = run(SequencesExampleGen(path=str(path), **COLUMNS), tmp_path / "from-records")[1]
    check_records(records)


def test_a_holdout_keeps_a_context_value_out_of_training(csv_dir, tmp_path):
    component = SequencesExampleGen(path=str(csv_dir / "*.csv"), holdout={"kind": "b"}, **COLUMNS)
    got = decoded(run(component, tmp_path)[1])
    assert {got[s][0] for s in got if got[s][2] == "a"} == {"train"}
    assert {got[s][0] for s in got if got[s][2] == "b"} == {"eval", "calibration"}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"values": []}, "values=[] is invalid; allowed: a list of distinct column names"),
        ({"format": "xlsx"}, "format='xlsx' is invalid; allowed: one of auto, csv"),
        ({"holdout": {"season": "2"}}, "holdout={'season': '2'} is invalid"),
        ({"eval_fraction": 0.5, "calibration_fraction": 0.5}, "calibration_fraction=0.5"),
        ({"context": ["load"]}, "columns=['load'] is invalid; allowed: each column in one role"),
    ],
)
def test_bad_parameters_are_refused_naming_them(params, message):
    with pytest.raises(InvalidParameterError, match=message.replace("[", r"\[")):
        SequencesDataset(**{"path": "x.csv", **COLUMNS, **params})


def write_csv(directory, frame, name="data.csv"):
    directory.mkdir(exist_ok=True)
    frame.to_csv(directory / name, index=False)
    return str(directory / name)


def test_missing_files_and_columns_are_refused_when_the_component_is_built(tmp_path):
    with pytest.raises(InvalidSequenceData, match=r"path='.*nothing\*\.csv' matches no file"):
        SequencesExampleGen(path=str(tmp_path / "nothing*.csv"), **COLUMNS)
    path = write_csv(tmp_path, long_frame(make_series(3)).rename(columns={"temp": "temperature"}))
    with pytest.raises(InvalidSequenceData, match="data.csv has no column 'temp'; its columns: "):
        SequencesExampleGen(path=path, **COLUMNS)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InvalidSequenceData, match="empty.csv is empty"):
        SequencesExampleGen(path=str(tmp_path / "empty.csv"), **COLUMNS)


def _broken(frame):
    frame = frame.sort_values(["meter", "hour"]).reset_index(drop=True)
    frame["load"] = frame["load"].astype(object)
    return frame


@pytest.mark.parametrize(
    "breaking, message",
    [
        (
            lambda f: f.assign(load=f["load"].where(f.index != 4, "high")),
            "value column 'load' holds 'high' in series 'm001'; allowed: finite numbers",
        ),
        (
            lambda f: f.assign(load=f["load"].where(f.index != 4, np.nan)),
            "value column 'load' holds nan in series 'm001'",
        ),
        (
            lambda f: f.assign(load=f["load"].where(f.index != 4, 1e39)),
            "value column 'load' holds 1e[+]39 in series 'm001', beyond float32's range",
        ),
        (
            lambda f: f.assign(kind=f["kind"].where(f.index != 4, "z")),
            "context column 'kind' changes within series 'm001'",
        ),
        (
            lambda f: f.assign(hour=f["hour"].where(f.index != 4, 0)),
            "series 'm001' (.*): step 0 appears twice",
        ),
        (
            lambda f: f[~((f["meter"] == "m000") & (f["hour"] > 0))],
            "series 'm000' (.*): 1 step; allowed: at least 2 steps",
        ),
    ],
)
def test_bad_data_stops_the_job_naming_file_column_and_series(tmp_path, breaking, message):
    path = write_csv(tmp_path, breaking(_broken(long_frame(make_series(40)))))
    with pytest.raises(Exception, match=message) as raised:
        run(SequencesExampleGen(path=path, **COLUMNS), tmp_path / "out")
    assert "data.csv" in str(raised.value)


def test_too_few_series_for_the_splits_are_refused_saying_what_to_change(tmp_path):
    path = write_csv(tmp_path, long_frame(make_series(20)))
    with pytest.raises(
        InvalidSequenceData, match="the calibration split has .* series; a 90% band"
    ):
        run(SequencesExampleGen(path=path, **COLUMNS), tmp_path / "few")
    with pytest.raises(InvalidSequenceData, match="no series is left to train on with holdout"):
        frame = long_frame(make_series(40)).assign(kind="a")  # one value: everything held out
        run(
            SequencesExampleGen(
                path=write_csv(tmp_path, frame, "one.csv"), holdout={"kind": "a"}, **COLUMNS
            ),
            tmp_path / "single",
        )


def rows(ids, steps, file="a.csv", kind=None):
    """Rows of one file's chunk: one channel whose value is the step, one context column."""
    n = len(ids)
    return blocks.Rows(
        blocks.Text.of(ids),
        np.array(steps),
        np.arange(n, dtype=np.float32).reshape(n, 1),
        (blocks.Text.of(kind or ["k"] * n),),
        np.zeros(n, np.int32),
        (file,),
    )


def test_a_bucket_assembles_series_whose_rows_came_from_several_files_in_step_order():
    block = blocks.assemble(
        [rows(["b", "a", "a"], [2, 1, 0], "one.csv"), rows(["a", "b"], [2, 1], "two.csv")],
        ["kind"],
    )
    got = {s.id: (s.values[:, 0].tolist(), s.context) for s in block.series()}
    # Values are each row's position in its file's chunk: a = steps 0, 1, 2 -> 2, 1, 0.
    assert got == {"a": ([2.0, 1.0, 0.0], ("k",)), "b": ([1.0, 0.0], ("k",))}
    assert block.longest == 3


@pytest.mark.parametrize(
    "pieces, message",
    [
        (
            [rows(["a", "a"], [0, 1], "one.csv"), rows(["a"], ["x"], "two.csv")],
            r"series 'a' \(one.csv, two.csv\): its steps mix numbers and text",
        ),
        (
            [rows(["a", "a"], [0, 1], "one.csv"), rows(["a"], [1], "two.csv")],
            r"series 'a' \(one.csv, two.csv\): step 1 appears twice",
        ),
        (
            [rows(["a", "a"], [0, 1], kind=["k", "j"])],
            r"context column 'kind' changes within series 'a' \(a.csv\) \('k', then 'j'\)",
        ),
    ],
)
def test_a_bucket_refuses_series_whose_rows_disagree_across_files(pieces, message):
    with pytest.raises(InvalidSequenceData, match=message):
        blocks.assemble(pieces, ["kind"])


def test_a_series_falls_in_the_same_bucket_in_every_process():
    """Workers bucket rows independently: a process with another hash seed agrees."""
    ids = ["m0000001", "m0000002", "speaker-7", "7"]
    code = (
        "import numpy as np; from tfx_seqgen.tasks.sequences import blocks; "
        f"print(blocks.bucket_of(np.array({ids!r}), 1000).tolist())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )
    here = blocks.bucket_of(np.array(ids), 1000).tolist()
    assert other.stdout.split("\n")[-2] == str(here)
    assert len(set(here)) > 1 and all(0 <= b < 1000 for b in here)


def test_a_csv_read_in_byte_ranges_gives_every_row_once(tmp_path):
    """Ranges of 97 bytes cut lines anywhere; each line belongs to the range it starts in."""
    frame = long_frame(make_series(12))
    path = write_csv(tmp_path, frame)
    dataset = SequencesDataset(path=path, **COLUMNS)
    plan = tables.read_plan(dataset, [path], range_bytes=97)
    assert len(plan) == -(-os.path.getsize(path) // 97)
    text = ["meter", "kind"]
    parts = [
        chunk
        for file, start, stop in plan
        for chunk in tables.chunks(
            file, "csv", list(frame.columns), text=text, byte_range=(start, stop)
        )
    ]
    read = pd.concat(parts, ignore_index=True)
    expected = pd.read_csv(path, dtype={"meter": str, "kind": str})
    pd.testing.assert_frame_equal(read[list(expected.columns)], expected)
    # A gzipped CSV cannot be cut: it is read whole.
    with open(path, "rb") as plain, gzip.open(path + ".gz", "wb") as packed:
        packed.write(plain.read())
    assert tables.read_plan(dataset, [path + ".gz"], range_bytes=97) == [(path + ".gz", 0, None)]
