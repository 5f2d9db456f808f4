"""Reading long tables (CSV, Parquet) in chunks, as rows cut by bucket of series.

A Beam worker reads a file, or a byte range of an uncompressed CSV, a
chunk at a time (never the whole file) and cuts each chunk into the rows
of each bucket (blocks.py). Grouping a
bucket's rows and assembling its series is Beam's work (component.py), so
a file of any size is read in flat memory. Every value is checked on the
way: a bad one stops the job with an error naming the file, the column and
the series.

Files are opened through Beam's FileSystems, so the same code reads local
paths and gs:// on Dataflow, and .gz files decompressed.
"""

from __future__ import annotations

import io
from typing import Dict, Iterator, List, Tuple

import numpy as np
import pandas as pd
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from tfx_seqgen.errors import InvalidSequenceData
from tfx_seqgen.tasks.sequences.blocks import Column, Rows, Text, by_bucket
from tfx_seqgen.tasks.sequences.data import SUFFIXES, SequencesDataset

CHUNK_ROWS = 100_000
# Rows of the first file read to tell numeric context columns from categorical ones.
SAMPLE_ROWS = 10_000
# Input bytes per bucket of series: a bucket is sorted and checked in one worker's memory.
BUCKET_BYTES = 8 * 2**20
# An uncompressed CSV is read in ranges of this many bytes, each by any worker.
RANGE_BYTES = 32 * 2**20
# (file, start byte, stop byte or None for the whole file)
Part = Tuple[str, int, "int | None"]
# At least this many buckets, so that every worker of a small job has some.
MIN_BUCKETS = 8


def list_files(dataset: SequencesDataset) -> List[str]:
    """The files `path` names, sorted; none is an error naming the pattern."""
    files = sorted(m.path for r in FileSystems.match([dataset.path]) for m in r.metadata_list)
    if not files:
        raise InvalidSequenceData(
            f"SequencesExampleGen: path={dataset.path!r} matches no file; give a CSV, Parquet "
            "or TFRecord file, or a glob pattern such as 'data/*.csv'."
        )
    return files


def file_format(dataset: SequencesDataset, path: str) -> str:
    """csv, parquet or tfrecord: `format`, or with format=auto the file name's ending."""
    if dataset.format != "auto":
        return dataset.format
    for suffix, kind in sorted(SUFFIXES.items(), key=lambda item: -len(item[0])):
        if path.lower().endswith(suffix):
            return kind
    raise InvalidSequenceData(
        f"SequencesExampleGen: cannot tell the format of {path!r} from its name; allowed "
        f"endings: {', '.join(SUFFIXES)}; or set format=csv, parquet or tfrecord."
    )


def _columns(dataset: SequencesDataset) -> List[str]:
    return [dataset.id, dataset.step, *dataset.values, *dataset.context]


def read_plan(
    dataset: SequencesDataset, files: List[str], range_bytes: int = RANGE_BYTES
) -> List[Part]:
    """The work of reading `files`: an uncompressed CSV in byte ranges of about
    `range_bytes` (as Beam's text sources split a file), any other file whole."""
    plan: List[Part] = []
    for result in FileSystems.match(files):
        for meta in result.metadata_list:
            splittable = file_format(dataset, meta.path) == "csv" and not _compressed(meta.path)
            if not splittable or meta.size_in_bytes <= range_bytes:
                plan.append((meta.path, 0, None))
                continue
            starts = range(0, meta.size_in_bytes, range_bytes)
            plan += [(meta.path, a, min(a + range_bytes, meta.size_in_bytes)) for a in starts]
    return plan


def _compressed(path: str) -> bool:
    return CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED


def _csv_range(f, start: int, stop: int) -> bytes:
    """The lines of a CSV file that start in bytes [start, stop).

    A CSV field must not hold a line break inside quotes for its file to be
    read in ranges (as for Beam's splittable CSV reads).
    """
    if start:
        f.seek(start - 1)
        f.readline()  # to the first line that starts at or after `start`
    begin = f.tell()
    if begin >= stop:
        return b""
    data = f.read(stop - begin)
    return data if data.endswith(b"\n") else data + f.readline()


def chunks(
    path: str,
    kind: str,
    columns: List[str],
    rows: int = CHUNK_ROWS,
    text: List[str] | None = None,
    byte_range: Tuple[int, int | None] = (0, None),
) -> Iterator[pd.DataFrame]:
    """The file's rows, `rows` at a time, holding only `columns`; `text` columns (all
    columns when None) are read as text, the others as pandas infers them. A CSV
    read by `byte_range` (start, stop) gives the rows whose lines start there."""
    text = columns if text is None else text
    start, stop = byte_range
    with FileSystems.open(path) as f:  # a .gz file is read decompressed
        if kind == "csv":
            read = dict(usecols=columns, chunksize=rows, dtype={c: str for c in text})
            if stop is None:
                yield from pd.read_csv(f, **read)
                return
            data = _csv_range(f, start, stop)
            if start:  # past the header: name the columns as the header does
                read.update(header=None, names=_header(path, kind))
            if data.strip():
                yield from pd.read_csv(io.BytesIO(data), **read)
        else:
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(f).iter_batches(batch_size=rows, columns=columns):
                yield batch.to_pandas()


