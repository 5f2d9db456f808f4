"""TF Serving's REST calls as calls of the gRPC API: URLs to ModelSpecs, answers to JSON.

rest.py serves HTTP; this module is what a REST call means. A URL names a
model and optionally a version or a label (`model_spec`); a predict body
becomes the gRPC PredictRequest and runs through predict.predict, so both
APIs share every check and give identical outputs; a gRPC status code maps
to the HTTP status TF Serving gives it (`HTTP_STATUS`).
"""

from __future__ import annotations

import re

import grpc
import tensorflow as tf
import tornado.escape
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    predict_pb2,
)

from tfx_seqgen.serving import json_responses, json_tensors, predict
from tfx_seqgen.serving.tensor_protos import to_array

_MODEL = r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
PREDICT_URL = re.compile(_MODEL + r":(?P<method>predict)", re.IGNORECASE)
GET_URL = re.compile(_MODEL + r"(?P<metadata>/metadata)?", re.IGNORECASE)

# TF Serving's http_server.cc ToHTTPStatusCode.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


def model_spec(match: re.Match) -> model_pb2.ModelSpec:
    """The ModelSpec a matched URL asks for."""
    spec = model_pb2.ModelSpec(name=tornado.escape.url_unescape(match["name"]))
    if match["version"]:
        version = int(match["version"])
        if version >= 2**63:
            raise predict.ServingStatus(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Failed to convert version: {match['version']} to numeric.",
            )
        spec.version.value = version
    elif match["label"]:
        spec.version_label = tornado.escape.url_unescape(match["label"])
    return spec


def predict_response(
    stores: dict,
    spec: model_pb2.ModelSpec,
    body: bytes,
    labels: dict | None = None,
    batcher=None,
) -> dict:
    """A predict body's JSON answer, computed by the gRPC API's predict.

    `labels` (the metrics' labels of the request) gets the signature's name.
    """
    signature_name, body_format, payload = json_tensors.parse_predict_body(body)
    spec.signature_name = signature_name
    if labels is not None:
        labels["signature_name"] = signature_name
    signature = predict.signature_def(stores, spec)
    tensors = json_tensors.request_tensors(signature, body_format, payload)
    request = predict_pb2.PredictRequest(model_spec=spec)
    for alias, array in tensors.items():
        request.inputs[alias].CopyFrom(
            tf.make_tensor_proto(array, dtype=signature.inputs[alias].dtype)
        )
    response = predict.predict(stores, request, batcher)
    outputs = {alias: to_array(proto) for alias, proto in response.outputs.items()}
    return json_responses.response_json(outputs, body_format)


def status_response(stores: dict, spec: model_pb2.ModelSpec) -> dict:
    if spec.WhichOneof("version_choice") == "version_label":
        spec.ClearField("version_label")  # TF Serving's status ignores labels
    request = get_model_status_pb2.GetModelStatusRequest(model_spec=spec)
    return json_responses.status_json(predict.model_status(stores, request))


def metadata_response(stores: dict, spec: model_pb2.ModelSpec) -> dict:
    request = get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec=spec, metadata_field=["signature_def"]
    )
    return json_responses.metadata_json(predict.model_metadata(stores, request))
