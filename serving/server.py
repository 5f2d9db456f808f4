"""The built-in stand-in for `tensorflow_model_server`: TF Serving's gRPC and REST APIs.

Implements PredictionService.Predict and GetModelMetadata and
ModelService.GetModelStatus for the models this project pushes; the other
methods answer UNIMPLEMENTED. The same requests are served over REST
(serving.rest) on a second port, 8501 by default as TF Serving's image
uses, with Prometheus metrics (serving.metrics) at
/monitoring/prometheus/metrics on that port. It binds to loopback unless told otherwise,
refuses requests over a size limit (RESOURCE_EXHAUSTED, before any work)
and runs requests on a bounded thread pool; when that pool and its queue
are full, new requests get RESOURCE_EXHAUSTED instead of piling up.
"""

from __future__ import annotations

import logging
import shutil
import signal
import threading
from concurrent import futures
from typing import Dict, List

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from tfx_seqgen.serving import metrics, predict, server_config
from tfx_seqgen.serving.batching import Batcher
from tfx_seqgen.serving.metrics import ServerMetrics
from tfx_seqgen.serving.model_store import ModelStore
from tfx_seqgen.serving.rest import DEFAULT_REST_PORT, RestServer
from tfx_seqgen.serving.rest import DEFAULT_TIMEOUT_SECONDS as DEFAULT_REST_TIMEOUT_SECONDS
from tfx_seqgen.serving.server_config import ModelEntry

_log = logging.getLogger(__name__)

MODEL_SERVER_BINARY = "tensorflow_model_server"
DEFAULT_PORT = 8500
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
DEFAULT_WORKERS = 8
QUEUED_PER_WORKER = 8


def model_server_binary() -> str | None:
    """The real TF Serving binary on PATH, if any."""
    return shutil.which(MODEL_SERVER_BINARY)


def _handled(method):
    """Runs a servicer method, counted and timed in the server's metrics; a
    ServingStatus becomes the call's gRPC status."""

    def wrapper(self, request, context):
        spec = request.model_spec
        signature = ""
        if method.__name__ == "Predict":
            signature = spec.signature_name or predict.DEFAULT_SIGNATURE
        try:
            with self.metrics.measure(spec.name, method.__name__, metrics.GRPC, signature):
                return method(self, request, context)
        except predict.ServingStatus as status:
            context.abort(status.code, status.message)

    wrapper.__name__ = method.__name__
    return wrapper


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, stores: Dict[str, ModelStore], server_metrics: ServerMetrics, batcher=None):
        self.stores = stores
        self.metrics = server_metrics
        self.batcher = batcher

    @_handled
    def Predict(self, request, context):
        return predict.predict(self.stores, request, self.batcher)

    @_handled
    def GetModelMetadata(self, request, context):
        return predict.model_metadata(self.stores, request)


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, stores: Dict[str, ModelStore], server_metrics: ServerMetrics):
        self.stores = stores
        self.metrics = server_metrics

    @_handled
    def GetModelStatus(self, request, context):
        return predict.model_status(self.stores, request)


