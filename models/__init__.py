"""Keras 3 Contextual RNNs: initial-state strategies, cells and the task models."""

from models.art_model import ArtModel
from models.cells import make_cell, make_rnn
from models.contextual_rnn import ContextualRNN, StatefulStream, state_structure
from models.fast_weights import FastWeightsCell
from models.initial_state import (
    STRATEGIES,
    FreeState,
    InitialState,
    LearnedDistributionState,
    LearnedState,
    ZeroState,
    initial_state_for,
    make_initial_state,
)
from models.lcd_model import LcdModel

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
