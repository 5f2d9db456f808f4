"""What the latest run of a pipeline did, read back from its MLMD store."""

from __future__ import annotations

import dataclasses
import json
from typing import List

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata

# Custom properties kept: example counts, and the Evaluator's and Pusher's verdicts.
_KEPT = ("num_examples_", "blessed", "pushed", "pushed_destination", "pushed_version")

SKIPPED = "skipped (its condition was false)"

_STATES = {
    metadata_store_pb2.Execution.COMPLETE: "executed",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "FAILED",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
}


@dataclasses.dataclass
class Output:
    key: str
    type_name: str
    uri: str
    properties: dict


@dataclasses.dataclass
class ComponentRun:
    node_id: str
    state: str
    outputs: List[Output]
    # From MLMD's execution record: creation (the component started) to its last update.
    seconds: float | None = None


def latest_run(metadata_path: str, pipeline_name: str) -> List[ComponentRun]:
    """The components of the newest run of `pipeline_name`, in execution order."""
    store = mlmd.MetadataStore(metadata.sqlite_metadata_connection_config(metadata_path))
    pipeline_context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline_context is None:
        raise LookupError(f"{metadata_path} has no run of pipeline {pipeline_name!r}.")
    in_pipeline = {e.id for e in store.get_executions_by_context(pipeline_context.id)}
    runs = [
        c
        for c in store.get_contexts_by_type("pipeline_run")
        if any(e.id in in_pipeline for e in store.get_executions_by_context(c.id))
    ]
    newest = max(runs, key=lambda c: (c.create_time_since_epoch, c.id))
    executions = sorted(store.get_executions_by_context(newest.id), key=lambda e: e.id)
    artifact_types = {t.id: t.name for t in store.get_artifact_types()}
    summary = []
    for execution in executions:
        node_id = next(
            c.name.split(".", 1)[-1]
            for c in store.get_contexts_by_execution(execution.id)
            if c.type == "node"
        )
        events = [
            e
            for e in store.get_events_by_execution_ids([execution.id])
            if e.type == metadata_store_pb2.Event.OUTPUT
        ]
        artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
        outputs = []
        for event in events:
            artifact = artifacts[event.artifact_id]
            properties = {
                name: getattr(value, value.WhichOneof("value"))
                for name, value in artifact.custom_properties.items()
                if name.startswith(_KEPT)
            }
            key = event.path.steps[0].key if event.path.steps else ""
            outputs.append(Output(key, artifact_types[artifact.type_id], artifact.uri, properties))
        state = _STATES.get(execution.last_known_state, str(execution.last_known_state))
        seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1e3
        summary.append(ComponentRun(node_id, state, outputs, seconds))
    # A node whose condition was false (the Pusher of an unblessed model) leaves no execution.
    ran = {c.node_id for c in summary}
    for context in store.get_contexts_by_type("node"):
        node_id = context.name.removeprefix(f"{pipeline_name}.")
        if context.name.startswith(f"{pipeline_name}.") and node_id not in ran:
            summary.append(ComponentRun(node_id, SKIPPED, []))
    return summary


def pipeline_names(metadata_path: str) -> List[str]:
    """The pipelines recorded in an MLMD store, newest first."""
    store = mlmd.MetadataStore(metadata.sqlite_metadata_connection_config(metadata_path))
    contexts = store.get_contexts_by_type("pipeline")
    return [c.name for c in sorted(contexts, key=lambda c: -c.last_update_time_since_epoch)]


def execution_properties(metadata_path: str, pipeline_name: str, node_id: str) -> dict:
    """The parameters a node's newest execution ran with; JSON text decoded."""
    store = mlmd.MetadataStore(metadata.sqlite_metadata_connection_config(metadata_path))
    context = store.get_context_by_type_and_name("node", f"{pipeline_name}.{node_id}")
    executions = store.get_executions_by_context(context.id) if context else []
    if not executions:
        raise LookupError(f"{metadata_path} has no execution of {node_id} in {pipeline_name}.")
    newest = max(executions, key=lambda e: e.id)
    properties = {}
    for name, value in newest.custom_properties.items():
        if name.startswith("__"):
            continue
        decoded = getattr(value, value.WhichOneof("value"))
        if isinstance(decoded, str):
            try:
                decoded = json.loads(decoded)
            except json.JSONDecodeError:
                pass
        properties[name] = decoded
    return properties


def format_summary(runs: List[ComponentRun]) -> str:
    lines = []
    for run in runs:
        lines.append(f"  {run.node_id:<22} {run.state}")
        for output in sorted(run.outputs, key=lambda o: o.key):
            # MLMD keeps no order: train first, then the other splits by name.
            counted = [k for k in output.properties if k.startswith("num_examples_")]
            names = sorted(counted, key=lambda k: (k != "num_examples_train", k))
            counts = ", ".join(
                f"{k.removeprefix('num_examples_')}={output.properties[k]}" for k in names
            )
            extra = f" ({counts})" if counts else ""
            lines.append(f"      {output.key} [{output.type_name}]{extra}: {output.uri}")
    return "\n".join(lines)


def output_of(runs: List[ComponentRun], node_id: str, key: str) -> Output:
    """One output artifact of one component of a run."""
    component = next(c for c in runs if c.node_id == node_id)
    return next(o for o in component.outputs if o.key == key)
