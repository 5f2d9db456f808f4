"""TF Serving's REST API (port 8501 by default) over the same models and checks as gRPC.

Routes, as tensorflow_model_server answers them:
- GET  /v1/models/NAME[/versions/N]            model status
- GET  /v1/models/NAME[/versions/N]/metadata   signature defs
- POST /v1/models/NAME[/versions/N]:predict    row (`instances`) or columnar (`inputs`)
A version label (`/labels/L`) is accepted in the URL and answered as the
gRPC API answers a label. Any other URL under /v1 or method is
`Malformed request` (400); errors are `{"error": "..."}` with the HTTP
status TF Serving maps the gRPC code to.

A predict request is turned into the gRPC PredictRequest and run by
predict.predict, so both APIs share every check and give identical
outputs. Work runs on a bounded thread pool; when it and its queue are
full, a request gets 429 (RESOURCE_EXHAUSTED) instead of piling up.
Bodies over the size limit get 413 before they are read. The server's
Prometheus metrics are at /monitoring/prometheus/metrics. Tornado serves
HTTP; the server runs its own event loop on a background thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from concurrent import futures
from typing import Callable, Dict

import grpc
import tornado.escape
import tornado.httpserver
import tornado.netutil
import tornado.web

from tfx_seqgen.serving import json_responses, metrics, predict, rest_api
from tfx_seqgen.serving.model_store import ModelStore

_log = logging.getLogger(__name__)

DEFAULT_REST_PORT = 8501
# TF Serving's --rest_api_timeout_in_ms default.
DEFAULT_TIMEOUT_SECONDS = 30.0


@tornado.web.stream_request_body
class _Handler(tornado.web.RequestHandler):
    """Every /v1 URL: routes as TF Serving does, and answers in JSON."""

    def initialize(self, rest: RestServer):
        self.rest = rest
        self.chunks: list = []
        self.size = 0
        self.refused = False

    def prepare(self):
        self.set_header("Content-Type", "application/json")
        declared = self.request.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.rest.max_request_bytes:
            self._refuse_size()

    def data_received(self, chunk: bytes):
        if self.refused:
            return
        self.size += len(chunk)
        if self.size > self.rest.max_request_bytes:
            self._refuse_size()
            return
        self.chunks.append(chunk)

    def _refuse_size(self):
        self.refused = True
        self.set_status(413)
        self.finish(
            json_responses.dumps(
                {
                    "error": f"Request body is larger than the server's limit of "
                    f"{self.rest.max_request_bytes} bytes (--max-request-mb)"
                }
            )
        )

    def _fail(self, status: predict.ServingStatus):
        self.set_status(rest_api.HTTP_STATUS.get(status.code, 500))
        self.finish(json_responses.dumps({"error": status.message}))

    def _malformed(self):
        self._fail(
            predict.ServingStatus(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Malformed request: {self.request.method} {self.request.path}",
            )
        )

    async def _answer(self, work: Callable[[], dict]):
        try:
            document = await self.rest.run(work)
        except predict.ServingStatus as status:
            self._fail(status)
            return
        except Exception as error:  # never let one request take the server down
            _log.exception("REST request %s failed", self.request.path)
            self._fail(predict.ServingStatus(grpc.StatusCode.INTERNAL, str(error)))
            return
        self.finish(json_responses.dumps(document))

    async def get(self):
        if self.request.path.rstrip("/").lower() == "/v1/models":
            self._fail(
                predict.ServingStatus(
                    grpc.StatusCode.INVALID_ARGUMENT, "Missing model name in request."
                )
            )
            return
        match = rest_api.GET_URL.fullmatch(self.request.path)
        if not match:
            self._malformed()
            return
        stores, measure = self.rest.stores, self.rest.metrics.measure
        name = tornado.escape.url_unescape(match["name"])

        def work():
            if match["metadata"] == "/metadata":
                with measure(name, "GetModelMetadata", metrics.REST):
                    return rest_api.metadata_response(stores, rest_api.model_spec(match))
            with measure(name, "GetModelStatus", metrics.REST):
                return rest_api.status_response(stores, rest_api.model_spec(match))

        await self._answer(work)

    async def post(self):
        if self.refused:
            return
        match = rest_api.PREDICT_URL.fullmatch(self.request.path)
        if not match or match["method"] != "predict":
            self._malformed()
            return
        body = b"".join(self.chunks)
        stores, measure = self.rest.stores, self.rest.metrics.measure
        batcher = self.rest.batcher
        name = tornado.escape.url_unescape(match["name"])

        def work():
            with measure(name, "Predict", metrics.REST) as labels:
                return rest_api.predict_response(
                    stores, rest_api.model_spec(match), body, labels, batcher
                )

        await self._answer(work)

    async def _other(self, *args):
        self._malformed()

    put = delete = patch = head = options = _other


class _Metrics(tornado.web.RequestHandler):
    """Prometheus's text format of the server's metrics."""

    def initialize(self, rest: RestServer):
        self.rest = rest

    def get(self):
        self.set_header("Content-Type", metrics.CONTENT_TYPE)
        self.finish(self.rest.metrics.exposition())


class _NotFound(tornado.web.RequestHandler):
    """Any other path: a JSON error, as every answer of the API is."""

    def prepare(self):
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(json_responses.dumps({"error": f"Not found: {self.request.path}"}))


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """One debug line per request: a busy server's log stays readable."""
    request = handler.request
    _log.debug(
        "%d %s %s %.1f ms",
        handler.get_status(),
        request.method,
        request.path,
        1000 * request.request_time(),
    )


