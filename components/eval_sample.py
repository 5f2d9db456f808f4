"""EvalSample: a fixed-size, stratified sample of the eval split for the Evaluator.

The Evaluator scores both models on every eval example, drawing
`eval_samples` trajectories per example: on a split of millions of examples
that is most of a run. With `--eval eval_sample_per_slice=N` the pipeline
puts this component between the data and the Evaluator: it keeps at most N
examples of each value of the task's slicing features (LCD's `period`, the
columns a `sequences` run slices by), so every slice the blessing and its
tables report is still there, and a small slice is kept whole.

Which examples are kept depends on their bytes and `seed` alone: each gets a
score, a keyed hash of its serialized form, and each slice keeps its N
lowest (Beam's `Top.SmallestPerKey`). A re-run, another runner or another
number of workers keeps the same examples, and no worker holds more than N
examples per slice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any, Dict, List, Tuple

import apache_beam as beam
import tensorflow as tf
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_component, base_beam_executor, executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

_log = logging.getLogger(__name__)

EXAMPLES_KEY = "examples"  # the input: the data component's examples
SAMPLE_KEY = "sampled_examples"  # the output: an Examples artifact with an `eval` split
SPLIT = "eval"


def slice_features(eval_config: Any) -> List[str]:
    """The feature names an EvalConfig slices by, in order, each once."""
    names: List[str] = []
    for spec in eval_config.slicing_specs:
        names += [key for key in spec.feature_keys if key not in names]
    return names


def stratum(example: tf.train.Example, features: List[str]) -> Tuple:
    """The values of `features` in `example`: the slice it belongs to (() if absent)."""
    values = []
    for name in features:
        feature = example.features.feature.get(name)
        kind = feature.WhichOneof("kind") if feature is not None else None
        values.append(tuple(getattr(feature, kind).value) if kind else ())
    return tuple(values)


def score(record: bytes, seed: int) -> int:
    """A record's place in the sample's order: a keyed hash of its bytes, stable everywhere."""
    digest = hashlib.blake2b(record, digest_size=8, key=seed.to_bytes(8, "little", signed=True))
    return int.from_bytes(digest.digest(), "little")


@beam.ptransform_fn
def Sample(records: beam.PCollection, features: List[str], per_slice: int, seed: int):  # noqa: N802
    """At most `per_slice` records of each stratum of `features`: those of lowest score."""
    return (
        records
        | "Stratum" >> beam.Map(lambda r: (stratum(tf.train.Example.FromString(r), features), r))
        | "Keep" >> beam.combiners.Top.SmallestPerKey(per_slice, key=lambda r: score(r, seed))
        | "Records" >> beam.FlatMap(lambda kept: kept[1])
    )


class EvalSampleSpec(ComponentSpec):
    PARAMETERS = {
        "per_slice": ExecutionParameter(type=int),
        "slice_features": ExecutionParameter(type=str),  # a JSON list
        "seed": ExecutionParameter(type=int),
    }
    INPUTS = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {SAMPLE_KEY: ChannelParameter(type=standard_artifacts.Examples)}


class EvalSampleExecutor(base_beam_executor.BaseBeamExecutor):
    """Writes the sample as the output's `eval` split, gzipped TFRecords of tf.Example."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        source = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        if SPLIT not in artifact_utils.decode_split_names(source.split_names):
            raise ValueError(
                f"EvalSample: the examples at {source.uri} have no {SPLIT!r} split "
                f"(they have {source.split_names}); the Evaluator needs one."
            )
        if examples_utils.get_payload_format(source) != example_gen_pb2.FORMAT_TF_EXAMPLE:
            raise ValueError(
                f"EvalSample: the examples at {source.uri} are "
                f"{examples_utils.get_payload_format_string(source)}; it samples tf.Example "
                "records only (FORMAT_TF_EXAMPLE). Leave eval_sample_per_slice unset."
            )
        examples = artifact_utils.get_single_instance(output_dict[SAMPLE_KEY])
        examples.split_names = artifact_utils.encode_split_names([SPLIT])
        features = json.loads(exec_properties["slice_features"])
        per_slice, seed = exec_properties["per_slice"], exec_properties["seed"]
        pattern = os.path.join(artifact_utils.get_split_uri([source], SPLIT), "*")
        split_dir = artifact_utils.get_split_uri([examples], SPLIT)
        tf.io.gfile.makedirs(split_dir)
        _log.info(
            "EvalSample: at most %d eval examples per value of %s, from %s",
            per_slice,
            features or "(no slicing feature: the whole split is one slice)",
            pattern,
        )
        with self._make_beam_pipeline() as pipeline:
            _ = (
                pipeline
                | "Read" >> beam.io.ReadFromTFRecord(pattern)
                | "Sample" >> Sample(features, per_slice, seed)
                | "Write"
                >> beam.io.WriteToTFRecord(
                    os.path.join(split_dir, "data_tfrecord"), file_name_suffix=".gz"
                )
            )
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)


class EvalSample(base_beam_component.BaseBeamComponent):
    """At most `per_slice` examples of each slice of the eval split (see the module)."""

    SPEC_CLASS = EvalSampleSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(EvalSampleExecutor)

    def __init__(
        self,
        examples: types.BaseChannel,
        per_slice: int,
        slice_features: List[str],
        seed: int = 0,
    ):
        if isinstance(per_slice, bool) or not isinstance(per_slice, int) or per_slice < 1:
            raise ValueError(
                f"EvalSample: per_slice={per_slice!r} is invalid; allowed: an integer at least 1."
            )
        super().__init__(
            spec=EvalSampleSpec(
                examples=examples,
                sampled_examples=types.Channel(type=standard_artifacts.Examples),
                per_slice=per_slice,
                slice_features=json.dumps(list(slice_features)),
                seed=seed,
            )
        )
