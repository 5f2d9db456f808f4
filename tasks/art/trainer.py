"""ART in the Trainer: the model fitted on the transformed queries.

The SavedModel it exports, and its signatures, are in tasks.art.signatures.
"""

from __future__ import annotations

import keras
import tensorflow_transform as tft

from tfx_seqgen.models.training import fit, optimizer
from tfx_seqgen.models.training_config import TrainingConfig
from tfx_seqgen.models.training_data import TrainingData
from tfx_seqgen.tasks.art.model import ArtModel
from tfx_seqgen.tasks.art.preprocessing import OOV_BUCKETS, VOCABULARY


def to_model(features):
    return features["tokens"], features["label"]


def compiled_model(config: TrainingConfig, tft_output: tft.TFTransformOutput) -> keras.Model:
    """The model `train` fits, compiled as it compiles it; the vocabulary sets its size."""
    vocab_size = tft_output.vocabulary_size_by_name(VOCABULARY) + OOV_BUCKETS
    model = ArtModel(vocab_size=vocab_size, seed=config.seed, **config.model)
    model.compile(
        optimizer=optimizer(config),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=config.jit_compile_for(model.options["cell"]),
    )
    return model


def train(fn_args, tft_output: tft.TFTransformOutput, config: TrainingConfig):
    model = compiled_model(config, tft_output)
    data = TrainingData(fn_args, tft_output, config)
    train_data, eval_data = (
        data.dataset("train", True, to_model),
        data.dataset("eval", False, to_model),
    )
    name = f"art/{config.model.get('strategy', 'learned')}"
    return model, fit(model, train_data, eval_data, config, fn_args, name)
