"""The Trainer's settings (its `custom_config`), checked before anything trains.

Light on purpose: it needs neither TFX nor tensorflow-transform, so `seqgen
run` refuses a bad setting before it imports the pipeline. The task and its
model options are checked by the task (tasks.task.Task.training_config),
against its model class.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict

from tfx_seqgen.errors import InvalidTrainingConfig
from tfx_seqgen.models.cells import FASTEST_LOOP

# Training steps one call of Keras's train function may run: TensorFlow refuses
# more than 32 `get_next` calls of one iterator in one traced function.
MAX_STEPS_PER_EXECUTION = 32


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    task: str
    model: Dict[str, Any]
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    clip_norm: float | None = None
    seed: int = 0
    stop_at_accuracy: float | None = None
    decay_epochs: int = 0
    rollout_epochs: int = 0
    rollout_samples: int = 8
    rollout_learning_rate: float | None = None
    rollout_mean_path: bool = False
    eval_samples: int = 100
    calibrate_band: bool = False
    cache_data: bool = True
    jit_compile: bool | None = None
    steps_per_execution: int = 1
    backup_dir: str | None = None

    def __post_init__(self):
        def bad(name, allowed):
            value = getattr(self, name)
            return InvalidTrainingConfig(
                f"Trainer custom_config: {name}={value!r} is invalid; allowed: {allowed}."
            )

        if not isinstance(self.task, str) or not self.task:
            raise bad("task", "the name of a registered task")
        if not isinstance(self.model, dict):
            raise bad("model", "a dict of the task model's options")
        for name, low, high in (
            ("epochs", 1, None),
            ("batch_size", 1, None),
            ("rollout_epochs", 0, None),
            ("rollout_samples", 1, 1000),
            ("eval_samples", 1, 1000),
        ):
            value = getattr(self, name)
            rule = f"an integer at least {low}" + (f" and at most {high}" if high else "")
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise bad(name, rule)
            if high is not None and value > high:
                raise bad(name, rule)
        for name in ("learning_rate", "rollout_learning_rate"):
            value = getattr(self, name)
            if name == "rollout_learning_rate" and value is None:
                continue
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and 0 < value < math.inf):
                raise bad(name, "a finite number greater than 0")
        if self.clip_norm is not None and not (0 < self.clip_norm < math.inf):
            raise bad("clip_norm", "None or a finite number greater than 0")
        for name in ("calibrate_band", "rollout_mean_path", "cache_data"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "true or false")
        if self.backup_dir is not None and not isinstance(self.backup_dir, str):
            raise bad("backup_dir", "None or a directory path")
        if self.jit_compile is not None and not isinstance(self.jit_compile, bool):
            raise bad("jit_compile", "None (the cell's measured choice), true or false")
        steps = self.steps_per_execution
        whole = isinstance(steps, int) and not isinstance(steps, bool)
        if not (whole and 1 <= steps <= MAX_STEPS_PER_EXECUTION):
            raise bad("steps_per_execution", f"an integer from 1 to {MAX_STEPS_PER_EXECUTION}")
        decay = self.decay_epochs
        if isinstance(decay, bool) or not isinstance(decay, int) or decay < 0:
            raise bad("decay_epochs", "an integer at least 0 (more than epochs: all of them)")
        if self.stop_at_accuracy is not None and not 0 < self.stop_at_accuracy <= 1:
            raise bad("stop_at_accuracy", "None or a number in (0, 1]")

    def jit_compile_for(self, cell: str) -> bool:
        """Whether to XLA-compile the steps of a model with this cell."""
        if self.jit_compile is not None:
            return self.jit_compile
        return FASTEST_LOOP[cell].jit_compile

    @classmethod
    def from_custom_config(cls, custom_config: Dict[str, Any]) -> TrainingConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(custom_config) - known)
        if unknown:
            raise InvalidTrainingConfig(
                f"Trainer custom_config: unknown keys {unknown}; allowed: {sorted(known)}."
            )
        return cls(**custom_config)
