"""The tfx-seqgen pipeline: one definition for every task and every runner."""

from __future__ import annotations

import os
from typing import Any, Dict, List

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from tfx_seqgen import tasks
from tfx_seqgen.components.eval_sample import EvalSample, slice_features
from tfx_seqgen.components.local_workers import WorkersTrainer
from tfx_seqgen.components.pusher import ServingPusher
from tfx_seqgen.pipeline.configs import baseline_params
from tfx_seqgen.tasks import trainer_module

# The Trainer takes its run_fn by module path, as TFX names it.
RUN_FN = f"{trainer_module.__name__}.{trainer_module.run_fn.__name__}"


def serving_model_dir(serving_dir: str, task: str) -> str:
    """TF Serving's model base path: `<serving_dir>/<task>`; the model is named after the task."""
    return os.path.join(serving_dir, task)


def data_components(task: str, data_params: Dict[str, Any]) -> list:
    """Data generator -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform.

    The first half of every pipeline; the benchmarks run it alone and train
    many models on its output.
    """
    record = tasks.get(task)
    example_gen = record.example_gen(**data_params)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
    )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=record.preprocessing_fn,
        custom_config=record.transform_config(example_gen.dataset),
    )
    return [example_gen, statistics_gen, schema_gen, example_validator, transform]


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    task: str,
    data_params: Dict[str, Any],
    training_params: Dict[str, Any],
    serving_dir: str | None = None,
    evaluation_params: Dict[str, Any] | None = None,
    baseline_training_params: Dict[str, Any] | None = None,
    metadata_connection_config: metadata_store_pb2.ConnectionConfig | None = None,
    beam_pipeline_args: List[str] | None = None,
    enable_cache: bool = True,
    vertex_training: Dict[str, Any] | None = None,
) -> tfx.dsl.Pipeline:
    """Data generator -> StatisticsGen -> SchemaGen -> ExampleValidator ->
    Transform -> Trainer (contextual) and BaselineTrainer (h0 = 0) ->
    Evaluator (contextual vs baseline) -> Pusher (only if blessed).

    `data_params` are the generator's keyword arguments, `training_params`
    the contextual Trainer's custom_config (the baseline's defaults to the
    same with strategy "zero") and `evaluation_params` the blessing's
    thresholds (the task's evaluation defaults, see tasks/<task>/evaluation.py).
    With `vertex_training` (TFX's Vertex AI Trainer keys, see
    pipeline.kubeflow.vertex_training) both Trainers run as Vertex AI custom
    jobs whose replicas train together; otherwise on this machine, on
    `workers` local processes (components.local_workers).
    All are checked here, so a bad value fails before any component runs. A
    blessed model is pushed to `<serving_dir>/<task>/<version>/` (default
    serving_dir: `<pipeline_root>/serving`), where TF Serving can poll for it.
    """
    baseline = baseline_training_params or baseline_params(training_params)
    record = tasks.get(task)
    record.check(data_params, training_params, baseline, evaluation_params)  # not in a component
    example_gen, statistics_gen, schema_gen, example_validator, transform = data_components(
        task, data_params
    )
    eval_config = record.eval_config(evaluation_params, example_gen.dataset)
    trainer_class = WorkersTrainer
    if vertex_training:
        trainer_class = tfx.extensions.google_cloud_ai_platform.Trainer
    trainer, baseline_trainer = (
        trainer_class(
            run_fn=RUN_FN,
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            schema=schema_gen.outputs["schema"],
            custom_config={**params, **(vertex_training or {})},
        ).with_id(component_id)
        for component_id, params in (
            ("Trainer", training_params),
            ("BaselineTrainer", baseline),
        )
    )
    eval_examples, eval_sample = example_gen.outputs["examples"], None
    per_slice = record.evaluation_params(evaluation_params)["eval_sample_per_slice"]
    if per_slice is not None:
        eval_sample = EvalSample(
            examples=eval_examples,
            per_slice=per_slice,
            slice_features=slice_features(eval_config),
        )
        eval_examples = eval_sample.outputs["sampled_examples"]
    evaluator = tfx.components.Evaluator(
        examples=eval_examples,
        model=trainer.outputs["model"],
        baseline_model=baseline_trainer.outputs["model"],
        schema=schema_gen.outputs["schema"],
        eval_config=eval_config,
    )
    # Only a blessed model reaches the Pusher: the condition shows in the
    # compiled Kubeflow pipeline, and the Pusher checks the blessing again.
    blessed = evaluator.outputs["blessing"].future()[0].custom_property("blessed") == 1
    with tfx.dsl.Cond(blessed):
        pusher = ServingPusher(
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            push_destination=tfx.proto.PushDestination(
                filesystem=tfx.proto.PushDestination.Filesystem(
                    base_directory=serving_model_dir(
                        serving_dir or os.path.join(pipeline_root, "serving"), task
                    )
                )
            ),
        ).with_id("Pusher")
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            transform,
            trainer,
            baseline_trainer,
            *([eval_sample] if eval_sample else []),
            evaluator,
            pusher,
        ],
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args or [],
    )
