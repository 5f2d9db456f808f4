"""A client for models served by TF Serving (or the stand-in) over gRPC.

`generate` has the contract of the SavedModel's `generate` signature, so
tasks.lcd.view can draw from a served model as from a local one.
Calls have a deadline; UNAVAILABLE (a server starting or restarting) is
retried with backoff; any other failure raises ServingError with the
server's own words, trimmed of TensorFlow's graph details.
"""

from __future__ import annotations

import time
import warnings
from typing import Dict, Sequence

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tfx_seqgen.errors import ServingError
from tfx_seqgen.serving.tensor_protos import fill, to_array

MAX_MESSAGE_BYTES = 256 * 1024 * 1024


class OutsideTrainingRange(UserWarning):
    """A generate request asked for an x0 or period the model's training never saw."""


def readable(message: str) -> str:
    """The first line of a server's error, without TensorFlow's node and operand dumps."""
    first = message.strip().split("\n", 1)[0]
    return first.split(" [Condition ")[0].split("\t [[")[0].strip()


def generate_inputs(x0, period, seed, num_samples: int, steps: int) -> Dict[str, np.ndarray]:
    """The `generate` signature's inputs, one row per x0, as the client sends them.

    num_samples and steps go once per row, not as scalars: TF Serving's
    batcher (and `seqgen serve --enable-batching`) refuses rank-0 inputs,
    and a server without batching takes either form.
    """
    x0 = np.asarray(x0, np.float32).reshape(-1)
    return {
        "x0": x0,
        "period": np.asarray(period, np.float32).reshape(-1),
        "seed": np.asarray(seed, np.int64).reshape(-1),
        "num_samples": np.full(x0.shape, num_samples, np.int32),
        "steps": np.full(x0.shape, steps, np.int32),
    }


def predict_request(
    model_name: str,
    inputs: Dict[str, tf.Tensor | np.ndarray],
    signature: str = "",
    version: int | None = None,
    output_filter: Sequence[str] = (),
    version_label: str | None = None,
) -> predict_pb2.PredictRequest:
    """A PredictRequest for `model_name` (the newest version unless one is named)."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    elif version_label is not None:
        request.model_spec.version_label = version_label
    for name, value in inputs.items():
        fill(request.inputs[name], value)
    request.output_filter.extend(output_filter)
    return request


class ServingClient:
    """Calls one model on one server."""

    def __init__(
        self,
        address: str,
        model_name: str,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
    ):
        self.address = address
        self.model_name = model_name
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._channel = grpc.insecure_channel(
            address,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        self._predict = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        self.last_version: int | None = None  # the version that answered the last Predict

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> ServingClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method, request):
        for attempt in range(self.retries + 1):
            try:
                return method(request, timeout=self.timeout)
            except grpc.RpcError as error:
                code = error.code()
                if code == grpc.StatusCode.UNAVAILABLE and attempt < self.retries:
                    time.sleep(self.backoff * 2**attempt)
                    continue
                message = readable(error.details() or "")
                if code == grpc.StatusCode.UNAVAILABLE:
                    message += f" (after {attempt + 1} attempts: is a model server running there?)"
                raise ServingError(code, message, self.address) from None

    def predict(
        self,
        inputs: Dict[str, tf.Tensor | np.ndarray],
        signature: str = "",
        version: int | None = None,
        output_filter: Sequence[str] = (),
        version_label: str | None = None,
    ) -> tuple:
        """(outputs as NumPy arrays, the version that answered).

        `version` or `version_label` (a label of the server's model config)
        picks a version; neither means the newest served.
        """
        request = predict_request(
            self.model_name, inputs, signature, version, output_filter, version_label
        )
        response = self._call(self._predict.Predict, request)
        outputs = {name: to_array(proto) for name, proto in response.outputs.items()}
        self.last_version = response.model_spec.version.value
        return outputs, self.last_version

    def generate(self, x0, period, seed, num_samples: int, steps: int) -> np.ndarray:
        """Trajectories [rows, num_samples, steps + 1], as the `generate` signature returns.

        Rows whose x0 or period lie outside what the model was trained on get
        an OutsideTrainingRange warning: they are extrapolation.
        """
        inputs = generate_inputs(x0, period, seed, num_samples, steps)
        outputs, _ = self.predict(inputs, signature="generate")
        covered = outputs.get("in_training_range")  # models exported before it lack it
        if covered is not None and not covered.all():
            rows = np.flatnonzero(~covered)
            requested = ", ".join(
                f"x0={inputs['x0'][r]:g} period={inputs['period'][r]:g}" for r in rows[:5]
            ) + (", ..." if len(rows) > 5 else "")
            warnings.warn(
                f"{len(rows)} of {len(covered)} rows ({requested})"
                " lie outside the x0 and period ranges the model was trained on: their"
                " trajectories are extrapolation, and their band is not calibrated there.",
                OutsideTrainingRange,
                stacklevel=2,
            )
        return outputs["trajectories"]

    def answer(self, queries: Sequence[str]) -> tuple:
        """(digits [rows], probabilities [rows, 10]) for ART queries like "c9k8j3f1??k"."""
        outputs, _ = self.predict(
            {"query": np.asarray([q.encode() for q in queries], dtype=object)}, signature="answer"
        )
        return outputs["digit"], outputs["probabilities"]

    def signatures(self) -> dict:
        """The served version's SignatureDefs, from GetModelMetadata."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = self.model_name
        response = self._call(self._predict.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return dict(signature_map.signature_def)

    def versions(self) -> Dict[int, str]:
        """{version: state name} from GetModelStatus."""
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = self.model_name
        response = self._call(self._models.GetModelStatus, request)
        state_name = get_model_status_pb2.ModelVersionStatus.State.Name
        return {s.version: state_name(s.state) for s in response.model_version_status}

    def wait_until_available(self, timeout: float = 60.0, version: int | None = None) -> int:
        """Blocks until a version (or `version`) is AVAILABLE; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                available = [v for v, s in self.versions().items() if s == "AVAILABLE"]
                if available and (version is None or version in available):
                    return version or max(available)
            except ServingError as error:
                if error.code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
                    raise
            if time.monotonic() > deadline:
                wanted = f"version {version}" if version else "a version"
                raise TimeoutError(
                    f"{self.address} had no {wanted} of {self.model_name!r} AVAILABLE after "
                    f"{timeout:.0f} s; check the server's log and its model base path."
                )
            time.sleep(0.2)
