"""The associative retrieval task (ART): answer the digit paired with a queried letter.

The task's home: data (data.py, component.py), preprocessing, the model and
its training recipe, the SavedModel's signatures, the Evaluator's config
and named configs. `ART` is its record in the registry (tasks/__init__).
"""

from __future__ import annotations

from tfx_seqgen.tasks.art import configs, evaluation
from tfx_seqgen.tasks.art.data import ArtDataset
from tfx_seqgen.tasks.task import Task


def example_gen(**params):
    from tfx_seqgen.tasks.art.component import ArtExampleGen

    return ArtExampleGen(**params)


def model_class() -> type:
    from tfx_seqgen.tasks.art.model import ArtModel

    return ArtModel


def train(fn_args, tft_output, config):
    from tfx_seqgen.tasks.art import trainer

    return trainer.train(fn_args, tft_output, config)


def export(model, tft_output, directory: str, config) -> None:
    from tfx_seqgen.tasks.art import signatures

    signatures.export(model, tft_output, directory, config)


def eval_config(params: dict, dataset=None):
    del dataset  # the same slices for every dataset
    return evaluation.eval_config(params)


def transform_config(dataset: ArtDataset) -> dict:
    """The query length follows from the number of pairs: Transform pads to it."""
    return {"num_pairs": dataset.num_pairs}


ART = Task(
    name="art",
    dataset=ArtDataset,
    example_gen=example_gen,
    preprocessing_fn=f"{__name__}.preprocessing.preprocessing_fn",
    transform_config=transform_config,
    model_class=model_class,
    train=train,
    export=export,
    evaluation=evaluation.ArtBlessing,
    build_eval_config=eval_config,
    data_configs=configs.DATA,
    training_configs=configs.TRAINING,
)
