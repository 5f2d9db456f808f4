"""Rows of many series at once: how table data travels through Beam, and how it becomes series.

A file's chunk is cut into `Rows` by bucket (a hash of the series id), so
every row of a series, from whatever file or chunk, meets the others in one
bucket after Beam's GroupByKey. A bucket's rows are sorted and checked in
NumPy, a whole bucket at a time, and kept as one `Block` of whole series.
Beam moves a few large arrays instead of one element per row or series,
which is what makes the read about as fast per core as a hand-written
pandas job; the number of buckets grows with the input, so a bucket, and a
worker's memory, stays about the same size at any scale.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Iterator, List, Tuple

import numpy as np
import pandas as pd

from tfx_seqgen.errors import InvalidSequenceData
from tfx_seqgen.tasks.sequences.series import Series


@dataclasses.dataclass(frozen=True)
class Rows:
    """Rows of a table, columnar: as read (a piece of a chunk) or gathered (a bucket)."""

    ids: np.ndarray  # [n] str
    steps: np.ndarray  # [n] numbers, or str when a chunk's steps are not all numbers
    values: np.ndarray  # [n, channels] float64, checked finite
    context: Tuple[np.ndarray, ...]  # one [n] array per context column: str or float64
    source: np.ndarray  # [n] index into `files`
    files: Tuple[str, ...]

    @classmethod
    def of_series(cls, series: Series, path: str) -> Rows:
        n = len(series.values)
        return cls(
            np.full(n, series.id),
            np.arange(n),
            series.values.astype(np.float64),
            tuple(np.full(n, value) for value in series.context),
            np.zeros(n, np.int64),
            (path,),
        )

    def take(self, index: np.ndarray) -> Rows:
        return Rows(
            self.ids[index],
            self.steps[index],
            self.values[index],
            tuple(c[index] for c in self.context),
            self.source[index],
            self.files,
        )


def bucket_of(ids: np.ndarray, buckets: int) -> np.ndarray:
    """Each id's bucket: pandas' SipHash of the id, the same in every process and run."""
    return (pd.util.hash_array(ids.astype(object)) % np.uint64(buckets)).astype(np.int64)


def by_bucket(rows: Rows, buckets: int) -> Iterator[Tuple[int, Rows]]:
    """(bucket, its rows) for every bucket the rows fall in."""
    keys = bucket_of(rows.ids, buckets)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    for start, stop in zip(starts, [*starts[1:], len(keys)], strict=True):
        yield int(keys[start]), rows.take(order[start:stop])


def gather(pieces: List[Rows]) -> Rows:
    """One Rows of many pieces, their file indices renumbered."""
    files = tuple(sorted({f for p in pieces for f in p.files}))
    number = {f: i for i, f in enumerate(files)}
    steps = [p.steps for p in pieces]
    if len({s.dtype.kind in "iuf" for s in steps}) > 1:  # numbers in some chunks, text in others
        steps = [s.astype(object) for s in steps]
    return Rows(
        np.concatenate([p.ids for p in pieces]),
        np.concatenate(steps),
        np.concatenate([p.values for p in pieces]),
        tuple(np.concatenate(c) for c in zip(*(p.context for p in pieces), strict=True)),
        np.concatenate([np.array([number[f] for f in p.files])[p.source] for p in pieces]),
        files,
    )


@dataclasses.dataclass(frozen=True)
class Block:
    """Whole, checked series: the rows of series i are offsets[i]:offsets[i + 1]."""

    ids: List[str]
    offsets: np.ndarray  # [n + 1]
    values: np.ndarray  # [rows, channels] float32, each series in step order
    contexts: List[tuple]

    @property
    def longest(self) -> int:
        return int(np.diff(self.offsets).max()) if self.ids else 0

    def series(self) -> Iterator[Series]:
        for i, series_id in enumerate(self.ids):
            start, stop = self.offsets[i], self.offsets[i + 1]
            yield Series(series_id, self.values[start:stop], self.contexts[i])


def assemble(pieces: Iterable[Rows], context_names: List[str]) -> Block:
    """A bucket's series, each in step order; refuses a series whose rows disagree.

    Refused, naming the series and its files: steps that mix numbers and
    text, a step that appears twice, a context value that changes, fewer
    than 2 steps.
    """
    rows = gather(list(pieces))
    order = np.lexsort((_sortable(rows), rows.ids))
    rows = rows.take(order)
    starts = np.flatnonzero(np.r_[True, rows.ids[1:] != rows.ids[:-1]])
    stops = np.r_[starts[1:], len(rows.ids)]
    first = np.repeat(starts, stops - starts)  # each row's series' first row
    _check_steps(rows, starts, stops)
    _check_context(rows, first, context_names)
    return Block(
        [str(i) for i in rows.ids[starts]],
        np.r_[starts, len(rows.ids)],
        rows.values.astype(np.float32),
        [tuple(c[s].item() for c in rows.context) for s in starts],
    )


def _sortable(rows: Rows) -> np.ndarray:
    """The steps, or where they mix numbers and text, a refusal naming the series."""
    if rows.steps.dtype != object:
        return rows.steps
    numeric = np.array([not isinstance(s, str) for s in rows.steps])
    order = np.lexsort((numeric, rows.ids))
    ids, numeric = rows.ids[order], numeric[order]
    mixed = np.flatnonzero((ids[1:] == ids[:-1]) & (numeric[1:] != numeric[:-1]))
    if len(mixed):
        raise _refuse(
            rows,
            order[mixed[0]],
            "its steps mix numbers and text; allowed: steps that sort (all numbers, or all text)",
        )
    return rows.steps.astype(str)


def _check_steps(rows: Rows, starts: np.ndarray, stops: np.ndarray) -> None:
    repeated = np.flatnonzero((rows.ids[1:] == rows.ids[:-1]) & (rows.steps[1:] == rows.steps[:-1]))
    if len(repeated):
        row = repeated[0]
        raise _refuse(
            rows,
            row,
            f"step {rows.steps[row].item()!r} appears twice; allowed: one row per series and step",
        )
    short = np.flatnonzero(stops - starts < 2)
    if len(short):
        raise _refuse(
            rows,
            starts[short[0]],
            "1 step; allowed: at least 2 steps per series (a first "
            "value to start from and one to generate)",
        )


def _check_context(rows: Rows, first: np.ndarray, names: List[str]) -> None:
    for name, column in zip(names, rows.context, strict=True):
        changed = np.flatnonzero(column != column[first])
        if len(changed):
            row = changed[0]
            raise InvalidSequenceData(
                f"SequencesExampleGen: context column {name!r} changes within "
                f"{_where(rows, row)} ({column[first[row]].item()!r}, then "
                f"{column[row].item()!r}); a context column holds one value per series."
            )


def _where(rows: Rows, row: int) -> str:
    """'series ID (its files)'."""
    series = rows.ids[row]
    files = sorted({rows.files[i] for i in rows.source[rows.ids == series]})
    return f"series {str(series)!r} ({', '.join(files)})"


def _refuse(rows: Rows, row: int, problem: str) -> InvalidSequenceData:
    return InvalidSequenceData(f"SequencesExampleGen: {_where(rows, row)}: {problem}.")
