"""EvalSample: at most N eval examples per slice value, the same ones on every runner."""

import collections
import os

import pytest
import tensorflow as tf
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts

from tests.helpers import read_examples
from tfx_seqgen import tasks
from tfx_seqgen.components.eval_sample import EvalSample, EvalSampleExecutor
from tfx_seqgen.errors import InvalidParameterError
from tfx_seqgen.pipeline import configs
from tfx_seqgen.pipeline.pipeline import create_pipeline

IN_MEMORY = ["--direct_running_mode=in_memory"]
TWO_PROCESSES = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
# Eval rows per period: one period smaller than the sample, one equal, two larger.
PER_PERIOD = {1.0: 2, 2.0: 5, 3.0: 9, 4.0: 30}


def example(row: int, period: float) -> tf.train.Example:
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                "row": tf.train.Feature(int64_list=tf.train.Int64List(value=[row])),
                "period": tf.train.Feature(float_list=tf.train.FloatList(value=[period])),
            }
        )
    )


@pytest.fixture
def source(tmp_path):
    """An Examples artifact whose eval split holds PER_PERIOD's rows in 3 files."""
    artifact = standard_artifacts.Examples()
    artifact.uri = str(tmp_path / "source")
    artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
    examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
    rows = [(r, p) for p, n in PER_PERIOD.items() for r in range(int(p) * 100, int(p) * 100 + n)]
    split = tmp_path / "source" / "Split-eval"
    split.mkdir(parents=True)
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    for index in range(3):
        with tf.io.TFRecordWriter(str(split / f"data-{index}.gz"), options) as writer:
            for row, period in rows[index::3]:
                writer.write(example(row, period).SerializeToString())
    return artifact


def run_sample(source, uri, beam_args=IN_MEMORY, **params) -> list:
    """Runs the executor as the orchestrator would; returns the sampled (period, row)s."""
    component = EvalSample(examples=_channel(), **params)
    output = standard_artifacts.Examples()
    output.uri = str(uri)
    executor = EvalSampleExecutor(
        base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args)
    )
    executor.Do(
        {"examples": [source]}, {"sampled_examples": [output]}, dict(component.exec_properties)
    )
    assert artifact_utils.decode_split_names(output.split_names) == ["eval"]
    assert examples_utils.get_payload_format(output) == example_gen_pb2.FORMAT_TF_EXAMPLE
    found = read_examples(os.path.join(uri, "Split-eval"))
    return sorted(
        (
            e.features.feature["period"].float_list.value[0],
            e.features.feature["row"].int64_list.value[0],
        )
        for e in found
    )


def _channel() -> types.Channel:
    return types.Channel(type=standard_artifacts.Examples)


def test_every_period_keeps_at_most_n_rows_and_a_small_one_whole(source, tmp_path):
    kept = run_sample(source, tmp_path / "a", per_slice=5, slice_features=["period"])
    counts = collections.Counter(period for period, _ in kept)
    assert counts == {1.0: 2, 2.0: 5, 3.0: 5, 4.0: 5}
    assert len(set(kept)) == len(kept)
    # Each kept row is one of its period's rows, as written.
    assert all(
        int(period) * 100 <= row < int(period) * 100 + PER_PERIOD[period] for period, row in kept
    )


def test_the_same_rows_on_another_runner_and_others_with_another_seed(source, tmp_path):
    params = {"per_slice": 5, "slice_features": ["period"]}
    first = run_sample(source, tmp_path / "a", **params)
    assert run_sample(source, tmp_path / "b", TWO_PROCESSES, **params) == first
    other = run_sample(source, tmp_path / "c", seed=1, **params)
    assert other != first
    assert collections.Counter(p for p, _ in other) == collections.Counter(p for p, _ in first)


def test_without_slicing_features_the_split_is_one_slice(source, tmp_path):
    kept = run_sample(source, tmp_path / "a", per_slice=7, slice_features=[])
    assert len(kept) == 7


def test_examples_without_an_eval_split_are_refused_naming_it(source, tmp_path):
    source.split_names = artifact_utils.encode_split_names(["train"])
    with pytest.raises(ValueError, match="no 'eval' split"):
        run_sample(source, tmp_path / "a", per_slice=5, slice_features=["period"])
    assert not os.path.exists(tmp_path / "a" / "Split-eval")


@pytest.mark.parametrize("value", [0, -2, True, 1.5])
def test_a_bad_sample_size_is_refused_before_the_pipeline_is_built(value, tmp_path, no_beam):
    with pytest.raises(InvalidParameterError, match=f"eval_sample_per_slice={value!r} is invalid"):
        create_pipeline(
            "p",
            str(tmp_path),
            "lcd",
            {},
            configs.training_params("lcd", "demo"),
            evaluation_params={"eval_sample_per_slice": value},
        )
    assert not os.listdir(tmp_path)


def test_the_evaluator_reads_the_sample_sliced_as_the_task_slices(tmp_path, no_beam):
    training = configs.training_params("lcd", "demo")
    plain = create_pipeline("p", str(tmp_path), "lcd", {}, training)
    assert "EvalSample" not in {c.id for c in plain.components}
    sampled = create_pipeline(
        "p", str(tmp_path), "lcd", {}, training, evaluation_params={"eval_sample_per_slice": 50}
    )
    nodes = {c.id: c for c in sampled.components}
    sample, evaluator = nodes["EvalSample"], nodes["Evaluator"]
    assert sample.exec_properties["per_slice"] == 50
    assert sample.exec_properties["slice_features"] == '["period"]'  # LCD's slices
    assert evaluator.inputs["examples"].producer_component_id == "EvalSample"
    assert sample.inputs["examples"].producer_component_id == "LcdExampleGen"
    assert tasks.get("lcd").evaluation_params()["eval_sample_per_slice"] is None
