"""Named run configurations, and the overrides a run applies to them.

`paper` reproduces the paper; `generator` is the recipe for serving
trajectories; `demo` is what `make demo` runs. Each task's values are in its
package (tasks/<task>/configs.py); the baseline trains exactly like the
contextual model, from h0 = 0.
"""

from __future__ import annotations

import copy
from typing import Any, Dict

from tfx_seqgen import tasks
from tfx_seqgen.tasks import NAMES as TASKS

# Every task has the same named configs (tasks/<task>/configs.py).
CONFIGS = ("paper", "generator", "demo")


def _check(task: str, config: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task={task!r} is unknown; allowed: {', '.join(TASKS)}.")
    if config not in CONFIGS:
        raise ValueError(f"config={config!r} is unknown; allowed: {', '.join(CONFIGS)}.")


def data_params(task: str, config: str) -> Dict[str, Any]:
    """The data generator's parameters for a task under a named config."""
    _check(task, config)
    return copy.deepcopy(tasks.get(task).data_configs[config])


def training_params(task: str, config: str) -> Dict[str, Any]:
    """The contextual model's Trainer custom_config for a task under a named config."""
    _check(task, config)
    return {"task": task, **copy.deepcopy(tasks.get(task).training_configs[config])}


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
