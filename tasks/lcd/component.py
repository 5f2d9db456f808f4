"""LcdExampleGen: the TFX component that writes the LCD dataset with Beam."""

from __future__ import annotations

from typing import Dict

from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec

from tfx_seqgen.components.example_gen import (
    EXAMPLES_KEY,
    DatasetComponent,
    DatasetExecutor,
    spec_parameters,
)
from tfx_seqgen.tasks.lcd.data import LcdDataset


class LcdExampleGenSpec(ComponentSpec):
    PARAMETERS = spec_parameters(LcdDataset)
    INPUTS: Dict[str, ChannelParameter] = {}
    OUTPUTS = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}


class LcdExampleGenExecutor(DatasetExecutor):
    DATASET = LcdDataset


class LcdExampleGen(DatasetComponent):
    """Linear cosine decay sequences; keyword arguments are LcdDataset's fields."""

    DATASET = LcdDataset
    SPEC_CLASS = LcdExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(LcdExampleGenExecutor)
