"""Prometheus metrics of the built-in server, named as TF Serving names them.

TF Serving exports `/tensorflow/serving/request_count` (labels model_name,
status) and `/tensorflow/serving/request_latency` (microseconds; labels
model_name, API, entrypoint) as `:tensorflow:serving:...` on its REST port
at the path its monitoring config gives, conventionally
`/monitoring/prometheus/metrics`. The built-in server exports the same two
names there, with one more label, `signature_name`, so a dashboard can tell
`generate` from `serving_default`. The counter is exported under TF
Serving's name, `:tensorflow:serving:request_count` (prometheus_client's
own text would add `_total`), so a dashboard made for TF Serving reads it.

Each server has its own registry: two servers in one process (as in tests)
never share counts.
"""

from __future__ import annotations

import contextlib
import time

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tfx_seqgen.serving.predict import ServingStatus

PATH = "/monitoring/prometheus/metrics"
CONTENT_TYPE = CONTENT_TYPE_LATEST
GRPC, REST = "GRPC", "REST"
_REQUEST_COUNT = b":tensorflow:serving:request_count"
# TF Serving's latency buckets: 10 us growing by 1.8x, 33 of them (up to ~2.5 h).
_LATENCY_BUCKETS_US = tuple(10 * 1.8**k for k in range(33))


class ServerMetrics:
    """Request counts and latencies, per model, API, signature, status and entrypoint."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            ":tensorflow:serving:request_count",
            "The total number of requests.",
            ["model_name", "status", "signature_name", "entrypoint"],
            registry=self.registry,
        )
        self.latency = Histogram(
            ":tensorflow:serving:request_latency",
            "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
            ["model_name", "API", "entrypoint", "signature_name"],
            buckets=_LATENCY_BUCKETS_US,
            registry=self.registry,
        )

        self.batch_rows = Histogram(
            ":seqgen:serving:batch_rows",
            "Rows per batch run by the built-in server's batcher (--enable_batching).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            ":seqgen:serving:batch_requests",
            "Requests merged into each batch run by the built-in server's batcher.",
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64),
            registry=self.registry,
        )

    def batch(self, rows: int, requests: int) -> None:
        """Records one batch the batcher ran."""
        self.batch_rows.observe(rows)
        self.batch_requests.observe(requests)

    @contextlib.contextmanager
    def measure(self, model_name: str, api: str, entrypoint: str, signature_name: str = ""):
        """Counts the request in the block by the status it ends with, and times it.

        Yields the labels; the block may fill in `signature_name` once it knows it
        (a REST body names its signature only once parsed).
        """
        labels = {"signature_name": signature_name}
        start = time.perf_counter()
        status = grpc.StatusCode.OK
        try:
            yield labels
        except ServingStatus as error:
            status = error.code
            raise
        except Exception:
            status = grpc.StatusCode.INTERNAL
            raise
        finally:
            micros = (time.perf_counter() - start) * 1e6
            signature = labels["signature_name"]
            self.latency.labels(model_name, api, entrypoint, signature).observe(micros)
            self.requests.labels(model_name, status.name, signature, entrypoint).inc()

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric; the request counter under TF
        Serving's own name (prometheus_client would call it `..._total`)."""
        text = generate_latest(self.registry)
        return text.replace(_REQUEST_COUNT + b"_total", _REQUEST_COUNT)
