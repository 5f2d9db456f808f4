"""Keras 3 Contextual RNNs: initial-state strategies, cells, and the Trainer's shared loop.

The task models (LcdModel, ArtModel) live in their tasks' packages.

The names below are imported on first use (tfx_seqgen.lazy): `errors` loads
without Keras.
"""

from tfx_seqgen import lazy

_EXPORTS = {
    "STRATEGIES": "initial_state",
    "ContextualRNN": "contextual_rnn",
    "FastWeightsCell": "fast_weights",
    "FastWeightsRNN": "fast_weights",
    "FreeState": "initial_state",
    "InitialState": "initial_state",
    "LearnedDistributionState": "initial_state",
    "LearnedState": "initial_state",
    "StatefulStream": "contextual_rnn",
    "ZeroState": "initial_state",
    "initial_state_for": "initial_state",
    "make_cell": "cells",
    "make_initial_state": "initial_state",
    "make_rnn": "cells",
    "state_structure": "contextual_rnn",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy.exports(__name__, _EXPORTS)
