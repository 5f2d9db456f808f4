"""Runs the tfx-seqgen pipeline on one machine: LocalDagRunner, SQLite MLMD, local files."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import List

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from pipeline import configs, run_summary
from pipeline.pipeline import create_pipeline

DEFAULT_RUNS_DIR = "runs"
_log = logging.getLogger(__name__)


@dataclasses.dataclass
class LocalRun:
    pipeline_name: str
    pipeline_root: str
    metadata_path: str
    components: List[run_summary.ComponentRun]


def _sqlite_config(path: str) -> metadata_store_pb2.ConnectionConfig:
    """Like TFX's helper, but creates no directory before the pipeline is valid."""
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return config


def pipeline_name(task: str, config: str) -> str:
    return f"seqgen-{task}-{config}"


def run(
    task: str,
    config: str = "demo",
    pipeline_root: str | None = None,
    beam_args: List[str] | None = None,
    data_overrides: dict | None = None,
    training_overrides: dict | None = None,
) -> LocalRun:
    """Runs the pipeline to completion and reads back what each component did."""
    name = pipeline_name(task, config)
    root = os.path.abspath(pipeline_root or os.path.join(DEFAULT_RUNS_DIR, name))
    metadata_path = os.path.join(root, "metadata.sqlite")
    params = {**configs.data_params(task, config), **(data_overrides or {})}
    training = configs.training_params(task, config)
    for key, value in (training_overrides or {}).items():
        if key == "model":
            training["model"].update(value)
        else:
            training[key] = value
    pipeline = create_pipeline(
        pipeline_name=name,
        pipeline_root=root,
        task=task,
        data_params=params,
        training_params=training,
        metadata_connection_config=_sqlite_config(metadata_path),
        beam_pipeline_args=beam_args,
    )
    os.makedirs(root, exist_ok=True)
    _log.info("Running %s under %s", name, root)
    tfx.orchestration.LocalDagRunner().run(pipeline)
    return LocalRun(name, root, metadata_path, run_summary.latest_run(metadata_path, name))
