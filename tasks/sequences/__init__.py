"""Your own sequences: a calibrated contextual generator for any long table of series.

The task's home: reading the user's files (data.py, tables.py, series.py,
component.py), preprocessing, the model and its training, the SavedModel's
`generate` contract, the Evaluator's config and the named configs.
`SEQUENCES` is its record in the registry (tasks/__init__).
"""

from __future__ import annotations

from tfx_seqgen.tasks.sequences import configs, evaluation
from tfx_seqgen.tasks.sequences.data import SequencesDataset
from tfx_seqgen.tasks.task import Task


def example_gen(**params):
    from tfx_seqgen.tasks.sequences.component import SequencesExampleGen

    return SequencesExampleGen(**params)


def model_class() -> type:
    from tfx_seqgen.tasks.sequences.model import SequencesModel

    return SequencesModel


def train(fn_args, tft_output, config):
    from tfx_seqgen.tasks.sequences import trainer

    return trainer.train(fn_args, tft_output, config)


def export(model, tft_output, directory: str, config) -> None:
    from tfx_seqgen.tasks.sequences import signatures

    signatures.export(model, tft_output, directory, config)


def eval_config(params: dict, dataset: SequencesDataset):
    """Sliced by each categorical context column (numeric ones have too many values)."""
    from tfx_seqgen.tasks.sequences import component, tables

    kinds = {}
    if "://" not in dataset.path:  # remote files: the overall slice only
        kinds = component.context_kinds(dataset, tables.list_files(dataset))
    categorical = [name for name, kind in kinds.items() if kind == "categorical"]
    return evaluation.eval_config(params, categorical)


def transform_config(dataset: SequencesDataset) -> dict:
    """The channel count: Transform reshapes the flat values with it."""
    return {"channels": len(dataset.values)}


SEQUENCES = Task(
    name="sequences",
    dataset=SequencesDataset,
    example_gen=example_gen,
    preprocessing_fn=f"{__name__}.preprocessing.preprocessing_fn",
    transform_config=transform_config,
    model_class=model_class,
    train=train,
    export=export,
    evaluation=evaluation.SequencesBlessing,
    build_eval_config=eval_config,
    data_configs=configs.DATA,
    training_configs=configs.TRAINING,
)