def inspect(dataset: SequencesDataset, path: str) -> Dict[str, str]:
    """Checks the first file's columns; returns each context column's kind.

    A missing column is refused naming the file and the columns it has; a
    context column whose sampled values are all numbers is numeric, unless
    `categorical` names it; any other is categorical.
    """
    if dataset.step is None:
        raise InvalidSequenceData(
            f"SequencesExampleGen: step=None; a table ({path}) needs the column that orders a "
            "series: set step=COLUMN."
        )
    kind = file_format(dataset, path)
    header = _header(path, kind)
    missing = [c for c in _columns(dataset) if c not in header]
    if missing:
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path} has no column {missing[0]!r}; its columns: "
            f"{', '.join(header)}."
        )
    sample = next(chunks(path, kind, _columns(dataset), SAMPLE_ROWS), None)
    if sample is None or sample.empty:
        raise InvalidSequenceData(f"SequencesExampleGen: {path} holds no rows.")
    return {
        c: "numeric" if _all_numbers(sample[c]) and c not in dataset.categorical else "categorical"
        for c in dataset.context
    }


def _header(path: str, kind: str) -> List[str]:
    with FileSystems.open(path) as f:
        if kind == "csv":
            try:
                return list(pd.read_csv(f, nrows=0).columns)
            except pd.errors.EmptyDataError:
                raise InvalidSequenceData(f"SequencesExampleGen: {path} is empty.") from None
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(f).schema_arrow.names)


def _all_numbers(column: pd.Series) -> bool:
    present = column.dropna()
    return bool(len(present)) and bool(pd.to_numeric(present, errors="coerce").notna().all())


def bucket_count(files: List[str]) -> int:
    """Buckets for the files' series: one per BUCKET_BYTES of input, at least MIN_BUCKETS."""
    sizes = [m.size_in_bytes for r in FileSystems.match(files) for m in r.metadata_list]
    return max(MIN_BUCKETS, -(-sum(sizes) // BUCKET_BYTES))


def pieces(
    dataset: SequencesDataset, kinds: Dict[str, str], buckets: int, part: Part
) -> Iterator[Tuple[int, Rows]]:
    """(bucket, rows) for every bucket in every chunk of one part of a file."""
    path, start, stop = part
    kind = file_format(dataset, path)
    text = [dataset.id, *(c for c in dataset.context if kinds[c] == "categorical")]
    for frame in chunks(path, kind, _columns(dataset), text=text, byte_range=(start, stop)):
        yield from by_bucket(_rows(dataset, kinds, path, frame), buckets)


def _rows(dataset, kinds, path: str, frame: pd.DataFrame) -> Rows:
    """A chunk's rows, every value checked."""
    ids = Text.of(frame[dataset.id])
    return Rows(
        ids,
        _steps(frame[dataset.step]),
        _values(frame, dataset.values, path, ids),
        tuple(_context(frame[c], c, kinds[c], path) for c in dataset.context),
        np.zeros(len(frame), np.int32),
        (path,),
    )


def _values(frame: pd.DataFrame, names: List[str], path: str, ids: Text) -> np.ndarray:
    """[rows, channels] float32: each value a finite number float32 can hold."""
    wide = np.stack([_numbers(frame[c], c, path, ids) for c in names], axis=1)
    values = wide.astype(np.float32)
    if not np.isfinite(values).all():
        row, channel = (int(i[0]) for i in np.nonzero(~np.isfinite(values)))
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path}: value column {names[channel]!r} holds "
            f"{wide[row, channel]!r} in series {ids.value(row)!r}, beyond float32's range; "
            f"allowed: numbers within +-{np.finfo(np.float32).max:.3g}."
        )
    return values


def _steps(column: pd.Series) -> np.ndarray:
    """Numbers when every step is one (so 10 sorts after 9), else the text."""
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy()
    numbers = pd.to_numeric(column, errors="coerce")
    return (
        numbers.to_numpy() if numbers.notna().all() else column.astype(str).to_numpy().astype(str)
    )


def _as_numbers(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(np.float64)
    return pd.to_numeric(column, errors="coerce").to_numpy(np.float64)


def _numbers(column: pd.Series, name: str, path: str, ids: Text) -> np.ndarray:
    numbers = _as_numbers(column)
    bad = ~np.isfinite(numbers)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path}: value column {name!r} holds "
            f"{column.iloc[row]!r} in series {ids.value(row)!r}; allowed: finite numbers (no "
            "text, NaN, empty cell or infinity)."
        )
    return numbers


def _context(column: pd.Series, name: str, kind: str, path: str) -> Column:
    if kind == "categorical":
        if column.isna().any():
            raise InvalidSequenceData(
                f"SequencesExampleGen: {path}: context column {name!r} has an empty cell; "
                "every row needs its series' context value."
            )
        return Text.of(column)
    numbers = _as_numbers(column)
    if not np.isfinite(numbers).all():
        row = int(np.flatnonzero(~np.isfinite(numbers))[0])
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path}: numeric context column {name!r} holds "
            f"{column.iloc[row]!r}; allowed: finite numbers (the first file's rows were all "
            "numbers)."
        )
    return numbers
