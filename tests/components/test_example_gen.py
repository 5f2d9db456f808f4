"""The Beam executors: output layout, and records independent of the runner."""

import os

import numpy as np
import pytest
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts

from tests.helpers import read_examples
from tfx_seqgen.components import InvalidParameterError
from tfx_seqgen.components.example_gen import plan_shards, shard_path, write_shard
from tfx_seqgen.errors import InvalidTrainingConfig
from tfx_seqgen.pipeline import configs
from tfx_seqgen.pipeline.pipeline import create_pipeline
from tfx_seqgen.tasks.art.component import ArtExampleGen
from tfx_seqgen.tasks.lcd.component import LcdExampleGen

IN_MEMORY = ["--direct_running_mode=in_memory"]
TWO_PROCESSES = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


def generate(component, uri, beam_args):
    """Runs a component's executor as the orchestrator would; returns records per split."""
    examples = standard_artifacts.Examples()
    examples.uri = uri
    executor_class = component.executor_spec.executor_class
    executor = executor_class(
        base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args)
    )
    executor.Do({}, {"examples": [examples]}, dict(component.exec_properties))
    splits = artifact_utils.decode_split_names(examples.split_names)
    records = {s: read_examples(os.path.join(uri, f"Split-{s}")) for s in splits}
    return examples, records


def file_bytes(split_dir) -> dict:
    return {name: (split_dir / name).read_bytes() for name in sorted(os.listdir(split_dir))}


def as_set(examples):
    return sorted(e.SerializeToString(deterministic=True) for e in examples)


def test_plan_shards_covers_every_index_once():
    shards = plan_shards({"train": 25, "eval": 10}, shard_size=10)
    assert shards == {"train": [(0, 10), (10, 20), (20, 25)], "eval": [(0, 10)]}


@pytest.mark.e2e
def test_lcd_output_is_a_standard_examples_artifact(tmp_path):
    component = LcdExampleGen(
        train_per_period=4, eval_per_period=3, calibration_per_period=2, shard_size=7
    )
    examples, records = generate(component, str(tmp_path), IN_MEMORY)
    split_names = artifact_utils.decode_split_names(examples.split_names)
    assert split_names == ["train", "eval", "calibration"]
    assert examples_utils.get_payload_format(examples) == example_gen_pb2.FORMAT_TF_EXAMPLE
    assert len(records["train"]) == 20 and len(records["eval"]) == 12
    assert len(records["calibration"]) == 8  # 2 at each of the 4 eval periods
    assert examples.get_int_custom_property("num_examples_train") == 20
    feature = records["train"][0].features.feature
    assert set(feature) == {"x", "period"}
    assert len(feature["x"].float_list.value) == 26 and len(feature["period"].float_list.value) == 1
    # One file per shard of at most 7 records, named by its index; nothing else is left.
    assert sorted(os.listdir(tmp_path / "Split-train")) == [
        "data_tfrecord-00000-of-00003.gz",
        "data_tfrecord-00001-of-00003.gz",
        "data_tfrecord-00002-of-00003.gz",
    ]
    assert len(os.listdir(tmp_path / "Split-eval")) == 2
    assert sorted(os.listdir(tmp_path)) == ["Split-calibration", "Split-eval", "Split-train"]
    # Every record is the dataset's row, whole: shards add, drop or alter nothing.
    for split, size in component.dataset.split_sizes().items():
        arrays = component.dataset.arrays(split, 0, size)
        expected = sorted(zip(map(tuple, arrays["x"]), arrays["period"][:, 0], strict=True))
        written = sorted(
            (
                tuple(np.float32(e.features.feature["x"].float_list.value)),
                np.float32(e.features.feature["period"].float_list.value[0]),
            )
            for e in records[split]
        )
        assert written == expected, split


@pytest.mark.e2e
@pytest.mark.parametrize(
    "make",
    [
        lambda seed: LcdExampleGen(
            train_per_period=30, eval_per_period=10, seed=seed, shard_size=17
        ),
        lambda seed: ArtExampleGen(train_count=300, eval_count=50, seed=seed, shard_size=40),
    ],
    ids=["lcd", "art"],
)
def test_same_records_in_memory_and_with_two_worker_processes(make, tmp_path):
    _, in_memory = generate(make(5), str(tmp_path / "a"), IN_MEMORY)
    _, parallel = generate(make(5), str(tmp_path / "b"), TWO_PROCESSES)
    _, reseeded = generate(make(6), str(tmp_path / "d"), IN_MEMORY)
    for split in ("train", "eval"):
        # Two runs, in different processes, give the same records: the seed decides them.
        assert as_set(in_memory[split]) == as_set(parallel[split])
        assert not set(as_set(in_memory[split])) & set(as_set(reseeded[split]))
        # The files themselves are the same, byte for byte, whichever process wrote them.
        assert file_bytes(tmp_path / "a" / f"Split-{split}") == file_bytes(
            tmp_path / "b" / f"Split-{split}"
        )


@pytest.mark.parametrize(
    "task,params,name",
    [
        ("lcd", {"train_periods": []}, "train_periods"),
        ("lcd", {"x0_low": 5.0}, "x0_high"),
        ("lcd", {"length": 1}, "length"),
        ("art", {"num_pairs": 30}, "num_pairs"),
        ("art", {"alphabet": "aab"}, "alphabet"),
        ("art", {"train_count": -1}, "train_count"),
    ],
)
def test_bad_parameters_fail_when_the_pipeline_is_built(task, params, name, tmp_path, no_beam):
    with pytest.raises(InvalidParameterError) as raised:
        create_pipeline("p", str(tmp_path), task, params, configs.training_params(task, "demo"))
    assert raised.value.name == name
    assert not os.listdir(tmp_path)  # nothing was written


def test_bad_training_settings_fail_when_the_pipeline_is_built(tmp_path, no_beam):
    training = {**configs.training_params("lcd", "demo"), "batch_size": 0}
    with pytest.raises(InvalidTrainingConfig, match="batch_size=0 is invalid"):
        create_pipeline("p", str(tmp_path), "lcd", {}, training)
    assert not os.listdir(tmp_path)


def test_a_shard_written_twice_leaves_one_whole_file(tmp_path):
    """Runners may run a bundle again after a failure, or twice at once."""
    dataset = LcdExampleGen(train_per_period=4, eval_per_period=3).dataset
    split_dir, temporary = tmp_path / "Split-train", tmp_path / ".writing"
    split_dir.mkdir()
    temporary.mkdir()
    path = shard_path(str(split_dir), 1, 2)
    for _ in range(2):
        write_shard(("train", path, 10, 20), dataset, str(temporary))
    assert os.listdir(split_dir) == ["data_tfrecord-00001-of-00002.gz"]
    assert not os.listdir(temporary)
    # Records 10..19 of the train split, 4 per period from 0.5: the end of 2.5, 3.5, 4.5.
    periods = [e.features.feature["period"].float_list.value[0] for e in read_examples(split_dir)]
    assert periods == [2.5, 2.5, 3.5, 3.5, 3.5, 3.5, 4.5, 4.5, 4.5, 4.5]
