"""The tasks the pipeline runs: one record each, the only place that lists them.

A task is a data component, a Transform `preprocessing_fn`, a trainer module
(models/<task>_task.py, found by the Trainer from the task's name), an
Evaluator config and, optionally, a view `seqgen run` prints last. Adding a
task means its modules and one entry in REGISTRY.

Heavy members (TFX components, TFMA configs) are named by module path, as
TFX names a `run_fn`, and imported when used: the command line can list the
tasks without importing TFX, and this module imports nothing of the rest
of the pipeline.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Dict


def resolve(path: str) -> Any:
    """The object a module path such as "tfx_seqgen.components.LcdExampleGen" names."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    # The data component class; its instance's `dataset` holds the parameters.
    example_gen: str
    # The parameters' dataclass (light: checked before TFX is imported).
    dataset: str
    preprocessing_fn: str
    # The Evaluator: the blessing's parameters with their defaults, and a
    # function from checked parameters to the tfma.EvalConfig.
    evaluation_defaults: str
    eval_config_fn: str
    # dataset -> Transform's custom_config (None: the preprocessing_fn needs none).
    transform_config: Callable[[Any], Dict[str, Any] | None] = lambda dataset: None
    # (training params, dataset) -> None; raises if the pair cannot train.
    check_training: Callable[[Dict[str, Any], Any], None] = lambda params, dataset: None
    # fn(LocalRun) -> str, printed at the end of `seqgen run`.
    closing_view: str | None = None

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
        classes), never TFX or TFMA. `seqgen run` calls it first, create_pipeline again.
        """
        from tfx_seqgen.components.validation import build_dataset
        from tfx_seqgen.pipeline.blessing import check_params

        component = self.example_gen.rpartition(".")[2]
        dataset = build_dataset(component, resolve(self.dataset), data_params)
        check_params(resolve(self.evaluation_defaults), evaluation_params or {})
        from tfx_seqgen.models.training_config import TrainingConfig  # imports Keras

        for params in (training_params, baseline_params):
            TrainingConfig.from_custom_config(params)
        self.check_training(training_params, dataset)

    def eval_config(self, params: Dict[str, Any] | None = None):
        """The tfma.EvalConfig with the defaults updated by `params` (checked first)."""
        from tfx_seqgen.pipeline.blessing import check_params

        checked = check_params(resolve(self.evaluation_defaults), params or {})
        return resolve(self.eval_config_fn)(checked)


def _check_lcd_training(params: Dict[str, Any], dataset) -> None:
    if not params.get("calibrate_band"):
        return
    from tfx_seqgen.errors import InvalidTrainingConfig
    from tfx_seqgen.models.lcd_calibration import held_out_periods

    if not held_out_periods(dataset.train_periods):
        raise InvalidTrainingConfig(
            f"calibrate_band=True needs at least 3 training periods, to hold one out "
            f"between two others; train_periods={list(dataset.train_periods)}. Add periods "
            "or set --train calibrate_band=false."
        )


def _lcd_transform_config(dataset) -> Dict[str, Any]:
    """The layout of LCD's `scaling` feature, which lcd_preprocessing_fn ignores.

    Transform's cache key holds its custom_config but not the code of its
    preprocessing_fn, so a pipeline root run before the layout changed
    transforms afresh rather than handing the Trainer outputs it cannot read.
    """
    del dataset
    return {"scaling_keys": list(resolve("tfx_seqgen.models.preprocessing.SCALING_KEYS"))}


REGISTRY: Dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="lcd",
            example_gen="tfx_seqgen.components.LcdExampleGen",
            dataset="tfx_seqgen.components.lcd_data.LcdDataset",
            preprocessing_fn="tfx_seqgen.models.preprocessing.lcd_preprocessing_fn",
            evaluation_defaults="tfx_seqgen.pipeline.blessing.LCD_DEFAULTS",
            eval_config_fn="tfx_seqgen.pipeline.evaluation.lcd_eval_config",
            check_training=_check_lcd_training,
            closing_view="tfx_seqgen.serving.demo.show_trajectories",
            transform_config=_lcd_transform_config,
        ),
        Task(
            name="art",
            example_gen="tfx_seqgen.components.ArtExampleGen",
            dataset="tfx_seqgen.components.art_data.ArtDataset",
            preprocessing_fn="tfx_seqgen.models.preprocessing.art_preprocessing_fn",
            evaluation_defaults="tfx_seqgen.pipeline.blessing.ART_DEFAULTS",
            eval_config_fn="tfx_seqgen.pipeline.evaluation.art_eval_config",
            transform_config=lambda dataset: {"num_pairs": dataset.num_pairs},
        ),
    )
}
NAMES = tuple(REGISTRY)


def get(name: str) -> Task:
    if name not in REGISTRY:
        raise ValueError(f"task={name!r} is unknown; allowed: {', '.join(NAMES)}.")
    return REGISTRY[name]
