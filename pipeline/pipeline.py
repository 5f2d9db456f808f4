"""The tfx-seqgen pipeline: one definition for both tasks and every runner."""

from __future__ import annotations

from typing import Any, Dict, List

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from components import ArtExampleGen, LcdExampleGen

GENERATORS = {"lcd": LcdExampleGen, "art": ArtExampleGen}


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    task: str,
    data_params: Dict[str, Any],
    metadata_connection_config: metadata_store_pb2.ConnectionConfig | None = None,
    beam_pipeline_args: List[str] | None = None,
    enable_cache: bool = True,
) -> tfx.dsl.Pipeline:
    """Data generator -> StatisticsGen -> SchemaGen -> ExampleValidator.

    `data_params` are the generator's keyword arguments; they are checked
    here, so a bad value fails before any component runs.
    """
    if task not in GENERATORS:
        raise ValueError(f"task={task!r} is unknown; allowed: {', '.join(GENERATORS)}.")
    example_gen = GENERATORS[task](**data_params)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
    )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[example_gen, statistics_gen, schema_gen, example_validator],
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args or [],
    )
