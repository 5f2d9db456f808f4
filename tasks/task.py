"""The Task record: everything the pipeline, the Trainer and the command line need of a task.

Each task's package (tasks/<task>/) builds one in its `__init__`; the
registry (tasks/__init__) lists them. Members that would import TFX,
TensorFlow or TFMA are functions that import their module when called, so
the command line can list tasks and check a run's parameters in seconds.
Transform takes its `preprocessing_fn` and the Trainer its `run_fn` by
module path, as TFX does: those are the only paths a task names.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Dict

from tfx_seqgen.components.validation import build_dataset


def resolve(path: str) -> Any:
    """The object a module path such as "tfx_seqgen.tasks.lcd.preprocessing.preprocessing_fn"
    names."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    # The data's parameters: a tfx_seqgen.schema.Schema (no TFX needed).
    dataset: type
    # (keyword parameters) -> the data component (a DatasetComponent or any
    # ExampleGen-like TFX component with an `examples` output).
    example_gen: Callable[..., Any]
    # Transform's preprocessing_fn, by module path; and dataset -> its custom_config.
    preprocessing_fn: str
    transform_config: Callable[[Any], Dict[str, Any] | None]
    # () -> the Keras model class; its options are checked against it.
    model_class: Callable[[], type]
    # (fn_args, tft_output, TrainingConfig) -> (model, history), and
    # (model, tft_output, directory, TrainingConfig) -> None.
    train: Callable[..., Any]
    export: Callable[..., None]
    # The blessing's parameters: a Schema (components.evaluator.Blessing) with defaults.
    evaluation: type
    # (checked blessing parameters, dataset) -> tfma.EvalConfig
    build_eval_config: Callable[[Dict[str, Any], Any], Any]
    # Named configs: {config: data parameters} and {config: Trainer settings}.
    data_configs: Dict[str, Dict[str, Any]]
    training_configs: Dict[str, Dict[str, Any]]
    # (TrainingConfig, dataset) -> None; raises if the pair cannot train.
    check_training: Callable[[Any, Any], None] = lambda config, dataset: None
    # (generate, run) -> str: what `seqgen run` prints last, given the served
    # model's `generate` (see serving.demo); None: nothing.
    closing_view: Callable[..., str] | None = None

    def build_dataset(self, data_params: Dict[str, Any]) -> Any:
        """The task's dataset from keyword parameters; a bad one is refused, naming it."""
        return build_dataset(self.dataset, data_params)

    def training_config(self, params: Dict[str, Any]):
        """The Trainer's custom_config as a checked TrainingConfig of this task."""
        from tfx_seqgen.models.model_config import check_options  # imports Keras
        from tfx_seqgen.models.training_config import TrainingConfig

        config = TrainingConfig(**params)
        if config.task != self.name:
            raise TrainingConfig.error("task", config.task, repr(self.name))
        check_options(self.model_class(), config.model)
        return config

    def evaluation_params(self, params: Dict[str, Any] | None = None) -> Dict[str, Any]:
        """The blessing's defaults updated by `params`, checked."""
        return self.evaluation(**(params or {})).model_dump()

    def check(
        self,
        data_params: Dict[str, Any],
        training_params: Dict[str, Any],
        baseline_params: Dict[str, Any],
        evaluation_params: Dict[str, Any] | None = None,
    ) -> None:
        """Refuses a bad parameter of a run, naming it, before anything heavy is imported.

        Data and blessing parameters are checked without TensorFlow; training
        settings need Keras (model options are checked against the model
        class), never TFX or TFMA. `seqgen run` calls it first, create_pipeline again.
        """
        dataset = self.build_dataset(data_params)
        self.evaluation_params(evaluation_params)
        for params in (training_params, baseline_params):
            self.check_training(self.training_config(params), dataset)

    def eval_config(self, params: Dict[str, Any] | None = None, dataset: Any = None):
        """The tfma.EvalConfig with the defaults updated by `params` (checked first), for
        `dataset` (default: the task's default dataset, where it has one)."""
        return self.build_eval_config(self.evaluation_params(params), dataset)
