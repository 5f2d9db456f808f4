"""The model options a Trainer's custom_config may hold, checked before anything runs.

`custom_config["model"]` holds keyword arguments of a task's model class (a
TaskModel; its OWN_OPTIONS are the options only it takes).
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

from tfx_seqgen.models.cells import CELLS, cell_option_names
from tfx_seqgen.models.initial_state import NOISE_KINDS, STRATEGIES

SHARED_OPTIONS = (
    "cell",
    "units",
    "num_layers",
    "strategy",
    "context_units",
    "initial_scale",
    "noise",
    "noise_scale",
    "unroll",
    "cell_options",
)
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

    model_class: type
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
    def from_options(
        cls, model_class: type, options: Dict[str, Any], task: str | None = None
    ) -> ModelConfig:
        """Checked options of `model_class`; errors name `task` (default: the class)."""
        if not isinstance(options, dict):
            raise InvalidModelConfig(
                f"model={options!r} is invalid; allowed: a dict of model options."
            )
        allowed = cls.allowed(model_class)
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise InvalidModelConfig(
                f"model options {unknown} are unknown for "
                f"{f'task {task!r}' if task else model_class.__name__}; "
                f"allowed: {list(allowed)}."
            )
        values = dict(options)
        if isinstance(values.get("context_units"), (list, tuple)):
            values["context_units"] = tuple(values["context_units"])
        return cls(model_class=model_class, **values)

    @staticmethod
    def allowed(model_class: type) -> tuple:
        return SHARED_OPTIONS + tuple(getattr(model_class, "OWN_OPTIONS", ()))

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
            cell = self.cell or inspect.signature(self.model_class).parameters["cell"].default
            unknown = sorted(set(self.cell_options) - set(cell_option_names(cell)))
            if unknown:
                raise InvalidModelConfig(
                    f"model.cell_options {unknown} are unknown for cell {cell!r}; "
                    f"allowed: {list(cell_option_names(cell))}."
                )
