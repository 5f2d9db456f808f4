"""SequencesExampleGen: the user's sequence files, one tf.Example per series, split by id.

Reading is Beam's work from the first row: each worker reads whole files a
chunk at a time (tables.py) and cuts each chunk into rows by bucket of
series (a hash of the id); GroupByKey brings a bucket's rows together,
wherever they were; its series are sorted and checked together
(blocks.py), each assigned its split by a hash of its id (data.py) and
written padded to the longest series (series.py). No process holds a
file or a split, so it scales out on Dataflow, Flink or Spark like the
LCD and ART generators. Bad data stops the job with an error that names the
file, column or series; a split left with too few series stops it after
the counts are known, and nothing is published.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.io import tfrecordio
from apache_beam.metrics.metric import MetricsFilter
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor, executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec

from tfx_seqgen.components.example_gen import (
    EXAMPLES_KEY,
    TEMPORARY_DIR,
    DatasetComponent,
    from_exec_properties,
    shard_path,
    spec_parameters,
    write_records,
)
from tfx_seqgen.errors import InvalidSequenceData
from tfx_seqgen.models import conformal
from tfx_seqgen.tasks.sequences import blocks, tables
from tfx_seqgen.tasks.sequences import series as series_lib
from tfx_seqgen.tasks.sequences.data import SequencesDataset

SPLITS = ("train", "eval", "calibration")
_NAMESPACE = "seqgen"
_log = logging.getLogger(__name__)


def context_kinds(dataset: SequencesDataset, files: List[str]) -> Dict[str, str]:
    """Each context column's kind (numeric or categorical), from the first file; also
    refuses a table without the named columns."""
    first = files[0]
    if tables.file_format(dataset, first) != "tfrecord":
        return tables.inspect(dataset, first)
    record = next(iter(tf.data.TFRecordDataset(first, compression_type=_compression(first))), None)
    if record is None:
        raise InvalidSequenceData(f"SequencesExampleGen: {first} holds no records.")
    return series_lib.from_sequence_example(record.numpy(), dataset, first)[1]


def _compression(path: str) -> str:
    return "GZIP" if path.lower().endswith(".gz") else ""


def _record_rows(path: str, record: bytes, dataset, kinds: Dict[str, str], buckets: int):
    """(bucket, rows) of one SequenceExample, whose context kinds must be the first file's."""
    series, series_kinds = series_lib.from_sequence_example(record, dataset, path)
    if series_kinds != kinds:
        raise InvalidSequenceData(
            f"SequencesExampleGen: series {series.id!r} has context kinds {series_kinds}, the "
            f"first file's are {kinds}; a context column is numeric in every series or text "
            "in every series."
        )
    return int(blocks.bucket_of(np.array([series.id]), buckets)[0]), blocks.Rows.of_series(
        series, path
    )


def read_blocks(pipeline, dataset: SequencesDataset, files: List[str], kinds: Dict[str, str]):
    """(bucket, Block) for every bucket of series of every file: whole series, checked."""
    by_format: Dict[str, List[str]] = {}
    for path in files:
        by_format.setdefault(tables.file_format(dataset, path), []).append(path)
    buckets = tables.bucket_count(files)
    parts = []
    table_files = by_format.get("csv", []) + by_format.get("parquet", [])
    if table_files:
        parts.append(
            pipeline
            | "TableParts" >> beam.Create(tables.read_plan(dataset, table_files))
            | "SpreadParts" >> beam.Reshuffle()
            | "ReadRows" >> beam.FlatMap(lambda p: tables.pieces(dataset, kinds, buckets, p))
        )
    if by_format.get("tfrecord"):
        parts.append(
            pipeline
            | "RecordFiles" >> beam.Create(by_format["tfrecord"])
            | "ReadRecords" >> tfrecordio.ReadAllFromTFRecord(with_filename=True)
            | "RecordRows"
            >> beam.MapTuple(lambda p, r: _record_rows(p, r, dataset, kinds, buckets))
        )
    rows = parts[0] if len(parts) == 1 else tuple(parts) | "AllRows" >> beam.Flatten()
    return (
        rows
        | "GroupByBucket" >> beam.GroupByKey()
        | "Assemble" >> beam.MapTuple(lambda b, r: (b, blocks.assemble(r, dataset.context)))
    ), buckets


