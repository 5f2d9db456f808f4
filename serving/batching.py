"""Server-side batching for the built-in server, as TF Serving's `--enable_batching` does it.

Concurrent Predict calls to the same model version and signature are
merged along the first dimension into one call of the signature, and each
caller gets its own rows of the outputs back. As in TF Serving, every input
must have a first (batch) dimension, of the same size across a request's
inputs, and every output must have one too; a merged call that fails fails
each request in it with that error.

A batch opens when a request finds no batch of its kind running, waits up
to `batch_timeout_micros` for more requests while it has fewer than
`max_batch_size` rows, and runs. Requests that arrive meanwhile queue for
the next batch, so under load batches grow by themselves even with a zero
timeout. One batch per model version and signature runs at a time (TF
Serving's num_batch_threads = 1); TensorFlow still uses every core inside
it. A request with more rows than `max_batch_size` runs alone, as TF
Serving's batcher splits it (the rows are independent, so one call gives
the same results).

Rows of the pushed signatures are independent and seeded per row, so a
request's outputs do not depend on what it was batched with.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Callable, Dict, List

import grpc
import numpy as np
import tensorflow as tf

from tfx_seqgen.serving.predict import ServingStatus


@dataclasses.dataclass
class _Request:
    inputs: Dict[str, tf.Tensor]
    rows: int
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    outputs: Dict[str, np.ndarray] | None = None
    error: BaseException | None = None


class _Queue:
    """The waiting requests of one model version and signature."""

    def __init__(self):
        self.lock = threading.Condition()
        self.waiting: List[_Request] = []
        self.running = False


class Batcher:
    """Merges concurrent calls of the same function; `run` returns the caller's rows."""

    def __init__(self, max_batch_size: int = 128, batch_timeout_micros: int = 0, on_batch=None):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size={max_batch_size} must be at least 1")
        if batch_timeout_micros < 0:
            raise ValueError(f"batch_timeout_micros={batch_timeout_micros} must be >= 0")
        self.max_batch_size = max_batch_size
        self.timeout = batch_timeout_micros / 1e6
        self.on_batch = on_batch  # called with (rows, requests) of each batch run
        self._queues: Dict[tuple, _Queue] = {}
        self._lock = threading.Lock()

    def run(
        self, key: tuple, function: Callable, inputs: Dict[str, tf.Tensor]
    ) -> Dict[str, np.ndarray]:
        """The outputs of `function(**inputs)` for these rows, computed with others of `key`."""
        rows = _rows(inputs)
        with self._lock:
            queue = self._queues.setdefault(key, _Queue())
        request = _Request(inputs, rows)
        with queue.lock:
            queue.waiting.append(request)
            queue.lock.notify_all()
            lead = not queue.running
            if lead:
                queue.running = True
        if lead:
            self._lead(queue, function)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.outputs

    def _lead(self, queue: _Queue, function: Callable) -> None:
        """Runs batches of `queue` until no request waits."""
        while True:
            deadline = time.monotonic() + self.timeout
            with queue.lock:
                while self._rows_waiting(queue) < self.max_batch_size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    queue.lock.wait(left)
                batch, total = [], 0
                while queue.waiting and (
                    not batch or total + queue.waiting[0].rows <= self.max_batch_size
                ):
                    total += queue.waiting[0].rows
                    batch.append(queue.waiting.pop(0))
            self._run_batch(batch, function)
            with queue.lock:
                if not queue.waiting:
                    queue.running = False
                    return

    @staticmethod
    def _rows_waiting(queue: _Queue) -> int:
        return sum(request.rows for request in queue.waiting)

    def _run_batch(self, batch: List[_Request], function: Callable) -> None:
        try:
            if len(batch) == 1:
                merged = batch[0].inputs
            else:
                merged = {
                    name: tf.concat([request.inputs[name] for request in batch], axis=0)
                    for name in batch[0].inputs
                }
            outputs = {name: np.asarray(value) for name, value in function(**merged).items()}
            total = sum(request.rows for request in batch)
            for name, value in outputs.items():
                if value.ndim == 0 or value.shape[0] != total:
                    raise ServingStatus(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"Batched output {name} has shape {list(value.shape)}: every output "
                        f"of a batched signature needs a first dimension of {total} rows",
                    )
            start = 0
            for request in batch:
                request.outputs = {
                    name: value[start : start + request.rows] for name, value in outputs.items()
                }
                start += request.rows
            if self.on_batch is not None:
                self.on_batch(total, len(batch))
        except BaseException as error:  # each request of the batch gets the batch's error
            for request in batch:
                request.error = error
        finally:
            for request in batch:
                request.done.set()


def _rows(inputs: Dict[str, tf.Tensor]) -> int:
    """The request's batch size, with TF Serving's batcher's checks."""
    sizes = set()
    for name, value in sorted(inputs.items()):
        if len(value.shape) == 0:
            raise ServingStatus(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Batching Run() input tensors must have at least one dimension: {name} is a "
                "scalar (send it with one entry per row)",
            )
        sizes.add(int(value.shape[0]))
    if len(sizes) > 1:
        raise ServingStatus(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Batching Run() input tensors must have equal 0th-dimension size; got {sorted(sizes)}",
        )
    return sizes.pop() if sizes else 0
