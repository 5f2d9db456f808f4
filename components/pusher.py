"""A Pusher whose new versions appear in TF Serving's layout all at once.

TFX's filesystem Pusher copies into `<base>/<version>/` in place, so a model
server polling `<base>` can see the version directory before its variables
are complete, and two pushes within one second share a version. This one
copies into a hidden staging directory beside the versions (TF Serving only
looks at integer names) and renames it into place, which is atomic on a
local or POSIX file system. Versions are Unix seconds, always above the
newest version already there.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Dict, List

from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils
from tfx.v1.components import Pusher

STAGING_PREFIX = ".staging-"


def versions(base_directory: str) -> List[int]:
    """The integer version directories under `base_directory`, oldest first."""
    if not fileio.exists(base_directory):
        return []
    names = (name.rstrip("/") for name in fileio.listdir(base_directory))
    return sorted(int(name) for name in names if name.isdigit())


def publish(model_path: str, base_directory: str) -> int:
    """Copies a SavedModel to `<base_directory>/<new version>/` atomically; returns the version."""
    if not fileio.exists(os.path.join(model_path, "saved_model.pb")):
        raise FileNotFoundError(
            f"{model_path} holds no saved_model.pb: there is no SavedModel to push."
        )
    fileio.makedirs(base_directory)
    staging = os.path.join(base_directory, f"{STAGING_PREFIX}{uuid.uuid4().hex}")
    try:
        io_utils.copy_dir(model_path, staging)
        while True:
            existing = versions(base_directory)
            version = max(int(time.time()), existing[-1] + 1 if existing else 0)
            try:
                fileio.rename(staging, os.path.join(base_directory, str(version)))
                return version
            except Exception:
                if not fileio.exists(os.path.join(base_directory, str(version))):
                    raise
                # Another push took this version between listing and renaming.
    finally:
        if fileio.exists(staging):
            fileio.rmtree(staging)


class AtomicPushExecutor(pusher_executor.Executor):
    """Pushes a blessed model with `publish`; records where, as TFX's Pusher does."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed)
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        if destination.WhichOneof("destination") != "filesystem":
            raise ValueError(
                "ServingPusher: push_destination must be a filesystem base_directory; "
                f"got {destination.WhichOneof('destination')!r}."
            )
        model_path = self.GetModelPath(input_dict)
        base = destination.filesystem.base_directory
        version = publish(model_path, base)
        io_utils.copy_dir(model_path, pushed.uri)  # the artifact's own archive copy
        self._MarkPushed(pushed, os.path.join(base, str(version)), str(version))


class ServingPusher(Pusher):
    """tfx.components.Pusher with AtomicPushExecutor."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(AtomicPushExecutor)
