"""The versions of one model under a base path, loaded as TF Serving's file-system source does.

TF Serving's default version policy serves the newest version: a directory
`<base>/<integer>/` holding `saved_model.pb`. The store polls the base path;
when a newer version is complete it is loaded beside the current one and
swapped in under a lock, so requests in flight finish on the version they
started with and none fails during the change. A version whose load fails
is marked as failed and never retried; the previous one keeps serving.
Directories without `saved_model.pb`, or with a non-integer name (such as a
Pusher's staging directory), are never loaded.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from typing import Callable, Dict, List

from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

_log = logging.getLogger(__name__)

# TF Serving's ModelVersionStatus states.
LOADING, AVAILABLE, END = "LOADING", "AVAILABLE", "END"


class ModelNotFound(LookupError):
    """No loaded version matches the request (gRPC NOT_FOUND)."""


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
    """Serves the newest complete version of `name` found under `base_path`."""

    def __init__(
        self,
        name: str,
        base_path: str,
        poll_seconds: float = 1.0,
        loader: Callable[[int, str], LoadedVersion] = load_version,
    ):
        self.name = name
        self.base_path = os.path.abspath(base_path)
        self.poll_seconds = poll_seconds
        self._loader = loader
        self._lock = threading.Lock()
        self._current: LoadedVersion | None = None
        self._statuses: Dict[int, VersionStatus] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> None:
        """Loads the newest complete version if it is not the one being served."""
        with self._lock:
            failed = {v for v, s in self._statuses.items() if s.error}
            current = self._current.version if self._current else None
        candidates = [v for v in ready_versions(self.base_path) if v not in failed]
        if not candidates:
            return
        newest = candidates[-1]
        if newest == current:
            return
        path = os.path.join(self.base_path, str(newest))
        with self._lock:
            self._statuses[newest] = VersionStatus(newest, LOADING)
        _log.info("Loading %s version %d from %s", self.name, newest, path)
        try:
            loaded = self._loader(newest, path)
        except Exception as error:  # a broken version must not stop the server
            _log.error("Could not load %s version %d: %s", self.name, newest, error)
            with self._lock:
                self._statuses[newest] = VersionStatus(
                    newest, END, f"{type(error).__name__}: {error}"
                )
            return
        with self._lock:
            previous, self._current = self._current, loaded
            self._statuses[newest] = VersionStatus(newest, AVAILABLE)
            if previous is not None:
                self._statuses[previous.version] = VersionStatus(previous.version, END)
        _log.info("Serving %s version %d", self.name, newest)

    def start(self) -> None:
        """Loads what is there now, then keeps polling in a background thread."""
        self.poll()
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

    def get(self, version: int | None = None) -> LoadedVersion:
        """The version to serve: the newest, or exactly `version` if it is the one loaded."""
        with self._lock:
            current = self._current
        if version is None:
            if current is None:
                raise ModelNotFound(f"Servable not found for request: Latest({self.name})")
            return current
        if current is None or current.version != version:
            raise ModelNotFound(f"Servable not found for request: Specific({self.name}, {version})")
        return current

    def statuses(self) -> List[VersionStatus]:
        with self._lock:
            return sorted(self._statuses.values(), key=lambda s: s.version)
