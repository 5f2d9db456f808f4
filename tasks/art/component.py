"""ArtExampleGen: the TFX component that writes the ART dataset with Beam."""

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
from tfx_seqgen.tasks.art.data import ArtDataset


class ArtExampleGenSpec(ComponentSpec):
    PARAMETERS = spec_parameters(ArtDataset)
    INPUTS: Dict[str, ChannelParameter] = {}
    OUTPUTS = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}


class ArtExampleGenExecutor(DatasetExecutor):
    DATASET = ArtDataset


class ArtExampleGen(DatasetComponent):
    """Associative retrieval queries; keyword arguments are ArtDataset's fields."""

    DATASET = ArtDataset
    SPEC_CLASS = ArtExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(ArtExampleGenExecutor)
