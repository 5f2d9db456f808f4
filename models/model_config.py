"""The model options a Trainer's custom_config may hold, checked before anything runs.

`custom_config["model"]` holds keyword arguments of LcdModel or ArtModel.
The pipeline checks them when it is built (through TrainingConfig), so a
typo such as `strategy=learned_distributon` or `units=-3` stops the run
before data generation, not in the Trainer after it. The layers check their
own arguments too; this is the one place that knows every option's rule.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Tuple

from tfx_seqgen.models.cells import CELLS
from tfx_seqgen.models.initial_state import NOISE_KINDS, STRATEGIES

# Options one task's model has and the other's does not.
TASK_OPTIONS = {"lcd": ("context_every_step",), "art": ("embedding_dim",)}


class InvalidModelConfig(ValueError):
    """A model option is unknown or has a value the model cannot use."""


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _positive_number(value) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and math.isfinite(value) and value > 0


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Validated model options; a field is None where the model's own default applies."""

    task: str
    cell: str | None = None
    units: int | None = None
    num_layers: int | None = None
    strategy: str | None = None
    context_units: Tuple[int, ...] | None = None
    initial_scale: float | None = None
    noise: str | None = None
    noise_scale: float | None = None
    context_every_step: bool | None = None
    embedding_dim: int | None = None

    @classmethod
    def from_options(cls, task: str, options: Dict[str, Any]) -> ModelConfig:
        if not isinstance(options, dict):
            raise InvalidModelConfig(
                f"model={options!r} is invalid; allowed: a dict of model options."
            )
        allowed = cls.allowed(task)
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise InvalidModelConfig(
                f"model options {unknown} are unknown for task {task!r}; allowed: {list(allowed)}."
            )
        values = dict(options)
        if isinstance(values.get("context_units"), (list, tuple)):
            values["context_units"] = tuple(values["context_units"])
        return cls(task=task, **values)

    @staticmethod
    def allowed(task: str) -> tuple:
        shared = ("cell", "units", "num_layers", "strategy", "context_units")
        return shared + ("initial_scale", "noise", "noise_scale") + TASK_OPTIONS.get(task, ())

    def __post_init__(self):
        rules = {
            "cell": (lambda v: v in CELLS, f"one of {CELLS}"),
            "units": (_positive_int, "an integer at least 1"),
            "num_layers": (_positive_int, "an integer at least 1"),
            "strategy": (lambda v: v in STRATEGIES, f"one of {STRATEGIES}"),
            "context_units": (
                lambda v: isinstance(v, tuple) and all(_positive_int(u) for u in v),
                "a list of integers at least 1 (the context network's hidden layers)",
            ),
            "initial_scale": (_positive_number, "a finite number greater than 0"),
            "noise": (lambda v: v in NOISE_KINDS, f"None or one of {NOISE_KINDS}"),
            "noise_scale": (_positive_number, "a finite number greater than 0"),
            "context_every_step": (lambda v: isinstance(v, bool), "true or false"),
            "embedding_dim": (_positive_int, "an integer at least 1"),
        }
        for name, (valid, allowed) in rules.items():
            value = getattr(self, name)
            if value is not None and not valid(value):
                raise InvalidModelConfig(f"model.{name}={value!r} is invalid; allowed: {allowed}.")
