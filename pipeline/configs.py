"""Named run configurations.

`paper` reproduces the paper; `generator` is the recipe for serving LCD
trajectories (context at every step, free-running training, a band
calibrated out of sample); `demo` is what `make demo` runs: `generator`'s
LCD and a shorter ART.
"""

from __future__ import annotations

import copy
from typing import Any, Dict

from tfx_seqgen.pipeline.tasks import NAMES as TASKS

# Data-generator parameters per config and task: keyword arguments of
# LcdExampleGen / ArtExampleGen. Missing keys take the paper's defaults.
DATA: Dict[str, Dict[str, Dict[str, Any]]] = {
    "paper": {"lcd": {}, "art": {}},
    "generator": {"lcd": {}, "art": {}},
    # Both at the paper's size: with a tenth of ART, both models overfit
    # before the contextual one pulls ahead.
    "demo": {"lcd": {}, "art": {}},
}
CONFIGS = tuple(DATA)

# Trainer settings per config and task (the Trainer's custom_config). The
# contextual model uses these; the baseline is the same with strategy "zero".
_PAPER_LCD = {
    "model": {
        "cell": "lstm",
        "units": 128,
        "strategy": "learned_distribution",
        "context_units": [50],
        "initial_scale": 0.25,
    },
    "epochs": 65,
    "batch_size": 128,
    "learning_rate": 2e-4,
    "clip_norm": 10.0,
}
_PAPER_ART = {
    "model": {"cell": "fast_weights", "units": 50, "strategy": "learned", "context_units": []},
    "epochs": 200,
    "batch_size": 128,
    "learning_rate": 1e-3,
    "stop_at_accuracy": 1.0,
}
# The generator: both models (the baseline too) get (x0, period) at every
# step and the same two phases: 20 teacher-forced epochs at 1e-3 (lower
# teacher-forced MSE than the paper's 65 at 2e-4, in a third of the time),
# then 6 free-running epochs scored by CRPS over 4 samples each. The
# contextual model's band is then calibrated out of sample.
_GENERATOR_LCD = {
    **_PAPER_LCD,
    "model": {**_PAPER_LCD["model"], "context_every_step": True},
    "epochs": 20,
    "learning_rate": 1e-3,
    "rollout_epochs": 6,
    "rollout_samples": 4,
    "rollout_learning_rate": 2e-4,
    "calibrate_band": True,
}
TRAINING: Dict[str, Dict[str, Dict[str, Any]]] = {
    "paper": {"lcd": _PAPER_LCD, "art": _PAPER_ART},
    "generator": {"lcd": _GENERATOR_LCD, "art": _PAPER_ART},
    # LCD trains the generator. ART trains at most 25 of the paper's 200
    # epochs, with the fast-weight update of the paper's code (the new
    # preliminary state, not the previous one): on a 15-epoch run (seed 0) it
    # took the learned start from the ~0.38 plateau to 0.978 eval accuracy and
    # the zero start to 0.938, where Ba et al.'s update left both on the
    # plateau (benchmarks/art_quality.py --paper-code). With the paper's ReLU
    # head too and the learning rate falling over the last 10 epochs, on ART
    # data of another seed (art_quality.py --demo-budget, 3 training seeds),
    # the contextual model ended at 99.72% or more on every seed, where the
    # demo's previous recipe ended at 99.36% or more there and at 97.79% on
    # the demo's own data on one machine. The baseline gains the most from
    # the head: it ended ahead on all 3 seeds.
    "demo": {
        "lcd": _GENERATOR_LCD,
        "art": {
            **_PAPER_ART,
            "model": {
                **_PAPER_ART["model"],
                "cell_options": {"update_with_preliminary": True},
                "head_units": 100,
            },
            "epochs": 25,
            "decay_epochs": 10,
        },
    },
}


def _check(task: str, config: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task={task!r} is unknown; allowed: {', '.join(TASKS)}.")
    if config not in DATA:
        raise ValueError(f"config={config!r} is unknown; allowed: {', '.join(CONFIGS)}.")


def data_params(task: str, config: str) -> Dict[str, Any]:
    """The data generator's parameters for a task under a named config."""
    _check(task, config)
    return copy.deepcopy(DATA[config][task])


def training_params(task: str, config: str) -> Dict[str, Any]:
    """The contextual model's Trainer custom_config for a task under a named config."""
    _check(task, config)
    return {"task": task, **copy.deepcopy(TRAINING[config][task])}


BASELINE_STRATEGY = "zero"


def baseline_params(training_params: Dict[str, Any]) -> Dict[str, Any]:
    """The baseline trains exactly like the contextual model, from h0 = 0."""
    params = copy.deepcopy(training_params)
    params["model"]["strategy"] = BASELINE_STRATEGY
    return params


def with_overrides(training: Dict[str, Any], overrides: Dict[str, Any] | None) -> Dict[str, Any]:
    """Trainer params with overrides; "model" updates the model's arguments key by key."""
    updated = copy.deepcopy(training)
    for key, value in (overrides or {}).items():
        if key == "model":
            updated["model"].update(value)
        else:
            updated[key] = value
    return updated


def resolve(
    task: str,
    config: str,
    data_overrides: Dict[str, Any] | None = None,
    training_overrides: Dict[str, Any] | None = None,
    baseline_overrides: Dict[str, Any] | None = None,
) -> tuple:
    """(data params, contextual Trainer params, baseline Trainer params) for a run.

    `training_overrides` apply to both Trainers, `baseline_overrides` to the
    baseline's alone, after them.
    """
    data = {**data_params(task, config), **(data_overrides or {})}
    training = with_overrides(training_params(task, config), training_overrides)
    return data, training, with_overrides(baseline_params(training), baseline_overrides)
