"""Recurrent layers by name, so configs can say "lstm" and "fast_weights"."""

from __future__ import annotations

import keras

from tfx_seqgen.models.fast_weights import FastWeightsCell

CELLS = ("simple", "gru", "lstm", "fast_weights")


def make_cell(cell: str, units: int) -> keras.layers.Layer:
    if cell == "simple":
        return keras.layers.SimpleRNNCell(units)
    if cell == "gru":
        return keras.layers.GRUCell(units)
    if cell == "lstm":
        return keras.layers.LSTMCell(units)
    if cell == "fast_weights":
        return FastWeightsCell(units)
    raise ValueError(f"cell={cell!r} is invalid; allowed: one of {CELLS}.")


def make_rnn(cell: str, units: int, num_layers: int = 1, return_sequences: bool = True):
    """One RNN layer over `num_layers` stacked cells of the same kind."""
    if not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f"num_layers={num_layers!r} is invalid; allowed: a positive integer.")
    cells = [make_cell(cell, units) for _ in range(num_layers)]
    return keras.layers.RNN(
        cells if num_layers > 1 else cells[0], return_sequences=return_sequences
    )
