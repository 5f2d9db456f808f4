"""Predict, GetModelMetadata and GetModelStatus with TF Serving's checks and status codes.

The rules and messages follow TF Serving's predict_util.cc: the signature
defaults to `serving_default`; an unknown signature is FAILED_PRECONDITION;
extra, missing or unknown inputs, dtype mismatches and unknown output_filter
aliases are INVALID_ARGUMENT; a model or version not loaded is NOT_FOUND.
Errors raised inside the signature (our own checks on num_samples, steps and
non-finite values) keep the code TensorFlow gives them.
"""

from __future__ import annotations

import grpc
import tensorflow as tf
from tensorflow.core.framework import tensor_shape_pb2, types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    predict_pb2,
)

from tfx_seqgen.serving.model_store import (
    END,
    LoadedVersion,
    ModelNotFound,
    ModelStore,
    UnknownLabel,
)
from tfx_seqgen.serving.tensor_protos import fill, to_array

DEFAULT_SIGNATURE = "serving_default"
_STATES = {
    "LOADING": get_model_status_pb2.ModelVersionStatus.LOADING,
    "AVAILABLE": get_model_status_pb2.ModelVersionStatus.AVAILABLE,
    END: get_model_status_pb2.ModelVersionStatus.END,
}
# TensorFlow's error codes are gRPC's.
_CODES = {code.value[0]: code for code in grpc.StatusCode}


