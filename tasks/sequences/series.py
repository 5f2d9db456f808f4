"""Whole series: read from SequenceExamples or assembled from table rows (blocks.py), then written.

A series is its id, its values [length, channels] in step order and its
context. It is written as one tf.Example of fixed shape, so Transform and
the Trainer see dense tensors: `series_id`, `length` (steps it has),
`values` [max_length * channels] (step-major, zero past `length`) and
one feature per context column (a float, or bytes for a categorical one).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf

from tfx_seqgen.errors import InvalidSequenceData
from tfx_seqgen.tasks.sequences.data import SequencesDataset

ID_FEATURE = "series_id"
LENGTH_FEATURE = "length"
VALUES_FEATURE = "values"


@dataclasses.dataclass(frozen=True)
class Series:
    id: str
    values: np.ndarray  # [length, channels], float32, in step order
    context: tuple  # one value per context column: float or str


def from_sequence_example(
    record: bytes, dataset: SequencesDataset, path: str
) -> Tuple[Series, Dict[str, str]]:
    """A series from a serialized tf.train.SequenceExample, and its context columns' kinds.

    The id and context columns are context features; each value column is a
    feature list with one float per step.
    """
    example = tf.train.SequenceExample.FromString(record)
    context, lists = example.context.feature, example.feature_lists.feature_list
    missing = [n for n in (dataset.id, *dataset.context) if n not in context]
    missing += [n for n in dataset.values if n not in lists]
    if missing:
        raise InvalidSequenceData(
            f"SequencesExampleGen: a SequenceExample in {path} has no {missing[0]!r}; its "
            f"context: {', '.join(context)}; its feature lists: {', '.join(lists)}."
        )
    series_id = str(_single(context[dataset.id], dataset.id, path))
    columns = []
    for name in dataset.values:
        steps = [list(f.float_list.value) or list(f.int64_list.value) for f in lists[name].feature]
        if any(len(step) != 1 for step in steps):
            raise InvalidSequenceData(
                f"SequencesExampleGen: {path}: series {series_id!r}: feature list {name!r} "
                "needs one number per step."
            )
        columns.append([step[0] for step in steps])
    if len({len(c) for c in columns}) > 1:
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path}: series {series_id!r}: its value feature lists have "
            f"different lengths {[len(c) for c in columns]}; allowed: one length per series."
        )
    values = np.asarray(columns, np.float64).T.reshape(len(columns[0]), len(columns))
    if not np.isfinite(values).all():
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path}: series {series_id!r} holds NaN or infinite values; "
            "allowed: finite numbers."
        )
    row_context = tuple(
        str(value) if name in dataset.categorical else value
        for name, value in ((n, _single(context[n], n, path)) for n in dataset.context)
    )
    kinds = {
        n: "categorical" if isinstance(v, str) else "numeric"
        for n, v in zip(dataset.context, row_context, strict=True)
    }
    if len(values) < 2:
        raise InvalidSequenceData(
            f"SequencesExampleGen: series {series_id!r} ({path}): {len(values)} step; allowed: "
            "at least 2 steps per series (a first value to start from and one to generate)."
        )
    return Series(series_id, values.astype(np.float32), row_context), kinds


def _single(feature: tf.train.Feature, name: str, path: str):
    kind = feature.WhichOneof("kind")
    values = list(getattr(feature, kind).value) if kind else []
    if len(values) != 1:
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path}: context feature {name!r} has {len(values)} values; "
            "allowed: one."
        )
    value = values[0]
    return value.decode("utf-8") if isinstance(value, bytes) else float(value)


def serialize(series: Series, dataset: SequencesDataset, max_length: int) -> bytes:
    """The tf.Example of a series, padded to `max_length` steps."""
    example = tf.train.Example()
    feature = example.features.feature
    feature[ID_FEATURE].bytes_list.value.append(series.id.encode("utf-8"))
    feature[LENGTH_FEATURE].int64_list.value.append(len(series.values))
    padded = np.zeros((max_length, series.values.shape[1]), np.float32)
    padded[: len(series.values)] = series.values
    feature[VALUES_FEATURE].float_list.value.extend(padded.reshape(-1).tolist())
    for name, value in zip(dataset.context, series.context, strict=True):
        if isinstance(value, str):
            feature[name].bytes_list.value.append(value.encode("utf-8"))
        else:
            feature[name].float_list.value.append(float(value))
    return example.SerializeToString(deterministic=True)
