"""Rows of many series at once: how table data travels through Beam, and how it becomes series.

A file's chunk is cut into `Rows` by bucket (a hash of the series id), so
every row of a series, from whatever file or chunk, meets the others in one
bucket after Beam's GroupByKey. A bucket's rows are sorted and checked in
NumPy, a whole bucket at a time, and kept as one `Block` of whole series.
Beam moves a few large arrays instead of one element per row or series,
and text (ids, categories) as 4-byte codes into its distinct values, which
is what brings the read near a hand-written pandas job per core. The
number of buckets grows with the input, so a bucket stays about the same
size at any scale.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Iterator, List, Tuple

import numpy as np
import pandas as pd

from tfx_seqgen.errors import InvalidSequenceData
from tfx_seqgen.tasks.sequences.series import Series


@dataclasses.dataclass(frozen=True)
class Text:
    """A text column as codes into its distinct values: a row costs 4 bytes on the
    wire whatever its length, and two rows hold the same text when their codes are
    equal."""

    names: np.ndarray  # distinct values, str (sorted once merged)
    codes: np.ndarray  # [n] int32 index into names

    @classmethod
    def of(cls, values) -> Text:
        codes, names = pd.factorize(pd.Series(values, dtype=object).astype(str))
        return cls(np.asarray(names, dtype=str), codes.astype(np.int32))

    @classmethod
    def repeat(cls, value: str, n: int) -> Text:
        return cls(np.array([value]), np.zeros(n, np.int32))

    def take(self, index: np.ndarray) -> Text:
        """The rows at `index`, with only the names they use (so a small piece of a
        chunk does not carry the whole chunk's names)."""
        used, codes = np.unique(self.codes[index], return_inverse=True)
        return Text(self.names[used], codes.astype(np.int32))

    def value(self, row: int) -> str:
        return str(self.names[self.codes[row]])

    @staticmethod
    def merge(columns: List[Text]) -> Text:
        """One column of many; its names sorted, so codes order rows as the texts do."""
        names, inverse = np.unique(np.concatenate([c.names for c in columns]), return_inverse=True)
        offsets = np.cumsum([0, *(len(c.names) for c in columns[:-1])])
        codes = [inverse[offset + c.codes] for offset, c in zip(offsets, columns, strict=True)]
        return Text(names, np.concatenate(codes).astype(np.int32))


Column = Text | np.ndarray


def key(column: Column) -> np.ndarray:
    """What rows of a column are compared and sorted by: a text's codes, else the values."""
    return column.codes if isinstance(column, Text) else column


def value(column: Column, row: int):
    """A row's value as Python holds it: str for text, else float or int."""
    return column.value(row) if isinstance(column, Text) else column[row].item()


def _take(column: Column, index: np.ndarray) -> Column:
    return column.take(index) if isinstance(column, Text) else column[index]


@dataclasses.dataclass(frozen=True)
class Rows:
    """Rows of a table, columnar: as read (a piece of a chunk) or gathered (a bucket)."""

    ids: Text
    steps: np.ndarray  # [n] numbers, or str when a chunk's steps are not all numbers
    values: np.ndarray  # [n, channels] float32, checked finite
    context: Tuple[Column, ...]  # one per context column: Text, or float64 [n]
    source: np.ndarray  # [n] int32 index into `files`
    files: Tuple[str, ...]

    @classmethod
    def of_series(cls, series: Series, path: str) -> Rows:
        n = len(series.values)
        return cls(
            Text.repeat(series.id, n),
            np.arange(n),
            series.values.astype(np.float32),
            tuple(
                Text.repeat(v, n) if isinstance(v, str) else np.full(n, float(v))
                for v in series.context
            ),
            np.zeros(n, np.int32),
            (path,),
        )

    def __len__(self) -> int:
        return len(self.steps)

    def take(self, index: np.ndarray) -> Rows:
        return Rows(
            self.ids.take(index),
            self.steps[index],
            self.values[index],
            tuple(_take(c, index) for c in self.context),
            self.source[index],
            self.files,
        )


def bucket_of(ids: np.ndarray, buckets: int) -> np.ndarray:
    """Each id's bucket: pandas' SipHash of the id, the same in every process and run."""
    return (pd.util.hash_array(ids.astype(object)) % np.uint64(buckets)).astype(np.int64)


def by_bucket(rows: Rows, buckets: int) -> Iterator[Tuple[int, Rows]]:
    """(bucket, its rows) for every bucket the rows fall in."""
    keys = bucket_of(rows.ids.names, buckets)[rows.ids.codes]
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
    columns = zip(*(p.context for p in pieces), strict=True)
    return Rows(
        Text.merge([p.ids for p in pieces]),
        np.concatenate(steps),
        np.concatenate([p.values for p in pieces]),
        tuple(Text.merge(c) if isinstance(c[0], Text) else np.concatenate(c) for c in columns),
        np.concatenate(
            [np.array([number[f] for f in p.files], np.int32)[p.source] for p in pieces]
        ),
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
    order = np.lexsort((_sortable(rows), rows.ids.codes))
    rows = rows.take(order)
    ids = rows.ids.codes
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    stops = np.r_[starts[1:], len(ids)]
    first = np.repeat(starts, stops - starts)  # each row's series' first row
    _check_steps(rows, starts, stops)
    _check_context(rows, first, context_names)
    return Block(
        [rows.ids.value(s) for s in starts],
        np.r_[starts, len(ids)],
        rows.values,
        [tuple(value(c, s) for c in rows.context) for s in starts],
    )


def _sortable(rows: Rows) -> np.ndarray:
    """The steps, or where they mix numbers and text, a refusal naming the series."""
    if rows.steps.dtype != object:
        return rows.steps
    numeric = np.array([not isinstance(s, str) for s in rows.steps])
    order = np.lexsort((numeric, rows.ids.codes))
    ids, numeric = rows.ids.codes[order], numeric[order]
    mixed = np.flatnonzero((ids[1:] == ids[:-1]) & (numeric[1:] != numeric[:-1]))
    if len(mixed):
        raise _refuse(
            rows,
            order[mixed[0]],
            "its steps mix numbers and text; allowed: steps that sort (all numbers, or all text)",
        )
    return rows.steps.astype(str)


def _check_steps(rows: Rows, starts: np.ndarray, stops: np.ndarray) -> None:
    ids = rows.ids.codes
    repeated = np.flatnonzero((ids[1:] == ids[:-1]) & (rows.steps[1:] == rows.steps[:-1]))
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
        changed = np.flatnonzero(key(column) != key(column)[first])
        if len(changed):
            row = changed[0]
            raise InvalidSequenceData(
                f"SequencesExampleGen: context column {name!r} changes within "
                f"{_where(rows, row)} ({value(column, first[row])!r}, then "
                f"{value(column, row)!r}); a context column holds one value per series."
            )


def _where(rows: Rows, row: int) -> str:
    """'series ID (its files)'."""
    code = rows.ids.codes[row]
    files = sorted({rows.files[i] for i in rows.source[rows.ids.codes == code]})
    return f"series {rows.ids.value(row)!r} ({', '.join(files)})"


def _refuse(rows: Rows, row: int, problem: str) -> InvalidSequenceData:
    return InvalidSequenceData(f"SequencesExampleGen: {_where(rows, row)}: {problem}.")
