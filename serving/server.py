"""The built-in stand-in for `tensorflow_model_server`: TF Serving's gRPC API on one port.

Implements PredictionService.Predict and GetModelMetadata and
ModelService.GetModelStatus for the models this project pushes; the other
methods answer UNIMPLEMENTED. It binds to loopback unless told otherwise,
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
from typing import Dict

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from tfx_seqgen.serving import predict
from tfx_seqgen.serving.model_store import ModelStore

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
    """Runs a servicer method; a ServingStatus becomes the call's gRPC status."""

    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except predict.ServingStatus as status:
            context.abort(status.code, status.message)

    wrapper.__name__ = method.__name__
    return wrapper


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, stores: Dict[str, ModelStore]):
        self.stores = stores

    @_handled
    def Predict(self, request, context):
        return predict.predict(self.stores, request)

    @_handled
    def GetModelMetadata(self, request, context):
        return predict.model_metadata(self.stores, request)


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, stores: Dict[str, ModelStore]):
        self.stores = stores

    @_handled
    def GetModelStatus(self, request, context):
        return predict.model_status(self.stores, request)


class StandInServer:
    """One model served over gRPC until `stop()`; `port` is the bound port."""

    def __init__(
        self,
        model_name: str,
        model_base_path: str,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        poll_seconds: float = 1.0,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        workers: int = DEFAULT_WORKERS,
    ):
        self.store = ModelStore(model_name, model_base_path, poll_seconds)
        stores = {model_name: self.store}
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="predict"),
            maximum_concurrent_rpcs=workers * QUEUED_PER_WORKER,
            options=[("grpc.max_receive_message_length", max_request_bytes)],
        )
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionService(stores), self._server
        )
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelService(stores), self._server
        )
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if not self.port:
            raise OSError(f"cannot bind {host}:{port}: is another server using that port?")
        self.address = f"{host}:{self.port}"

    def start(self) -> StandInServer:
        self.store.start()  # what is on disk now is loaded before the port opens
        self._server.start()
        return self

    def stop(self, grace: float = 2.0) -> None:
        self._server.stop(grace).wait()
        self.store.stop()


def serve_forever(server: StandInServer) -> None:
    """Serves until SIGINT or SIGTERM, then drains requests in flight."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    server.start()
    versions = [s.version for s in server.store.statuses() if s.state == "AVAILABLE"]
    _log.info(
        "Serving model %r from %s on %s (versions loaded: %s); polling for new versions",
        server.store.name,
        server.store.base_path,
        server.address,
        versions or "none yet",
    )
    done.wait()
    _log.info("Stopping: finishing requests in flight")
    server.stop()
