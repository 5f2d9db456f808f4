"""The versions of one model under a base path, loaded as TF Serving's file-system source does.

A version is a directory `<base>/<integer>/` holding `saved_model.pb`.
TF Serving's default version policy serves the newest one; a model config
may ask for the latest N, all, or specific versions, and name versions
with labels. The store polls the base path; a newly selected version is
loaded beside the current ones and swapped in under a lock, so requests in
flight finish on the version they started with and none fails during the
change. A version whose load fails is tried again `load_retries` times
(TF Serving's --max_num_load_retries), then marked as failed and never
tried again; the previous one keeps serving.
Directories without `saved_model.pb`, or with a non-integer name (such as a
Pusher's staging directory), are never loaded.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from typing import Callable, Dict, List, Tuple

from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

_log = logging.getLogger(__name__)

# TF Serving's ModelVersionStatus states.
LOADING, AVAILABLE, END = "LOADING", "AVAILABLE", "END"


class ModelNotFound(LookupError):
    """No loaded version matches the request (gRPC NOT_FOUND)."""


class UnknownLabel(LookupError):
    """A version label the model's config does not define (gRPC INVALID_ARGUMENT)."""


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
    """TF Serving's model_version_policy: which ready versions to serve.

    `latest` serves the newest `num_versions`, `all` every one, `specific`
    those of `versions` that are on disk.
    """

    kind: str = "latest"
    num_versions: int = 1
    versions: Tuple[int, ...] = ()

    def select(self, ready: List[int]) -> List[int]:
        """The versions to serve, oldest first, of the ready ones (sorted)."""
        if self.kind == "all":
            return list(ready)
        if self.kind == "specific":
            return [v for v in ready if v in self.versions]
        return list(ready[-self.num_versions :])


@dataclasses.dataclass
class LoadedVersion:
    """A loaded SavedModel: its SignatureDefs (the wire contract) and callables."""

    version: int
    path: str
    signature_defs: Dict[str, meta_graph_pb2.SignatureDef]
    functions: Dict[str, Callable]
    saved_model: object  # keeps the functions' variables alive


@dataclasses.dataclass
class VersionStatus:
    version: int
    state: str
    error: str = ""


def read_signature_defs(path: str) -> Dict[str, meta_graph_pb2.SignatureDef]:
    """The serving MetaGraph's SignatureDefs, exactly as saved_model.pb holds them."""
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved_model = saved_model_pb2.SavedModel.FromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ValueError(f"{path} has no MetaGraph tagged 'serve'")


def load_version(version: int, path: str) -> LoadedVersion:
    import tensorflow as tf

    saved_model = tf.saved_model.load(path, tags=["serve"])
    signature_defs = read_signature_defs(path)
    # signature_defs also holds "__saved_model_init_op", which is not callable.
    functions = dict(saved_model.signatures)
    return LoadedVersion(version, path, signature_defs, functions, saved_model)


def ready_versions(base_path: str) -> List[int]:
    """Integer version directories that hold a complete SavedModel, oldest first."""
    try:
        names = os.listdir(base_path)
    except FileNotFoundError:
        return []
    return sorted(
        int(name)
        for name in names
        if name.isdigit() and os.path.exists(os.path.join(base_path, name, "saved_model.pb"))
    )


