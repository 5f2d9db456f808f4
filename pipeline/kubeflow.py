"""Compiles the tfx-seqgen pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines.

The output is a KFP PipelineJob JSON. Compiling needs no cloud credentials
and copies no code: the Trainer's `run_fn`, Transform's `preprocessing_fn`
and our components' executors are referenced by module path and resolve
inside the pipeline image, which installs this package (see Dockerfile).
"""

from __future__ import annotations

import os
from typing import List

from tfx import v1 as tfx

from tfx_seqgen.pipeline import configs
from tfx_seqgen.pipeline.pipeline import create_pipeline


def compile_pipeline(
    task: str,
    config: str,
    pipeline_root: str,
    image: str,
    output: str,
    beam_args: List[str] | None = None,
    serving_dir: str | None = None,
    data_overrides: dict | None = None,
    training_overrides: dict | None = None,
    evaluation_overrides: dict | None = None,
) -> str:
    """Writes the PipelineJob JSON to `output`; returns its path.

    `pipeline_root` and `serving_dir` are URIs the cluster can write (e.g.
    gs://bucket/seqgen); `serving_dir` defaults to `<pipeline_root>/serving`.
    `beam_args` reach every Beam-using component, e.g. Dataflow's options.
    """
    if not image:
        raise ValueError("image is empty; give the pipeline image, e.g. gcr.io/PROJECT/seqgen:1")
    data, training, baseline = configs.resolve(task, config, data_overrides, training_overrides)
    name = f"seqgen-{task}-{config}"
    pipeline = create_pipeline(
        pipeline_name=name,
        pipeline_root=pipeline_root,
        task=task,
        data_params=data,
        training_params=training,
        baseline_training_params=baseline,
        serving_dir=serving_dir,
        evaluation_params=evaluation_overrides,
        beam_pipeline_args=beam_args,
    )
    output = os.path.abspath(output)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        # Pipeline spec schema 2.1: the current format, and the one kfp.local expects.
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, use_pipeline_spec_2_1=True
        ),
        output_dir=os.path.dirname(output),
        output_filename=os.path.basename(output),
    )
    runner.run(pipeline, write_out=True)
    return output