def write_block(
    bucket_block: tuple,
    dataset: SequencesDataset,
    longest: int,
    split_dirs: Dict[str, str],
    buckets: int,
    temporary_dir: str,
) -> None:
    """A bucket's series as one shard per split, each record padded to `longest` steps.

    A shard is named by its bucket alone, so a retried bundle rewrites its file.
    """
    bucket, block = bucket_block
    records: Dict[str, List[bytes]] = {split: [] for split in SPLITS}
    for series in block.series():
        context = dict(zip(dataset.context, series.context, strict=True))
        records[dataset.split_of(series.id, context)].append(
            series_lib.serialize(series, dataset, longest)
        )
    for split in SPLITS:
        path = shard_path(split_dirs[split], bucket, buckets)
        write_records(records[split], path, temporary_dir)
        beam.metrics.Metrics.counter(_NAMESPACE, f"{split}_series").inc(len(records[split]))


class SequencesExampleGenExecutor(base_beam_executor.BaseBeamExecutor):
    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        dataset = from_exec_properties(SequencesDataset, exec_properties)
        examples = artifact_utils.get_single_instance(output_dict[EXAMPLES_KEY])
        files = tables.list_files(dataset)
        kinds = context_kinds(dataset, files)
        _log.info("SequencesExampleGen: reading %d file(s); context kinds %s", len(files), kinds)
        examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
        pipeline = self._make_beam_pipeline()
        series, buckets = read_blocks(pipeline, dataset, files, kinds)
        longest = beam.pvalue.AsSingleton(
            series
            | "Lengths" >> beam.MapTuple(lambda bucket, block: block.longest)
            | "Longest" >> beam.CombineGlobally(max)
        )
        split_dirs = {split: artifact_utils.get_split_uri([examples], split) for split in SPLITS}
        temporary_dir = os.path.join(examples.uri, TEMPORARY_DIR)
        for directory in [*split_dirs.values(), temporary_dir]:
            tf.io.gfile.makedirs(directory)
        _ = series | "Write" >> beam.Map(
            write_block, dataset, longest, split_dirs, buckets, temporary_dir
        )
        result = pipeline.run()
        result.wait_until_finish()
        tf.io.gfile.rmtree(temporary_dir)
        counts = _counts(result)
        _check_counts(dataset, counts)
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
        for split in SPLITS:
            examples.set_int_custom_property(f"num_examples_{split}", counts[split])
        _log.info("SequencesExampleGen: wrote %s series to %s", counts, examples.uri)


def _counts(result) -> Dict[str, int]:
    counters = result.metrics().query(MetricsFilter().with_namespace(_NAMESPACE))["counters"]
    found = {c.key.metric.name: c.committed or c.attempted or 0 for c in counters}
    return {split: int(found.get(f"{split}_series", 0)) for split in SPLITS}


def _check_counts(dataset: SequencesDataset, counts: Dict[str, int]) -> None:
    """Refuses splits the pipeline cannot use, saying which parameter to change."""
    holdout = f" with holdout={dataset.holdout}" if dataset.holdout else ""
    if not counts["train"]:
        raise InvalidSequenceData(
            f"SequencesExampleGen: no series is left to train on{holdout} ({counts}); "
            "lower eval_fraction and calibration_fraction, or hold out a value that not "
            "every series has."
        )
    if not counts["eval"]:
        raise InvalidSequenceData(
            f"SequencesExampleGen: no series fell in the eval split{holdout} ({counts}); "
            "raise eval_fraction or add series."
        )
    if counts["calibration"] < conformal.needed():
        raise InvalidSequenceData(
            f"SequencesExampleGen: the calibration split has {counts['calibration']} series"
            f"{holdout}; a 90% band needs at least {conformal.needed()}: raise "
            "calibration_fraction or add series."
        )


class SequencesExampleGenSpec(ComponentSpec):
    PARAMETERS = spec_parameters(SequencesDataset)
    INPUTS: Dict[str, ChannelParameter] = {}
    OUTPUTS = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}


class SequencesExampleGen(DatasetComponent):
    """A user's sequences; keyword arguments are SequencesDataset's fields.

    Local files are checked when the component is built (they exist, hold the
    named columns), so a misspelt column fails before any component runs.
    """

    DATASET = SequencesDataset
    SPEC_CLASS = SequencesExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(SequencesExampleGenExecutor)

    def __init__(self, **params: Any):
        super().__init__(**params)
        if "://" not in self.dataset.path:  # remote files are checked by the executor
            context_kinds(self.dataset, tables.list_files(self.dataset))
