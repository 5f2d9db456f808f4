"""The sequences task's named configurations.

The data is the user's: `--data path=... --data id=... --data step=...
--data 'values=[...]'` (and `context`) are always given, so the named
configs hold no data parameters. Every config trains the same recipe: an
LSTM whose h0 is drawn from N(g(context, x0), softplus(sigma)), the context
also given at every step, against the same recipe from h0 = 0. Both train
by teacher forcing, then free running (CRPS of 4 rollouts per series), as
LCD's generator does.
"""

from __future__ import annotations

from typing import Any, Dict

GENERATOR: Dict[str, Any] = {
    "model": {
        "cell": "lstm",
        "units": 64,
        "strategy": "learned_distribution",
        "context_units": [32],
        "initial_scale": 0.25,
        "context_every_step": True,
    },
    "epochs": 40,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "clip_norm": 10.0,
    "decay_epochs": 10,
    "rollout_epochs": 6,
    "rollout_samples": 4,
    "rollout_learning_rate": 2e-4,
}
DATA: Dict[str, Dict[str, Any]] = {"paper": {}, "generator": {}, "demo": {}}
TRAINING: Dict[str, Dict[str, Any]] = {
    "paper": GENERATOR,
    "generator": GENERATOR,
    "demo": GENERATOR,
}
