"""The data pipeline on LocalDagRunner, checked through its MLMD store."""

import os

import ml_metadata as mlmd
import pytest
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2
from tfx.orchestration import metadata
from tfx.utils import io_utils

from benchmarks.worker_pool import external_worker_pool, portable_runner_args
from tests.conftest import TINY_RUNS, run_after
from tests.helpers import assert_same_data_and_scores
from tfx_seqgen.pipeline import local_runs

DOWNSTREAM = [
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "BaselineTrainer",
    "Trainer",
    "Evaluator",
    "Pusher",
]
COMPONENTS = {"lcd": ["LcdExampleGen", *DOWNSTREAM], "art": ["ArtExampleGen", *DOWNSTREAM]}
SHAPES = {"lcd": {"x": [13], "period": [1]}, "art": {"query": [1], "target": [1]}}
# Each Trainer adds Model and ModelRun; Transform adds 8 artifacts of 6 types;
# the Evaluator a blessing and an evaluation; the Pusher one PushedModel.
ARTIFACT_TYPES = sorted(
    ["Examples", "ExampleStatistics", "Schema", "ExampleAnomalies"]
    + ["ExampleAnomalies", "ExampleStatistics", "Schema", "TransformCache", "ExampleStatistics"]
    + ["TransformGraph", "Examples", "Schema"]
    + ["Model", "ModelRun"] * 2
    + ["ModelBlessing", "ModelEvaluation", "PushedModel"]
)


def open_store(path):
    return mlmd.MetadataStore(metadata.sqlite_metadata_connection_config(path))


@pytest.mark.e2e
def test_pipeline_runs_records_in_mlmd_and_reruns_from_cache(tiny_run, tmp_path):
    task, first = tiny_run

    node_ids = [c.node_id for c in first.components]
    assert node_ids[0] == COMPONENTS[task][0] and sorted(node_ids) == sorted(COMPONENTS[task])
    assert {c.state for c in first.components} == {"executed"}
    store = open_store(first.metadata_path)
    executions = store.get_executions()
    assert len(executions) == len(COMPONENTS[task])
    assert all(e.last_known_state == metadata_store_pb2.Execution.COMPLETE for e in executions)
    types_by_id = {t.id: t.name for t in store.get_artifact_types()}
    produced = sorted(types_by_id[a.type_id] for a in store.get_artifacts())
    assert produced == ARTIFACT_TYPES

    outputs = {c.node_id: c.outputs[0] for c in first.components if len(c.outputs) == 1}
    schema = io_utils.parse_pbtxt_file(
        os.path.join(outputs["SchemaGen"].uri, "schema.pbtxt"), schema_pb2.Schema()
    )
    shapes = {f.name: [d.size for d in f.shape.dim] for f in schema.feature}
    assert shapes == SHAPES[task]  # fixed shapes, so Transform gets dense tensors
    for split in ("train", "eval"):
        path = os.path.join(outputs["ExampleValidator"].uri, f"Split-{split}", "SchemaDiff.pb")
        with open(path, "rb") as f:
            assert not anomalies_pb2.Anomalies.FromString(f.read()).anomaly_info
    assert os.path.exists(os.path.join(outputs[COMPONENTS[task][0]].uri, "Split-train"))

    # The same run again, on a copy of its MLMD store: everything comes from the cache.
    second = run_after(
        first, task, tmp_path, serving_dir=os.path.join(first.pipeline_root, "serving")
    )
    store = open_store(second.metadata_path)
    assert {c.state for c in second.components} == {"cached"}
    assert len(store.get_executions()) == 2 * len(COMPONENTS[task])
    assert len(store.get_artifacts()) == len(ARTIFACT_TYPES)  # nothing new was produced
    assert [o.uri for c in second.components for o in c.outputs] == [
        o.uri for c in first.components for o in c.outputs
    ]


@pytest.fixture
def worker_pool(tmp_path):
    """Beam's external SDK worker pool in its own process; yields (address, log path)."""
    log_path = tmp_path / "worker_pool.log"
    with external_worker_pool(str(log_path)) as (address, _):
        yield address, log_path


@pytest.mark.e2e
def test_whole_pipeline_on_the_portable_runner_with_an_external_worker_pool(
    lcd_run, tmp_path, worker_pool
):
    """What Flink, Spark and Dataflow run underneath: Beam's portable runner, with
    the Python work done by SDK workers in another process, which share no memory
    with the launcher."""
    address, log_path = worker_pool
    run = local_runs.run(
        "lcd",
        "demo",
        str(tmp_path / "run"),
        beam_args=portable_runner_args(address),
        **TINY_RUNS["lcd"],
    )
    assert_same_data_and_scores(run, lcd_run)
    # The work went through the pool: one SDK worker per Beam job (the generator,
    # StatisticsGen, Transform and the Evaluator).
    assert log_path.read_text().count("Starting worker with command") >= 4
