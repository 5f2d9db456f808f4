"""What the LCD and ART models share: a configured ContextualRNN and its config.

Options every task model takes besides its own: those below, plus `unroll`
(None: the cell's measured choice, cells.FASTEST_LOOP) and `cell_options`
(the cell's own keyword arguments, e.g. Fast Weights' `update_with_preliminary`).
"""

from __future__ import annotations

from typing import Sequence

import keras

from tfx_seqgen.models.cells import make_rnn
from tfx_seqgen.models.contextual_rnn import ContextualRNN
from tfx_seqgen.models.initial_state import initial_state_for


class TaskModel(keras.Model):
    """Builds `self.rnn` from flat options and serializes them with `get_config`."""

    def __init__(
        self,
        *,
        cell: str,
        units: int,
        num_layers: int,
        strategy: str,
        context_units: Sequence[int],
        initial_scale: float,
        noise: str | None,
        noise_scale: float,
        seed: int | None,
        return_sequences: bool,
        unroll: bool | None = None,
        cell_options: dict | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.options = dict(
            cell=cell,
            units=units,
            num_layers=num_layers,
            strategy=strategy,
            context_units=list(context_units),
            initial_scale=initial_scale,
            noise=noise,
            noise_scale=noise_scale,
            seed=seed,
            unroll=unroll,
            cell_options=dict(cell_options or {}),
        )
        strategy_layer = initial_state_for(
            strategy, context_units, initial_scale, noise, noise_scale, seed
        )
        self.rnn = ContextualRNN(
            make_rnn(cell, units, num_layers, return_sequences, unroll, cell_options),
            strategy_layer,
            name="rnn",
        )

    def get_config(self):
        return {**super().get_config(), **self.options}
