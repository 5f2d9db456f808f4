"""The machinery of TFX components that generate a task's dataset with Apache Beam.

A task's component (tasks/<task>/component.py) is a DatasetComponent over
its dataset class, whose `split_sizes()` and `arrays(split, start, stop)`
say what to write.

The driver only plans shards (a split name and an index range each); workers
generate, serialize and write their shard's records, so no process ever holds
the whole dataset and the same component scales from the DirectRunner to
Dataflow through the pipeline's `beam_pipeline_args`. Because every record's
randomness comes from (seed, split, index) alone, the records written do
not depend on the runner, the number of workers or the shard size.

Each shard is one gzipped TFRecord file, `data_tfrecord-00007-of-00010.gz`,
written by TensorFlow's C++ writer under a temporary name and renamed into
place. Beam's `WriteToTFRecord` would hand every record through the runner
and frame it in Python, which measured 0.6x the records a second per core of
this path (BENCHMARKS.md). The rename keeps a retried or duplicated shard
(runners may run a bundle twice) from leaving a partial or doubled file, and
file names fixed by the shard index make the output byte-identical on every
runner.
"""

from __future__ import annotations

import json
import logging
import os
import types as python_types
import typing
import uuid
from typing import Any, ClassVar, Dict, Iterable, List

import apache_beam as beam
import numpy as np
import tensorflow as tf
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_component, base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ExecutionParameter

from tfx_seqgen.components.validation import build_dataset

EXAMPLES_KEY = "examples"
FILE_PREFIX = "data_tfrecord"
_METRICS_NAMESPACE = "seqgen"
_log = logging.getLogger(__name__)


def plan_shards(sizes: Dict[str, int], shard_size: int) -> Dict[str, List[tuple]]:
    """Index ranges [start, stop) of at most `shard_size` records, per split."""
    return {
        split: [(start, min(start + shard_size, size)) for start in range(0, size, shard_size)]
        for split, size in sizes.items()
    }


def serialize(arrays: Dict[str, np.ndarray]) -> List[bytes]:
    """Rows of equally long 2-D arrays as serialized tf.Examples."""
    columns = {name: values.tolist() for name, values in arrays.items()}
    kinds = {name: values.dtype.kind for name, values in arrays.items()}
    records = []
    for row in range(len(next(iter(arrays.values())))):
        example = tf.train.Example()
        for name, values in columns.items():
            feature = example.features.feature[name]
            if kinds[name] == "f":
                feature.float_list.value.extend(values[row])
            elif kinds[name] in "iu":
                feature.int64_list.value.extend(values[row])
            else:
                feature.bytes_list.value.extend(values[row])
        # Deterministic: map entries in a fixed order, so a record's bytes do not
        # depend on the process (its hash seed) that wrote it.
        records.append(example.SerializeToString(deterministic=True))
    return records


# Where shards are written before their rename, inside the output artifact
# but outside every split directory, so no reader of a split ever lists them.
TEMPORARY_DIR = ".writing"


def shard_path(split_dir: str, index: int, count: int) -> str:
    """The file of shard `index` of a split's `count`."""
    return os.path.join(split_dir, f"{FILE_PREFIX}-{index:05d}-of-{count:05d}.gz")


