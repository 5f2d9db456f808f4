"""Recurrent layers by name, so configs can say "lstm" and "fast_weights"."""

from __future__ import annotations

import dataclasses
import inspect

import keras

from tfx_seqgen.models.fast_weights import FastWeightsCell, FastWeightsRNN

CELLS = ("simple", "gru", "lstm", "fast_weights")


@dataclasses.dataclass(frozen=True)
class Loop:
    """How a cell's RNN trains fastest on CPU: unrolled or not, XLA-compiled or not."""

    unroll: bool
    jit_compile: bool


# Measured by benchmarks/pipeline_speed.py on 2 cores (BENCHMARKS.md): Fast
# Weights gains from both (its step is many small ops that XLA fuses), while
# XLA makes the LSTM several times slower and unrolling it gains nothing.
# Simple and GRU cells were not measured and keep Keras's defaults.
FASTEST_LOOP = {
    "simple": Loop(unroll=False, jit_compile=False),
    "gru": Loop(unroll=False, jit_compile=False),
    "lstm": Loop(unroll=False, jit_compile=False),
    "fast_weights": Loop(unroll=True, jit_compile=True),
}


CELL_CLASSES = {
    "simple": keras.layers.SimpleRNNCell,
    "gru": keras.layers.GRUCell,
    "lstm": keras.layers.LSTMCell,
    "fast_weights": FastWeightsCell,
}


def cell_option_names(cell: str) -> tuple:
    """The keyword arguments a cell takes besides `units`: what `cell_options` may hold."""
    parameters = inspect.signature(CELL_CLASSES[cell]).parameters
    return tuple(
        name
        for name, p in parameters.items()
        if name != "units" and p.kind is not inspect.Parameter.VAR_KEYWORD
    )


def make_cell(cell: str, units: int, **options) -> keras.layers.Layer:
    """A cell by name; `options` are the cell's own keyword arguments."""
    if cell not in CELL_CLASSES:
        raise ValueError(f"cell={cell!r} is invalid; allowed: one of {CELLS}.")
    return CELL_CLASSES[cell](units, **options)


def make_rnn(
    cell: str,
    units: int,
    num_layers: int = 1,
    return_sequences: bool = True,
    unroll: bool | None = None,
    cell_options: dict | None = None,
):
    """One RNN layer over `num_layers` stacked cells of the same kind.

    `unroll=None` takes the cell's FASTEST_LOOP choice. An unrolled layer
    needs inputs whose time dimension is known.
    """
    if not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f"num_layers={num_layers!r} is invalid; allowed: a positive integer.")
    cells = [make_cell(cell, units, **(cell_options or {})) for _ in range(num_layers)]
    layer = FastWeightsRNN if cell == "fast_weights" else keras.layers.RNN
    return layer(
        cells if num_layers > 1 else cells[0],
        return_sequences=return_sequences,
        unroll=FASTEST_LOOP[cell].unroll if unroll is None else unroll,
    )
