"""Keras 3 Contextual RNNs: initial-state strategies, cells and the task models."""

from tfx_seqgen.models.art_model import ArtModel
from tfx_seqgen.models.cells import make_cell, make_rnn
from tfx_seqgen.models.contextual_rnn import ContextualRNN, StatefulStream, state_structure
from tfx_seqgen.models.fast_weights import FastWeightsCell
from tfx_seqgen.models.initial_state import (
    STRATEGIES,
    FreeState,
    InitialState,
    LearnedDistributionState,
    LearnedState,
    ZeroState,
    initial_state_for,
    make_initial_state,
)
from tfx_seqgen.models.lcd_model import LcdModel

__all__ = [
    "STRATEGIES",
    "ArtModel",
    "ContextualRNN",
    "FastWeightsCell",
    "FreeState",
    "InitialState",
    "LcdModel",
    "LearnedDistributionState",
    "LearnedState",
    "StatefulStream",
    "ZeroState",
    "initial_state_for",
    "make_cell",
    "make_initial_state",
    "make_rnn",
    "state_structure",
]