class ModelStore:
    """Serves the versions of `name` under `base_path` that its policy selects."""

    def __init__(
        self,
        name: str,
        base_path: str,
        poll_seconds: float = 1.0,
        loader: Callable[[int, str], LoadedVersion] = load_version,
        policy: VersionPolicy = VersionPolicy(),
        labels: Dict[str, int] | None = None,
        load_retries: int = 0,
        retry_seconds: float = 60.0,
    ):
        self.name = name
        self.load_retries, self.retry_seconds = load_retries, retry_seconds
        self.base_path = os.path.abspath(base_path)
        self.poll_seconds = poll_seconds
        self._loader = loader
        self._lock = threading.Lock()
        self._loaded: Dict[int, LoadedVersion] = {}
        self._statuses: Dict[int, VersionStatus] = {}
        self._policy = policy
        self._labels = dict(labels or {})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def configure(self, policy: VersionPolicy, labels: Dict[str, int]) -> None:
        """A new policy and labels (from an edited model config); the next poll applies them."""
        with self._lock:
            self._policy, self._labels = policy, dict(labels)

    def poll(self) -> None:
        """Loads the versions the policy selects and unloads the others.

        New versions are loaded before old ones are unloaded, so a request
        always finds a version during a switch.
        """
        ready = ready_versions(self.base_path)
        with self._lock:
            loaded = set(self._loaded)
            policy = self._policy
        for version in policy.select([v for v in ready if v not in self._failed()]):
            if version not in loaded:
                self._load(version)
        # Chosen again: a version that just failed to load leaves its place to the next one.
        wanted = policy.select([v for v in ready if v not in self._failed()])
        with self._lock:
            for version in sorted(set(self._loaded) - set(wanted)):
                del self._loaded[version]
                self._statuses[version] = VersionStatus(version, END)
                _log.info("Unloaded %s version %d", self.name, version)

    def _failed(self) -> set:
        with self._lock:
            return {v for v, s in self._statuses.items() if s.error}

    def _load(self, version: int) -> None:
        path = os.path.join(self.base_path, str(version))
        with self._lock:
            self._statuses[version] = VersionStatus(version, LOADING)
        _log.info("Loading %s version %d from %s", self.name, version, path)
        loaded, failure = self._attempts(version, path)
        with self._lock:
            if loaded is None:
                self._statuses[version] = VersionStatus(version, END, failure)
                return
            self._loaded[version] = loaded
            self._statuses[version] = VersionStatus(version, AVAILABLE)
        _log.info("Serving %s version %d", self.name, version)

    def _attempts(self, version: int, path: str) -> Tuple[LoadedVersion | None, str]:
        """The loaded version, or None and the last error, after up to 1 + load_retries
        attempts `retry_seconds` apart (TF Serving's --max_num_load_retries and
        --load_retry_interval_micros); stopping the store ends the retries."""
        failure = ""
        for attempt in range(self.load_retries + 1):
            if attempt and self._stop.wait(self.retry_seconds):
                break
            try:
                return self._loader(version, path), ""
            except Exception as error:  # a broken version must not stop the server
                failure = f"{type(error).__name__}: {error}"
                _log.error(
                    "Could not load %s version %d (attempt %d of %d): %s",
                    self.name,
                    version,
                    attempt + 1,
                    self.load_retries + 1,
                    failure,
                )
        return None, failure

    def start(self) -> None:
        """Loads what is there now, then keeps polling in a background thread (with
        `poll_seconds` 0, as TF Serving's --file_system_poll_wait_seconds=0: never)."""
        self.poll()
        if self.poll_seconds <= 0:
            return
        self._thread = threading.Thread(target=self._run, name=f"poll-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # keep polling whatever one poll ran into
                _log.exception("Polling %s failed", self.base_path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def get(self, version: int | None = None, label: str | None = None) -> LoadedVersion:
        """The newest loaded version, or exactly `version`, or the one `label` names."""
        with self._lock:
            loaded = dict(self._loaded)
            labels = dict(self._labels)
        if label is not None:
            if label not in labels:
                raise UnknownLabel(f"Unrecognized servable version label: {label}")
            version = labels[label]
        if version is None:
            if not loaded:
                raise ModelNotFound(f"Servable not found for request: Latest({self.name})")
            return loaded[max(loaded)]
        if version not in loaded:
            raise ModelNotFound(f"Servable not found for request: Specific({self.name}, {version})")
        return loaded[version]

    def statuses(self) -> List[VersionStatus]:
        with self._lock:
            return sorted(self._statuses.values(), key=lambda s: s.version)
