"""Which models a server serves: one from flags, or several from TF Serving's model config file.

The file is TF Serving's `--model_config_file`, a ModelServerConfig in
protobuf text format, parsed with TF Serving's own proto:

    model_config_list {
      config {
        name: "lcd"
        base_path: "/models/lcd"
        model_platform: "tensorflow"
        model_version_policy { latest { num_versions: 2 } }   # or all {} / specific { versions: 3 }
        version_labels { key: "stable" value: 3 }
      }
      config { name: "art" base_path: "/models/art" }
    }

Anything the built-in server cannot honour (a custom_model_config, another
platform, a label on a version the policy does not serve) is refused with
a message naming the model and the field.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tfx_seqgen.serving.model_store import VersionPolicy


class BadModelConfig(ValueError):
    """A model config file that cannot be served as written."""


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One model of a server: its name, base path, version policy and labels."""

    name: str
    base_path: str
    policy: VersionPolicy = VersionPolicy()
    labels: Dict[str, int] = dataclasses.field(default_factory=dict)


def _policy(where: str, config) -> VersionPolicy:
    choice = config.model_version_policy.WhichOneof("policy_choice")
    if choice is None or choice == "latest":
        count = config.model_version_policy.latest.num_versions if choice else 1
        return VersionPolicy("latest", num_versions=count or 1)
    if choice == "all":
        return VersionPolicy("all")
    versions = tuple(config.model_version_policy.specific.versions)
    if not versions:
        raise BadModelConfig(
            f"{where}: model {config.name!r}: model_version_policy.specific lists no versions; "
            "give at least one `versions: N`"
        )
    return VersionPolicy("specific", versions=versions)


def parse(text: str, origin: str = "the model config") -> List[ModelEntry]:
    """The models a ModelServerConfig text names, checked."""
    try:
        config = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as error:
        raise BadModelConfig(f"{origin} is not a ModelServerConfig: {error}") from None
    if config.WhichOneof("config") == "custom_model_config":
        raise BadModelConfig(
            f"{origin}: custom_model_config is not supported; use model_config_list"
        )
    entries, seen = [], set()
    for index, model in enumerate(config.model_config_list.config):
        where = f"{origin}, config {index + 1}"
        if not model.name:
            raise BadModelConfig(f"{where}: `name` is empty")
        if model.name in seen:
            raise BadModelConfig(f"{where}: model {model.name!r} is configured twice")
        seen.add(model.name)
        if not model.base_path:
            raise BadModelConfig(f"{where}: model {model.name!r} has no `base_path`")
        if model.model_platform not in ("", "tensorflow"):
            raise BadModelConfig(
                f"{where}: model {model.name!r} has model_platform {model.model_platform!r}; "
                "only 'tensorflow' SavedModels are served"
            )
        policy = _policy(where, model)
        labels = dict(model.version_labels)
        if policy.kind == "specific":
            stray = {k: v for k, v in labels.items() if v not in policy.versions}
            if stray:
                raise BadModelConfig(
                    f"{where}: model {model.name!r} labels versions its policy does not "
                    f"serve: {stray}; serve them (model_version_policy) or drop the labels"
                )
        entries.append(ModelEntry(model.name, os.path.abspath(model.base_path), policy, labels))
    if not entries:
        raise BadModelConfig(f"{origin} configures no model: add a model_config_list.config")
    return entries


def read(path: str) -> List[ModelEntry]:
    """The models of the config file at `path`."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as error:
        raise BadModelConfig(
            f"cannot read the model config file {path}: {error.strerror}"
        ) from None
    return parse(text, path)


def single(name: str, base_path: str) -> List[ModelEntry]:
    """One model from flags, with TF Serving's default policy (the newest version)."""
    return [ModelEntry(name, os.path.abspath(base_path))]
