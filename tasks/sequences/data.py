"""The parameters of a user's own sequence data, and how its series are split.

Engineers keep sequences as long tables, one row per series and step (a
series id, a sortable step, one or more value columns, and context columns
constant within a series), in CSV or Parquet, or as TFRecord files of
`tf.train.SequenceExample` (the id and the context in `context`, one
feature list per value column in `feature_lists`). SequencesExampleGen
(component.py) reads them with Beam and writes one record per series.

Each series goes to one split, decided by a hash of its id alone (and
`seed`), so the split never depends on the files' order or the runner:
`eval_fraction` to eval, `calibration_fraction` to the calibration split
that fits the served band, the rest to training. With `holdout` (a
context column and a value, e.g. {"season": "2"}), the series with that
value are kept out of training and split between calibration and eval in
the same proportion, and every other series trains: generalization tested
the way LCD tests unseen periods.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Dict, List

from pydantic import field_validator, model_validator

from tfx_seqgen.components.validation import MAX_SEED
from tfx_seqgen.schema import Schema, choice, fraction, integer, text

FORMATS = ("auto", "csv", "parquet", "tfrecord")
# File name endings `format=auto` recognizes.
SUFFIXES = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".tfrecord": "tfrecord",
    ".tfrecord.gz": "tfrecord",
    ".tfrecords": "tfrecord",
}
COLUMNS = "a list of distinct column names"


class SequencesDataset(Schema):
    """Where the user's sequences are, which columns mean what, and how to split them."""

    OWNER: ClassVar[str] = "SequencesExampleGen"

    path: str = text(..., "a file or glob pattern", "CSV, Parquet or TFRecord file(s)")
    format: str = choice("auto", FORMATS, "auto: from the file name's ending")
    id: str = text(..., "a column name", "the column that names a series")
    step: str | None = text(
        None, "a column name (tables need one)", "the sortable column that orders a series"
    )
    values: List[str] = text(..., f"{COLUMNS}, at least one", "the value columns (channels)")
    context: List[str] = text([], COLUMNS, "context columns, constant within a series")
    categorical: List[str] = text(
        [],
        f"{COLUMNS} among the context columns",
        "context columns that are categories even where their values look like numbers "
        "(a context column of text always is one)",
    )
    eval_fraction: float = fraction(0.15, "share of series in the eval split")
    calibration_fraction: float = fraction(0.15, "share of series in the calibration split")
    holdout: Dict[str, Any] = text(
        {},
        "{} or {context column: value}",
        "series with this context value never train (calibration and eval get them)",
    )
    seed: int = integer(0, 0, MAX_SEED, doc="salts the hash that splits the series")

    @field_validator("values", "context", "categorical", mode="before")
    @classmethod
    def _column_list(cls, value, info):
        names = value if isinstance(value, (list, tuple)) else None
        minimum = 1 if info.field_name == "values" else 0
        if (
            names is None
            or len(names) < minimum
            or not all(isinstance(n, str) and n for n in names)
            or len(set(names)) != len(names)
        ):
            raise cls.refuse(info.field_name, value, cls.rules()[info.field_name])
        return list(names)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value):
        if value not in FORMATS:
            raise cls.refuse("format", value, cls.rules()["format"])
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SequencesDataset:
        named = [self.id, *([self.step] if self.step else []), *self.values, *self.context]
        repeated = sorted({n for n in named if named.count(n) > 1})
        if repeated:
            raise self.refuse(
                "columns", repeated, "each column in one role (id, step, values, context)"
            )
        if self.eval_fraction + self.calibration_fraction >= 1:
            raise self.refuse(
                "calibration_fraction",
                self.calibration_fraction,
                f"a number below 1 - eval_fraction = {1 - self.eval_fraction:g}, "
                "so some series train",
            )
        if set(self.categorical) - set(self.context):
            raise self.refuse("categorical", self.categorical, self.rules()["categorical"])
        unknown = sorted(set(self.holdout) - set(self.context))
        if unknown or len(self.holdout) > 1:
            raise self.refuse(
                "holdout",
                self.holdout,
                f"{{}} or one {{column: value}} of the context columns {self.context}",
            )
        return self

    def split_of(self, series_id: str, context: Dict[str, Any]) -> str:
        """The split of a series: a pure function of its id, `seed` and the holdout."""
        digest = hashlib.blake2b(f"{self.seed}\x1f{series_id}".encode(), digest_size=8).digest()
        u = int.from_bytes(digest, "little") / 2.0**64
        evaluation, calibration = self.eval_fraction, self.calibration_fraction
        if self.holdout:
            ((column, kept_out),) = self.holdout.items()
            if str(context[column]) != str(kept_out):
                return "train"
            return "eval" if u < evaluation / (evaluation + calibration) else "calibration"
        if u < 1 - evaluation - calibration:
            return "train"
        return "calibration" if u < 1 - evaluation else "eval"
