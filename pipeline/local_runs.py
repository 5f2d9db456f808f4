"""Runs the tfx-seqgen pipeline on one machine: LocalDagRunner, SQLite MLMD, local files."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
from typing import Any, Callable, List

from apache_beam.utils import shared
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx
from tfx.orchestration import pipeline as tfx_pipeline

from tfx_seqgen.pipeline import configs, evaluation_report, run_summary
from tfx_seqgen.pipeline.pipeline import create_pipeline

DEFAULT_RUNS_DIR = "runs"
# (x0, period, seed, num_samples, steps) -> trajectories [B, num_samples, steps + 1]
Generator = Callable[..., Any]
_log = logging.getLogger(__name__)


@dataclasses.dataclass
class LocalRun:
    pipeline_name: str
    pipeline_root: str
    metadata_path: str
    components: List[run_summary.ComponentRun]
    data_params: dict


def _sqlite_config(path: str) -> metadata_store_pb2.ConnectionConfig:
    """Like TFX's helper, but creates no directory before the pipeline is valid."""
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return config


def model_dir(run: LocalRun, node_id: str = "Trainer") -> str:
    """Where a Trainer of this run wrote its SavedModel."""
    return os.path.join(
        run_summary.output_of(run.components, node_id, "model").uri, "Format-Serving"
    )


def pushed_to(run: LocalRun) -> str | None:
    """The version directory the Pusher wrote, or None when the model was not blessed."""
    pusher = next(c for c in run.components if c.node_id == "Pusher")
    if pusher.state == run_summary.SKIPPED:
        return None
    properties = run_summary.output_of(run.components, "Pusher", "pushed_model").properties
    return properties["pushed_destination"] if properties.get("pushed") else None


def evaluation(run: LocalRun) -> evaluation_report.Evaluation:
    """The Evaluator's metrics and verdict for this run."""
    return evaluation_report.load(
        run_summary.output_of(run.components, "Evaluator", "evaluation").uri
    )


def saved_model_generator(path: str) -> Generator:
    """The `generate` signature of a SavedModel, as a NumPy callable."""
    import tensorflow as tf

    return signature_generator(tf.saved_model.load(path).signatures["generate"])


def signature_generator(signature) -> Generator:
    """Any function with the `generate` signature's inputs, as a NumPy callable."""
    import tensorflow as tf

    def generate(x0, period, seed, num_samples, steps):
        result = signature(
            x0=tf.constant(x0, tf.float32),
            period=tf.constant(period, tf.float32),
            seed=tf.constant(seed, tf.int64),
            num_samples=tf.constant(num_samples, tf.int32),
            steps=tf.constant(steps, tf.int32),
        )
        return result["trajectories"].numpy()

    return generate


class _Nothing:
    """A placeholder Beam's shared-object cache can hold (it keeps weak references)."""


def _release_models_beam_keeps() -> None:
    """Frees the SavedModel the Evaluator's Beam stages loaded in this process.

    Beam keeps the last object acquired through `apache_beam.utils.shared`
    alive until another one is acquired, so the models stay loaded after the
    run. Left there, TensorFlow frees them during interpreter shutdown, after
    its own module state is gone, and every successful run ended with
    "Exception ignored in: AtomicFunction.__del__ ... TypeError" tracebacks.
    Acquiring a placeholder lets them go now, while TensorFlow is intact.
    """
    shared.Shared().acquire(_Nothing)
    gc.collect()


def pipeline_name(task: str, config: str) -> str:
    return f"seqgen-{task}-{config}"


def run(
    task: str,
    config: str = "demo",
    pipeline_root: str | None = None,
    beam_args: List[str] | None = None,
    data_overrides: dict | None = None,
    training_overrides: dict | None = None,
    evaluation_overrides: dict | None = None,
    baseline_overrides: dict | None = None,
    serving_dir: str | None = None,
    to_component: str | None = None,
) -> LocalRun:
    """Runs the pipeline to completion and reads back what each component did.

    Overrides update the named config: `training_overrides` both Trainers,
    `baseline_overrides` the baseline's alone (after those). A blessed model
    is pushed under `serving_dir` (default `<pipeline root>/serving`). With
    `to_component` (a node id, e.g. "Transform"), only that component and
    those it needs run (TFX's partial run): the data half alone, say, to check
    it on another Beam runner without training anything.
    """
    name = pipeline_name(task, config)
    root = os.path.abspath(pipeline_root or os.path.join(DEFAULT_RUNS_DIR, name))
    metadata_path = os.path.join(root, "metadata.sqlite")
    params, training, baseline = configs.resolve(
        task, config, data_overrides, training_overrides, baseline_overrides
    )
    pipeline = create_pipeline(
        pipeline_name=name,
        pipeline_root=root,
        task=task,
        data_params=params,
        training_params=training,
        serving_dir=os.path.abspath(serving_dir or os.path.join(root, "serving")),
        evaluation_params=evaluation_overrides,
        baseline_training_params=baseline,
        metadata_connection_config=_sqlite_config(metadata_path),
        beam_pipeline_args=beam_args,
    )
    run_options = None
    if to_component is not None:
        node_ids = [component.id for component in pipeline.components]
        if to_component not in node_ids:
            raise ValueError(
                f"to_component={to_component!r} is not a component of {name}; "
                f"allowed: one of {', '.join(node_ids)}."
            )
        run_options = tfx_pipeline.RunOptions(to_nodes=[to_component])
    os.makedirs(root, exist_ok=True)
    _log.info("Running %s under %s", name, root)
    tfx.orchestration.LocalDagRunner().run(pipeline, run_options=run_options)
    _release_models_beam_keeps()
    return LocalRun(name, root, metadata_path, run_summary.latest_run(metadata_path, name), params)


def open_run(pipeline_root: str) -> LocalRun:
    """The newest run recorded under a pipeline root, read back from its MLMD store."""
    metadata_path = os.path.join(os.path.abspath(pipeline_root), "metadata.sqlite")
    if not os.path.exists(metadata_path):
        raise FileNotFoundError(
            f"{metadata_path} does not exist: is {pipeline_root} a pipeline root of `seqgen run`?"
        )
    name = run_summary.pipeline_names(metadata_path)[0]
    components = run_summary.latest_run(metadata_path, name)
    generator = components[0].node_id  # the data generator runs first
    params = run_summary.execution_properties(metadata_path, name, generator)
    return LocalRun(name, os.path.dirname(metadata_path), metadata_path, components, params)
