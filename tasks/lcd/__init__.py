"""Linear cosine decay (LCD): generate a decaying cosine from its first value and period.

The task's home: data (data.py, component.py), preprocessing, the model and
its training recipe (model.py, trainer.py, calibration.py), the SavedModel's
signatures, the Evaluator's config, named configs and the demo's closing
view. `LCD` is its record in the registry (tasks/__init__).
"""

from __future__ import annotations

from tfx_seqgen.tasks.lcd import configs, evaluation
from tfx_seqgen.tasks.lcd.data import LcdDataset
from tfx_seqgen.tasks.task import Task


def example_gen(**params):
    from tfx_seqgen.tasks.lcd.component import LcdExampleGen

    return LcdExampleGen(**params)


def model_class() -> type:
    from tfx_seqgen.tasks.lcd.model import LcdModel

    return LcdModel


def train(fn_args, tft_output, config):
    from tfx_seqgen.tasks.lcd import trainer

    return trainer.train(fn_args, tft_output, config)


def export(model, tft_output, directory: str, config) -> None:
    from tfx_seqgen.tasks.lcd import signatures

    signatures.export(model, tft_output, directory, config)


def eval_config(params: dict, dataset=None):
    del dataset  # the same slices for every dataset
    return evaluation.eval_config(params)


def transform_config(dataset: LcdDataset) -> dict:
    """The layout of LCD's `scaling` feature, which the preprocessing_fn ignores.

    Transform's cache key holds its custom_config but not the code of its
    preprocessing_fn, so a pipeline root run before the layout changed
    transforms afresh rather than handing the Trainer outputs it cannot read.
    """
    del dataset
    from tfx_seqgen.tasks.lcd.preprocessing import SCALING_KEYS

    return {"scaling_keys": list(SCALING_KEYS)}


def check_training(config, dataset: LcdDataset) -> None:
    """calibrate_band holds a training period out between two others: it needs three."""
    if not config.calibrate_band:
        return
    from tfx_seqgen.errors import InvalidTrainingConfig
    from tfx_seqgen.tasks.lcd.calibration import held_out_periods

    if not held_out_periods(dataset.train_periods):
        raise InvalidTrainingConfig(
            f"calibrate_band=True needs at least 3 training periods, to hold one out "
            f"between two others; train_periods={list(dataset.train_periods)}. Add periods "
            "or set --train calibrate_band=false."
        )


def closing_view(generate, run) -> str:
    from tfx_seqgen.tasks.lcd import view

    return view.eval_period_report(generate, run)


LCD = Task(
    name="lcd",
    dataset=LcdDataset,
    example_gen=example_gen,
    preprocessing_fn=f"{__name__}.preprocessing.preprocessing_fn",
    transform_config=transform_config,
    model_class=model_class,
    train=train,
    export=export,
    evaluation=evaluation.LcdBlessing,
    build_eval_config=eval_config,
    data_configs=configs.DATA,
    training_configs=configs.TRAINING,
    check_training=check_training,
    closing_view=closing_view,
)