class StandInServer:
    """Models served over gRPC (and REST) until `stop()`.

    `models` are the config's entries (serving.server_config). With
    `config_file` and `config_poll_seconds` > 0 the file is read again
    that often: models added, removed or re-configured there are served
    accordingly, and an edit that does not parse is logged while the last
    good config keeps serving. With a `batching` Batcher, concurrent Predict
    calls over either API are merged as TF Serving's --enable_batching does.
    `port` and `rest_port` are the bound ports;
    port 0 binds any free port, and `rest_port=None` serves no REST API (as
    TF Serving's --rest_api_port=0). `metrics_path` is where REST serves Prometheus
    metrics (None: nowhere); `rest_timeout_seconds` bounds a REST call; a version
    whose load fails is tried `load_retries` more times, `load_retry_seconds` apart.
    """

    def __init__(
        self,
        models: List[ModelEntry],
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        poll_seconds: float = 1.0,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        workers: int = DEFAULT_WORKERS,
        rest_port: int | None = DEFAULT_REST_PORT,
        config_file: str | None = None,
        config_poll_seconds: float = 0.0,
        batching: Batcher | None = None,
        metrics_path: str | None = metrics.PATH,
        rest_timeout_seconds: float = DEFAULT_REST_TIMEOUT_SECONDS,
        load_retries: int = 0,
        load_retry_seconds: float = 60.0,
    ):
        self.poll_seconds = poll_seconds
        self.load_retries, self.load_retry_seconds = load_retries, load_retry_seconds
        self.config_file = config_file
        self.config_poll_seconds = config_poll_seconds
        self.models = {entry.name: entry for entry in models}
        # One dict, shared with both APIs; reconfiguring swaps entries in place.
        self.stores: Dict[str, ModelStore] = {entry.name: self._store(entry) for entry in models}
        self.metrics = ServerMetrics()
        self.batcher = batching
        if batching is not None:
            batching.on_batch = self.metrics.batch
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="predict"),
            maximum_concurrent_rpcs=workers * QUEUED_PER_WORKER,
            options=[("grpc.max_receive_message_length", max_request_bytes)],
        )
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionService(self.stores, self.metrics, batching), self._server
        )
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelService(self.stores, self.metrics), self._server
        )
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if not self.port:
            raise OSError(f"cannot bind {host}:{port}: is another server using that port?")
        self.address = f"{host}:{self.port}"
        self.rest = None
        if rest_port is not None:
            self.rest = RestServer(
                self.stores,
                self.metrics,
                batching,
                host,
                rest_port,
                max_request_bytes,
                workers,
                QUEUED_PER_WORKER,
                metrics_path,
                rest_timeout_seconds,
            )
        self.rest_address = self.rest.address if self.rest else None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def _store(self, entry: ModelEntry) -> ModelStore:
        return ModelStore(
            entry.name,
            entry.base_path,
            self.poll_seconds,
            policy=entry.policy,
            labels=entry.labels,
            load_retries=self.load_retries,
            retry_seconds=self.load_retry_seconds,
        )

    def start(self) -> StandInServer:
        for store in list(self.stores.values()):
            store.start()  # what is on disk now is loaded before the ports open
        self._server.start()
        if self.rest:
            self.rest.start()
        if self.config_file and self.config_poll_seconds > 0:
            self._watcher = threading.Thread(target=self._watch, name="config", daemon=True)
            self._watcher.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(self.config_poll_seconds):
            try:
                self.reconfigure(server_config.read(self.config_file))
            except server_config.BadModelConfig as error:
                _log.error("Keeping the last good model config: %s", error)
            except Exception:  # keep watching whatever one reload ran into
                _log.exception("Reloading %s failed", self.config_file)

    def reconfigure(self, models: List[ModelEntry]) -> None:
        """Serves `models` from now on: new ones loaded, dropped ones unloaded."""
        wanted = {entry.name: entry for entry in models}
        for name, entry in wanted.items():
            old = self.models.get(name)
            if old == entry:
                continue
            if old is not None and old.base_path == entry.base_path:
                self.stores[name].configure(entry.policy, entry.labels)
                self.stores[name].poll()
            else:
                store = self._store(entry)
                store.start()
                previous, self.stores[name] = self.stores.get(name), store
                if previous is not None:
                    previous.stop()
            _log.info("Model config: serving %r from %s", name, entry.base_path)
        for name in set(self.models) - set(wanted):
            self.stores.pop(name).stop()
            _log.info("Model config: %r removed; no longer served", name)
        self.models = wanted

    def stop(self, grace: float = 2.0) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        if self.rest:
            self.rest.stop(grace)
        self._server.stop(grace).wait()
        for store in list(self.stores.values()):
            store.stop()


def serve_forever(server: StandInServer) -> None:
    """Serves until SIGINT or SIGTERM, then drains requests in flight."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    server.start()
    for store in server.stores.values():
        versions = [s.version for s in store.statuses() if s.state == "AVAILABLE"]
        _log.info(
            "Model %r from %s: versions loaded: %s; polling for new versions",
            store.name,
            store.base_path,
            versions or "none yet",
        )
    _log.info(
        "Serving on %s (gRPC) and %s (REST)", server.address, server.rest_address or "no port"
    )
    done.wait()
    _log.info("Stopping: finishing requests in flight")
    server.stop()