class ServingStatus(Exception):
    """A request that ends with a gRPC status other than OK."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def tf_error_message(message: str) -> str:
    """A TensorFlow error as TF Serving's C++ runtime words it: without the Python
    preamble ("Graph execution error", the node's definition stack)."""
    if not message.startswith("Graph execution error"):
        return message
    lines = message.splitlines()
    for index, line in enumerate(lines[1:], start=1):
        preamble = line.startswith(("Detected at node", "<stack traces unavailable>"))
        if line and not line[0].isspace() and not preamble:
            return "\n".join(lines[index:])
    return message


def _dtype_name(dtype: int) -> str:
    return tf.dtypes.as_dtype(dtype).name if dtype != types_pb2.DT_INVALID else "invalid"


def _find(stores: dict, model_spec: model_pb2.ModelSpec) -> tuple:
    """(store, loaded version) for a request's ModelSpec."""
    if not model_spec.name:
        raise ServingStatus(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
    store: ModelStore | None = stores.get(model_spec.name)
    choice = model_spec.WhichOneof("version_choice")
    version = model_spec.version.value if choice == "version" else None
    label = model_spec.version_label if choice == "version_label" else None
    if store is None:
        request = (
            f"Specific({model_spec.name}, {version})" if version else f"Latest({model_spec.name})"
        )
        raise ServingStatus(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {request}")
    try:
        return store, store.get(version, label)
    except ModelNotFound as error:
        raise ServingStatus(grpc.StatusCode.NOT_FOUND, str(error)) from None
    except UnknownLabel as error:
        raise ServingStatus(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None


def _signature(loaded: LoadedVersion, name: str) -> meta_graph_pb2.SignatureDef:
    name = name or DEFAULT_SIGNATURE
    if name not in loaded.functions:
        raise ServingStatus(
            grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{name}" not found.'
        )
    return loaded.signature_defs[name]


def signature_def(stores: dict, model_spec: model_pb2.ModelSpec) -> meta_graph_pb2.SignatureDef:
    """The SignatureDef a request for `model_spec` would run, or the status it would get."""
    _, loaded = _find(stores, model_spec)
    return _signature(loaded, model_spec.signature_name)


def _inputs(signature: meta_graph_pb2.SignatureDef, request: predict_pb2.PredictRequest) -> dict:
    sent, expected = set(request.inputs), set(signature.inputs)
    if len(sent) != len(expected):
        raise ServingStatus(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"input size does not match signature: {len(sent)}!={len(expected)} "
            f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}}). "
            f"Sent extra: {{{','.join(sorted(sent - expected))}}}. "
            f"Missing but required: {{{','.join(sorted(expected - sent))}}}.",
        )
    tensors = {}
    for index, alias in enumerate(sorted(sent)):
        if alias not in signature.inputs:
            raise ServingStatus(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"input tensor alias not found in signature: {alias}. "
                f"Inputs expected to be in the set {{{','.join(sorted(expected))}}}.",
            )
        proto, wanted = request.inputs[alias], signature.inputs[alias].dtype
        if proto.dtype != wanted:
            raise ServingStatus(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Expects arg[{index}] ({alias}) to be {_dtype_name(wanted)} "
                f"but {_dtype_name(proto.dtype)} is provided",
            )
        try:
            tensors[alias] = to_array(proto)
        except Exception:  # a TensorProto whose content does not match its shape
            raise ServingStatus(
                grpc.StatusCode.INVALID_ARGUMENT, f"tensor parsing error: {alias}"
            ) from None
        _check_shape(alias, tensors[alias].shape, signature.inputs[alias].tensor_shape)
    return tensors


def _shape_text(shape: tensor_shape_pb2.TensorShapeProto) -> str:
    return "[" + ", ".join("None" if d.size < 0 else str(d.size) for d in shape.dim) + "]"


def _check_shape(alias: str, shape: tf.TensorShape, expected) -> None:
    """Refuses an input whose rank or fixed sizes differ from the signature's, naming both.

    TF Serving leaves this to the graph, whose errors ("In[0] should be a
    scalar") do not say which input is wrong.
    """
    if expected.unknown_rank:
        return
    fits = len(shape) == len(expected.dim) and all(
        d.size < 0 or d.size == size for d, size in zip(expected.dim, shape, strict=True)
    )
    if not fits:
        what = "a scalar" if not expected.dim else f"shape {_shape_text(expected)} (None: any size)"
        raise ServingStatus(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"input {alias} has shape {list(shape)}, but the signature expects {what}",
        )


def _output_aliases(signature: meta_graph_pb2.SignatureDef, output_filter) -> list:
    aliases = []
    for alias in output_filter:
        if alias not in signature.outputs:
            raise ServingStatus(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"output tensor alias not found in signature: {alias} Outputs expected to be "
                f"in the set {{{','.join(sorted(signature.outputs))}}}.",
            )
        if alias in aliases:
            raise ServingStatus(
                grpc.StatusCode.INVALID_ARGUMENT, f"duplicate output tensor alias: {alias}"
            )
        aliases.append(alias)
    return aliases or sorted(signature.outputs)


def predict(
    stores: dict, request: predict_pb2.PredictRequest, batcher=None
) -> predict_pb2.PredictResponse:
    """Runs the request's signature; with a `batcher` (serving.batching), merged with
    concurrent requests to the same version and signature."""
    _, loaded = _find(stores, request.model_spec)
    name = request.model_spec.signature_name or DEFAULT_SIGNATURE
    signature = _signature(loaded, name)
    inputs = _inputs(signature, request)
    aliases = _output_aliases(signature, request.output_filter)
    try:
        if batcher is None:
            outputs = loaded.functions[name](**inputs)
        else:
            key = (request.model_spec.name, loaded.version, name)
            outputs = batcher.run(key, loaded.functions[name], inputs)
    except tf.errors.OpError as error:
        code = _CODES.get(error.error_code, grpc.StatusCode.UNKNOWN)
        raise ServingStatus(code, tf_error_message(error.message)) from None
    except (TypeError, ValueError) as error:  # shapes the signature cannot take
        raise ServingStatus(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
    response = predict_pb2.PredictResponse()
    response.model_spec.name = request.model_spec.name
    response.model_spec.version.value = loaded.version
    response.model_spec.signature_name = name
    for alias in aliases:
        fill(response.outputs[alias], outputs[alias])
    return response


def model_metadata(
    stores: dict, request: get_model_metadata_pb2.GetModelMetadataRequest
) -> get_model_metadata_pb2.GetModelMetadataResponse:
    _, loaded = _find(stores, request.model_spec)
    fields = list(request.metadata_field)
    if fields != ["signature_def"]:
        raise ServingStatus(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Metadata field {fields} is not supported; request ['signature_def']",
        )
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = request.model_spec.name
    response.model_spec.version.value = loaded.version
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for name, signature in loaded.signature_defs.items():
        signature_map.signature_def[name].CopyFrom(signature)
    response.metadata["signature_def"].Pack(signature_map)
    return response


def model_status(
    stores: dict, request: get_model_status_pb2.GetModelStatusRequest
) -> get_model_status_pb2.GetModelStatusResponse:
    spec = request.model_spec
    store = stores.get(spec.name)
    statuses = store.statuses() if store else []
    if spec.WhichOneof("version_choice") == "version":
        statuses = [s for s in statuses if s.version == spec.version.value]
        if not statuses:
            raise ServingStatus(
                grpc.StatusCode.NOT_FOUND,
                f"Could not find version {spec.version.value} of model {spec.name}",
            )
    if not statuses:
        raise ServingStatus(
            grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {spec.name}"
        )
    response = get_model_status_pb2.GetModelStatusResponse()
    # Newest first, as TF Serving's ServableStateMonitor orders versions (std::greater).
    for status in sorted(statuses, key=lambda s: -s.version):
        entry = response.model_version_status.add(
            version=status.version, state=_STATES[status.state]
        )
        if status.error:
            entry.status.error_code = grpc.StatusCode.UNKNOWN.value[0]
            entry.status.error_message = status.error
    return response
