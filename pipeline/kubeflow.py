"""Compiles the tfx-seqgen pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines.

The output is a KFP PipelineJob JSON. Compiling needs no cloud credentials
and copies no code: the Trainer's `run_fn`, Transform's `preprocessing_fn`
and our components' executors are referenced by module path and resolve
inside the pipeline image, which installs this package (see Dockerfile).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

from tfx import v1 as tfx

from tfx_seqgen.pipeline import configs
from tfx_seqgen.pipeline.pipeline import create_pipeline


def vertex_training(
    project: str, region: str, image: str, replicas: int, machine_type: str = "n1-standard-4"
) -> Dict[str, Any]:
    """TFX's Vertex AI Trainer keys for `replicas` machines training together.

    Pool 0 is the chief, pool 1 the other workers; Vertex AI gives each
    replica its TF_CONFIG, and run_fn trains with MultiWorkerMirroredStrategy
    (models.cluster). Every replica runs the pipeline image, where TFX's
    executor calls run_fn; the keys reach run_fn too, which leaves them out of
    its settings.
    """
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 1:
        raise ValueError(f"replicas={replicas!r} is invalid; allowed: an integer at least 1.")
    for name, value in (("project", project), ("region", region), ("image", image)):
        if not value:
            raise ValueError(f"{name} is empty; Vertex AI training needs the GCP {name}.")
    pool = {"machine_spec": {"machine_type": machine_type}, "container_spec": {"image_uri": image}}
    pools = [{**pool, "replica_count": 1}]
    if replicas > 1:
        pools.append({**pool, "replica_count": replicas - 1})
    vertex = tfx.extensions.google_cloud_ai_platform
    return {
        vertex.ENABLE_VERTEX_KEY: True,
        vertex.VERTEX_REGION_KEY: region,
        vertex.TRAINING_ARGS_KEY: {"project": project, "job_spec": {"worker_pool_specs": pools}},
    }


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
    vertex: Dict[str, Any] | None = None,
) -> str:
    """Writes the PipelineJob JSON to `output`; returns its path.

    `pipeline_root` and `serving_dir` are URIs the cluster can write (e.g.
    gs://bucket/seqgen); `serving_dir` defaults to `<pipeline_root>/serving`.
    `beam_args` reach every Beam-using component, e.g. Dataflow's options.
    `vertex` ({"project", "region", "replicas", "machine_type"}) trains on that
    many Vertex AI machines (`vertex_training`), in the pipeline image.
    """
    if not image:
        raise ValueError("image is empty; give the pipeline image, e.g. gcr.io/PROJECT/seqgen:1")
    data, training, baseline = configs.resolve(task, config, data_overrides, training_overrides)
    if vertex and training.get("workers", 1) > 1:
        raise ValueError(
            f"workers={training['workers']} starts processes on one machine; with Vertex AI "
            "training set the number of machines instead (replicas)."
        )
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
        vertex_training=vertex_training(image=image, **vertex) if vertex else None,
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
