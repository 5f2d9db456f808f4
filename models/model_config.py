"""The model options a Trainer's custom_config may hold: one schema per task model.

`custom_config["model"]` holds keyword arguments of a task's model class (a
TaskModel). `ModelOptions` has the options every task model takes; a task's
model extends it with its own (its class's OPTIONS). The pipeline checks
them when it is built (through the task's TrainingConfig check), so a typo
such as `strategy=learned_distributon` or `units=-3` stops the run before
data generation, not in the Trainer after it. A field is None where the
model's own default applies.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Dict, List

from pydantic import field_validator

from tfx_seqgen.errors import InvalidTrainingConfig
from tfx_seqgen.models.cells import CELLS, cell_option_names
from tfx_seqgen.models.initial_state import NOISE_KINDS, STRATEGIES
from tfx_seqgen.schema import Schema, choice, integer, number, text


class InvalidModelConfig(InvalidTrainingConfig):
    """A model option is unknown or has a value the model cannot use."""


class ModelOptions(Schema):
    """Options every task model takes (TaskModel's)."""

    OWNER: ClassVar[str] = "Trainer custom_config"

    cell: str | None = choice(None, CELLS, "the recurrent cell", rule=f"one of {CELLS}")
    units: int | None = integer(None, 1, doc="the cell's units")
    num_layers: int | None = integer(None, 1, doc="stacked recurrent layers")
    strategy: str | None = choice(
        None, STRATEGIES, "the initial-state strategy", rule=f"one of {STRATEGIES}"
    )
    context_units: List[int] | None = text(
        None,
        "a list of integers at least 1 (the context network's hidden layers)",
        "g's hidden layers ([]: one linear layer)",
    )
    initial_scale: float | None = number(
        None, positive=True, doc="the h0 distribution's starting scale"
    )
    noise: str | None = choice(
        None, NOISE_KINDS, "noise added to h0", rule=f"None or one of {NOISE_KINDS}"
    )
    noise_scale: float | None = number(None, positive=True, doc="the noise's scale")
    unroll: bool | None = text(
        None, "None (the cell's measured choice), true or false", "unroll the recurrent loop"
    )
    cell_options: Dict[str, Any] | None = text(
        None, "a dict of the cell's keyword arguments", "the cell's own keyword arguments"
    )

    @field_validator("cell", "strategy", "noise")
    @classmethod
    def _one_of(cls, value, info):
        options = {"cell": CELLS, "strategy": STRATEGIES, "noise": NOISE_KINDS}[info.field_name]
        if value is not None and value not in options:
            raise cls.refuse(info.field_name, value, cls.rules()[info.field_name])
        return value

    @field_validator("context_units", mode="before")
    @classmethod
    def _layers(cls, value):
        if value is None:
            return value
        whole = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1  # noqa: E731
        if not isinstance(value, (list, tuple)) or not all(whole(v) for v in value):
            raise cls.refuse("context_units", value, cls.rules()["context_units"])
        return list(value)

    @classmethod
    def error(cls, name: str, value: Any, allowed: str) -> ValueError:
        return InvalidModelConfig(
            f"{cls.OWNER}: model.{name}={value!r} is invalid; allowed: {allowed}."
        )


def check_options(model_class: type, options: Dict[str, Any]) -> ModelOptions:
    """`options` checked against `model_class.OPTIONS`, cell_options against its cell."""
    if not isinstance(options, dict):
        raise ModelOptions.error("", options, "a dict of model options")
    checked = model_class.OPTIONS(**options)
    if checked.cell_options:
        cell = checked.cell or inspect.signature(model_class).parameters["cell"].default
        unknown = sorted(set(checked.cell_options) - set(cell_option_names(cell)))
        if unknown:
            raise InvalidModelConfig(
                f"{ModelOptions.OWNER}: model.cell_options {unknown} are unknown for cell "
                f"{cell!r}; allowed: {list(cell_option_names(cell))}."
            )
    return checked


__all__ = ["InvalidModelConfig", "ModelOptions", "check_options"]