def write_records(records: Iterable[bytes], path: str, temporary_dir: str) -> int:
    """Writes a shard's records under a temporary name, then moves the finished file to
    `path`; returns how many it wrote."""
    partial = os.path.join(temporary_dir, f"{uuid.uuid4().hex}.gz")
    count = 0
    with tf.io.TFRecordWriter(partial, tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
        for record in records:
            writer.write(record)
            count += 1
    tf.io.gfile.rename(partial, path, overwrite=True)
    return count


def write_shard(shard: tuple, dataset: Any, temporary_dir: str) -> None:
    """Generates one shard's records and moves its finished file into place."""
    split, path, start, stop = shard
    written = write_records(serialize(dataset.arrays(split, start, stop)), path, temporary_dir)
    beam.metrics.Metrics.counter(_METRICS_NAMESPACE, f"{split}_examples").inc(written)


def _json_fields(dataset_class: type) -> List[str]:
    """Fields MLMD cannot store as they are (lists, dicts): they travel as JSON text."""
    return [
        name
        for name, field in dataset_class.model_fields.items()
        if typing.get_origin(field.annotation) in (list, tuple, dict)
    ]


def _parameter(annotation: Any) -> ExecutionParameter:
    """An execution parameter of a field's type; `X | None` is an optional X."""
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    union = typing.get_origin(annotation) in (typing.Union, python_types.UnionType)
    if union and len(arguments) == 1:
        return ExecutionParameter(type=arguments[0], optional=True)
    return ExecutionParameter(type=annotation)


def spec_parameters(dataset_class: type) -> Dict[str, ExecutionParameter]:
    """One execution parameter per dataset field, so MLMD records each one.

    MLMD stores no lists or dicts, so those fields travel as JSON text: that
    way they are recorded with the execution and take part in the cache key.
    """
    as_json = _json_fields(dataset_class)
    return {
        name: ExecutionParameter(type=str) if name in as_json else _parameter(field.annotation)
        for name, field in dataset_class.model_fields.items()
    }


def to_exec_properties(dataset: Any) -> Dict[str, Any]:
    properties = dataset.model_dump()
    for name in _json_fields(type(dataset)):
        properties[name] = json.dumps(properties[name], sort_keys=True)
    return {name: value for name, value in properties.items() if value is not None}


def from_exec_properties(dataset_class: type, properties: Dict[str, Any]) -> Any:
    params = {name: properties.get(name) for name in dataset_class.model_fields}
    for name in _json_fields(dataset_class):
        params[name] = json.loads(params[name])
    return dataset_class(**{name: value for name, value in params.items() if value is not None})


class DatasetExecutor(base_beam_executor.BaseBeamExecutor):
    """Writes a dataset's splits as gzipped TFRecords of tf.Example."""

    DATASET: ClassVar[type]

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        dataset = from_exec_properties(self.DATASET, exec_properties)
        examples = artifact_utils.get_single_instance(output_dict[EXAMPLES_KEY])
        sizes = dataset.split_sizes()
        shards = plan_shards(sizes, dataset.shard_size)
        examples.split_names = artifact_utils.encode_split_names(list(sizes))
        _log.info(
            "%s: generating %s records in %d shards of at most %d.",
            type(self).__name__,
            ", ".join(f"{n} {split}" for split, n in sizes.items()),
            sum(len(s) for s in shards.values()),
            dataset.shard_size,
        )
        work = []
        for split, bounds in shards.items():
            split_dir = artifact_utils.get_split_uri([examples], split)
            tf.io.gfile.makedirs(split_dir)
            work += [
                (split, shard_path(split_dir, index, len(bounds)), start, stop)
                for index, (start, stop) in enumerate(bounds)
            ]
        temporary_dir = os.path.join(examples.uri, TEMPORARY_DIR)
        tf.io.gfile.makedirs(temporary_dir)
        with self._make_beam_pipeline() as pipeline:
            _ = (
                pipeline
                | "PlanShards" >> beam.Create(work)
                | "Distribute" >> beam.Reshuffle()
                | "GenerateAndWrite" >> beam.Map(write_shard, dataset, temporary_dir)
            )
        tf.io.gfile.rmtree(temporary_dir)
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
        for split, size in sizes.items():
            examples.set_int_custom_property(f"num_examples_{split}", size)
        _log.info("%s: wrote %s", type(self).__name__, examples.uri)


class DatasetComponent(base_beam_component.BaseBeamComponent):
    """Builds its spec from a validated dataset (a tfx_seqgen.schema.Schema), so bad
    values fail at build time."""

    DATASET: ClassVar[type]

    def __init__(self, **params: Any):
        dataset = build_dataset(self.DATASET, params)
        super().__init__(
            spec=self.SPEC_CLASS(
                examples=types.Channel(type=standard_artifacts.Examples),
                **to_exec_properties(dataset),
            )
        )
        self.dataset = dataset