class RestServer:
    """TF Serving's REST API for `stores` on host:port, served from a background thread."""

    def __init__(
        self,
        stores: Dict[str, ModelStore],
        server_metrics: metrics.ServerMetrics,
        batcher,
        host: str,
        port: int,
        max_request_bytes: int,
        workers: int,
        queued_per_worker: int,
        metrics_path: str | None = metrics.PATH,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ):
        self.stores = stores
        self.timeout_seconds = timeout_seconds
        self.metrics = server_metrics
        self.batcher = batcher  # serving.batching.Batcher, or None
        self.max_request_bytes = max_request_bytes
        self._executor = futures.ThreadPoolExecutor(workers, thread_name_prefix="rest")
        self._capacity = workers * queued_per_worker
        self._in_flight = 0
        self._loop = asyncio.new_event_loop()
        # TF Serving matches its API's paths without regard to case.
        routes = [(r"(?i)/v1(?:/.*)?", _Handler, {"rest": self})]
        if metrics_path:
            routes.append((re.escape(metrics_path), _Metrics, {"rest": self}))
        app = tornado.web.Application(
            routes, log_function=_log_request, default_handler_class=_NotFound
        )
        # The body limit is enforced by the handler (413 with a JSON error); this one
        # only stops a client that streams past it.
        self._server = tornado.httpserver.HTTPServer(
            app, max_body_size=max_request_bytes + 1, idle_connection_timeout=60
        )
        asyncio.set_event_loop(self._loop)
        try:
            sockets = tornado.netutil.bind_sockets(port, host)
        except OSError as error:
            raise OSError(
                f"cannot bind {host}:{port} for REST: is another server using that port? "
                f"({error.strerror})"
            ) from None
        finally:
            asyncio.set_event_loop(None)
        self.port = sockets[0].getsockname()[1]
        self.address = f"{host}:{self.port}"
        self._sockets = sockets
        self._thread = threading.Thread(target=self._serve, name="rest", daemon=True)

    async def run(self, work: Callable[[], dict]) -> dict:
        """Runs `work` on the pool, or refuses it when the pool and its queue are full.

        A call still running after `timeout_seconds` is answered DEADLINE_EXCEEDED
        (TF Serving's --rest_api_timeout_in_ms); its work finishes on the pool and
        counts as in flight until then.
        """
        if self._in_flight >= self._capacity:
            raise predict.ServingStatus(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"The server is busy: {self._in_flight} requests are in flight. Retry later.",
            )
        self._in_flight += 1
        running = self._loop.run_in_executor(self._executor, work)
        running.add_done_callback(self._finished)
        try:
            return await asyncio.wait_for(asyncio.shield(running), self.timeout_seconds)
        except asyncio.TimeoutError:
            raise predict.ServingStatus(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"Deadline exceeded: no answer within {self.timeout_seconds * 1000:g} ms "
                "(--rest_api_timeout_in_ms)",
            ) from None

    def _finished(self, _) -> None:
        self._in_flight -= 1

    def _serve(self):
        asyncio.set_event_loop(self._loop)
        self._server.add_sockets(self._sockets)
        self._loop.run_forever()

    def start(self) -> RestServer:
        self._thread.start()
        return self

    def stop(self, grace: float = 2.0) -> None:
        """Stops accepting connections, lets requests in flight finish (up to `grace`
        seconds), closes the connections and returns."""
        if not self._thread.is_alive():
            return

        async def shut_down():
            self._server.stop()
            deadline = self._loop.time() + grace
            while self._in_flight and self._loop.time() < deadline:
                await asyncio.sleep(0.02)
            await self._server.close_all_connections()

        asyncio.run_coroutine_threadsafe(shut_down(), self._loop).result(timeout=30)
        self._executor.shutdown(wait=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
