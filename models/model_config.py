"""The model options a Trainer's custom_config may hold, checked before anything runs.

`custom_config["model"]` holds keyword arguments of LcdModel or ArtModel.
The pipeline checks them when it is built (through TrainingConfig), so a
typo such as `strategy=learned_distributon` or `units=-3` stops the run
before data generation, not in the Trainer after it. The layers check their
own arguments too; this is the one place that knows every option's rule.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any, Dict, Tuple

from tfx_seqgen.models.art_model import ArtModel
from tfx_seqgen.models.cells import CELLS, cell_option_names
from tfx_seqgen.models.initial_state import NOISE_KINDS, STRATEGIES
from tfx_seqgen.models.lcd_model import LcdModel

# Options one task's model has and the other's does not.
TASK_OPTIONS = {
    "lcd": ("context_every_step",),
    "art": ("embedding_dim", "embedding_initializer", "head_units"),
}
MODEL_CLASSES = {"lcd": LcdModel, "art": ArtModel}
# Keras's default for embeddings, and the paper's ART code's.
EMBEDDING_INITIALIZERS = ("uniform", "zeros")


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
    unroll: bool | None = None
    cell_options: Dict[str, Any] | None = None
    context_every_step: bool | None = None
    embedding_dim: int | None = None
    embedding_initializer: str | None = None
    head_units: int | None = None

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
        shared += ("initial_scale", "noise", "noise_scale", "unroll", "cell_options")
        return shared + TASK_OPTIONS.get(task, ())

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
            "unroll": (
                lambda v: isinstance(v, bool),
                "None (the cell's measured choice), true or false",
            ),
            "cell_options": (
                lambda v: isinstance(v, dict),
                "a dict of the cell's keyword arguments",
            ),
            "embedding_dim": (_positive_int, "an integer at least 1"),
            "embedding_initializer": (
                lambda v: v in EMBEDDING_INITIALIZERS,
                f"one of {EMBEDDING_INITIALIZERS}",
            ),
            "head_units": (
                lambda v: _positive_int(v) or v == 0,
                "0 (logits straight from the RNN) or an integer at least 1 (a ReLU layer first)",
            ),
        }
        for name, (valid, allowed) in rules.items():
            value = getattr(self, name)
            if value is not None and not valid(value):
                raise InvalidModelConfig(f"model.{name}={value!r} is invalid; allowed: {allowed}.")
        if self.cell_options:
            model_class = MODEL_CLASSES[self.task]
            cell = self.cell or inspect.signature(model_class).parameters["cell"].default
            unknown = sorted(set(self.cell_options) - set(cell_option_names(cell)))
            if unknown:
                raise InvalidModelConfig(
                    f"model.cell_options {unknown} are unknown for cell {cell!r}; "
                    f"allowed: {list(cell_option_names(cell))}."
                )
