"""Reading long tables (CSV, Parquet) in chunks, as fragments of series.

A Beam worker reads one file a chunk at a time (never the whole file) and
turns each chunk into fragments: the rows of one series within the chunk,
as arrays. Grouping fragments into whole series is Beam's work
(component.py), so a file of any size is read in flat memory. Every
value is checked on the way: a bad one stops the job with an error naming
the file, the column and the series.

Files are opened through Beam's FileSystems, so the same code reads local
paths and gs:// on Dataflow, and .gz files decompressed.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Tuple

import numpy as np
import pandas as pd
from apache_beam.io.filesystems import FileSystems

from tfx_seqgen.errors import InvalidSequenceData
from tfx_seqgen.tasks.sequences.data import SUFFIXES, SequencesDataset

CHUNK_ROWS = 100_000
# Rows of the first file read to tell numeric context columns from categorical ones.
SAMPLE_ROWS = 10_000
# (steps [n], values [n, C] float64, context values, file)
Fragment = Tuple[np.ndarray, np.ndarray, tuple, str]


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


def chunks(
    path: str, kind: str, columns: List[str], rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The file's rows, `rows` at a time, holding only `columns`."""
    with FileSystems.open(path) as f:  # a .gz file is read decompressed
        if kind == "csv":
            yield from pd.read_csv(f, usecols=columns, chunksize=rows, dtype=str)
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


def fragments(
    dataset: SequencesDataset, kinds: Dict[str, str], path: str
) -> Iterator[Tuple[str, Fragment]]:
    """(series id, fragment) for every series in every chunk of one file."""
    kind = file_format(dataset, path)
    for frame in chunks(path, kind, _columns(dataset)):
        yield from _chunk_fragments(dataset, kinds, path, frame)


def _chunk_fragments(dataset, kinds, path, frame: pd.DataFrame):
    ids = frame[dataset.id].astype(str).to_numpy()
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    steps = _steps(frame[dataset.step]).to_numpy()[order]
    values = np.stack([_numbers(frame, c, path, ids, order) for c in dataset.values], axis=1)
    context = [_context(frame, c, kinds[c], path, order) for c in dataset.context]
    bounds = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    for start, stop in zip([0, *bounds], [*bounds, len(ids)], strict=True):
        for name, column in zip(dataset.context, context, strict=True):
            if (column[start:stop] != column[start]).any():
                other = column[start:stop][column[start:stop] != column[start]][0]
                raise InvalidSequenceData(
                    f"SequencesExampleGen: {path}: context column {name!r} changes within "
                    f"series {ids[start]!r} ({column[start]!r}, then {other!r}); a context "
                    "column holds one value per series."
                )
        row_context = tuple(column[start].item() for column in context)
        yield ids[start], (steps[start:stop], values[start:stop], row_context, path)


def _steps(column: pd.Series) -> pd.Series:
    """Numbers when every step is one (so 10 sorts after 9), else the text."""
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().all() else column.astype(str)


def _numbers(frame, name: str, path: str, ids, order) -> np.ndarray:
    raw = frame[name].to_numpy()[order]
    numbers = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path}: value column {name!r} holds {raw[row]!r} in series "
            f"{ids[row]!r}; allowed: finite numbers (no text, NaN, empty cell or infinity)."
        )
    return numbers


def _context(frame, name: str, kind: str, path: str, order) -> np.ndarray:
    raw = frame[name].to_numpy()[order]
    if kind == "categorical":
        if pd.isna(raw).any():
            raise InvalidSequenceData(
                f"SequencesExampleGen: {path}: context column {name!r} has an empty cell; "
                "every row needs its series' context value."
            )
        return raw.astype(str)
    numbers = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(np.float64)
    if not np.isfinite(numbers).all():
        row = int(np.flatnonzero(~np.isfinite(numbers))[0])
        raise InvalidSequenceData(
            f"SequencesExampleGen: {path}: numeric context column {name!r} holds {raw[row]!r}; "
            "allowed: finite numbers (the first file's rows were all numbers)."
        )
    return numbers
