"""The Trainer's settings (its `custom_config`): one typed schema, checked before anything trains.

Light on purpose: pydantic only, so `seqgen run` refuses a bad setting
before it imports the pipeline. The task and its model options are checked
by the task (tasks.task.Task.training_config), against its model's options
schema. Each field's description is what the command line's help and the
docs/pipeline.md's table say of it (tests/test_schema.py holds them together).
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict

from pydantic import model_validator

from tfx_seqgen.errors import InvalidTrainingConfig
from tfx_seqgen.schema import Schema, flag, integer, number, text

# Training steps one call of Keras's train function may run: TensorFlow refuses
# more than 32 `get_next` calls of one iterator in one traced function.
MAX_STEPS_PER_EXECUTION = 32
MAX_SAMPLES = 1000
MAX_LOCAL_WORKERS = 64


class TrainingConfig(Schema):
    """The Trainer's custom_config. The baseline's is the same with strategy "zero"."""

    OWNER: ClassVar[str] = "Trainer custom_config"

    task: str = text(..., "the name of a registered task", "the task whose model this trains")
    model: Dict[str, Any] = text(
        ..., "a dict of the task model's options", "the task model's options (--train model.NAME)"
    )
    epochs: int = integer(10, 1, doc="epochs of the main (teacher-forced) phase")
    batch_size: int = integer(64, 1, doc="examples per training step")
    learning_rate: float = number(1e-3, positive=True, doc="Adam's learning rate")
    clip_norm: float | None = number(
        None,
        positive=True,
        doc="clip gradients to this global norm (None: no clipping)",
        rule="None or a finite number greater than 0",
    )
    seed: int = integer(0, 0, doc="seeds the weights, the shuffling and the sampled h0")
    stop_at_accuracy: float | None = text(
        None, "None or a number in (0, 1]", "stop once the eval accuracy reaches it (ART)"
    )
    decay_epochs: int = integer(
        0, 0, doc="the learning rate falls linearly over this many last epochs (0: constant)"
    )
    rollout_epochs: int = integer(0, 0, doc="epochs of free-running training after the main phase")
    rollout_samples: int = integer(
        8, 1, MAX_SAMPLES, doc="trajectories per example scored by CRPS in free running"
    )
    rollout_learning_rate: float | None = number(
        None,
        positive=True,
        doc="the free-running phase's rate (None: learning_rate)",
        rule="None or a finite number greater than 0",
    )
    rollout_mean_path: bool = flag(False, "also train the mean-h0 path's absolute error")
    eval_samples: int = integer(
        100, 1, MAX_SAMPLES, doc="trajectories per example the exported `evaluate` scores"
    )
    calibrate_band: bool = flag(False, "fit the sampled band out of sample (LCD)")
    cache_data: bool = flag(True, "hold the transformed splits in memory (False: stream them)")
    cache_max_rows: int = integer(
        2_000_000,
        1,
        doc="with cache_data, a split of more rows streams instead (an LCD row held: about 1.4 KB)",
    )
    shuffle_buffer: int = integer(
        100_000, 1, doc="rows a streamed split is shuffled within (cache_data: false)"
    )
    steps_per_epoch: int | None = integer(
        None,
        1,
        doc="train on at most this many batches per epoch, the first of its shuffle (None: all)",
        optional=True,
    )
    jit_compile: bool | None = text(
        None, "None (the cell's measured choice), true or false", "XLA-compile the steps"
    )
    steps_per_execution: int = integer(
        1, 1, MAX_STEPS_PER_EXECUTION, doc="training steps per call of Keras's train function"
    )
    workers: int = integer(
        1,
        1,
        MAX_LOCAL_WORKERS,
        doc="worker processes on this machine (MultiWorkerMirroredStrategy over loopback ports)",
    )
    worker_restarts: int = integer(
        2, 0, doc="times the local workers are started again after one fails"
    )
    peer_timeout: int = integer(
        300, 1, doc="seconds a worker waits for the others to join before it gives up"
    )
    backup_dir: str | None = text(
        None, "None or a directory path", "keep each epoch's state there and resume from it"
    )

    @model_validator(mode="after")
    def _accuracy_at_most_one(self) -> TrainingConfig:
        accuracy = self.stop_at_accuracy
        if accuracy is not None and not 0 < accuracy <= 1:
            raise self.refuse("stop_at_accuracy", accuracy, "None or a number in (0, 1]")
        return self

    @classmethod
    def error(cls, name: str, value: Any, allowed: str) -> ValueError:
        return InvalidTrainingConfig(
            f"{cls.OWNER}: {name}={value!r} is invalid; allowed: {allowed}."
        )

    def jit_compile_for(self, cell: str) -> bool:
        """Whether to XLA-compile the steps of a model with this cell."""
        if self.jit_compile is not None:
            return self.jit_compile
        from tfx_seqgen.models.cells import FASTEST_LOOP  # imports Keras

        return FASTEST_LOOP[cell].jit_compile

    @classmethod
    def from_custom_config(cls, custom_config: Dict[str, Any]) -> TrainingConfig:
        return cls(**custom_config)
