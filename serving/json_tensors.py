"""TF Serving's REST JSON requests: predict bodies to tensors.

The rules follow TF Serving's json_tensor.cc and http_rest_api_handler.cc:
- a predict body is `{"signature_name"?, "instances": [...]}` (row format:
  one list element per batch item, named inputs as objects) or
  `{"signature_name"?, "inputs": ...}` (columnar: a value, or an object of
  named values, each any shape, scalars included);
- JSON numbers take the signature's dtype: floats accept any number,
  integers only integers in range, bools only true/false, strings a JSON
  string or `{"b64": "..."}`;
- lists must be rectangular; the shape is read from the first element at
  each level;
- answers are written by json_responses.py.

Unlike TF Serving, which ignores them, unknown top-level keys and unknown
named inputs are refused (INVALID_ARGUMENT naming them), as the gRPC API
refuses unknown inputs: a misspelt field never passes silently.

Every error is a predict.ServingStatus, so REST answers with the code
gRPC would give.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Dict, Tuple

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from tfx_seqgen.serving.predict import DEFAULT_SIGNATURE, ServingStatus

ROW, COLUMNAR = "instances", "inputs"
BODY_KEYS = ("signature_name", ROW, COLUMNAR)
# How much of an offending value an error message quotes.
_QUOTED_CHARS = 256


def invalid(message: str) -> ServingStatus:
    return ServingStatus(grpc.StatusCode.INVALID_ARGUMENT, message)


def _quote(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= _QUOTED_CHARS else text[:_QUOTED_CHARS] + "..."


def parse_predict_body(body: bytes) -> Tuple[str, str, Any]:
    """(signature name, ROW or COLUMNAR, the instances or inputs) of a predict body."""
    if not body.strip():
        raise invalid("JSON Parse error: The document is empty")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        position = getattr(error, "pos", getattr(error, "start", 0))
        reason = getattr(error, "msg", getattr(error, "reason", str(error)))
        raise invalid(f"JSON Parse error: {reason} at offset: {position}") from None
    if not isinstance(document, dict):
        raise invalid(f"JSON Value: {_quote(document)} Is not object")
    unknown = sorted(set(document) - set(BODY_KEYS))
    if unknown:
        raise invalid(
            f"Unknown key(s) in the request body: {', '.join(unknown)}. "
            f"Allowed: {', '.join(BODY_KEYS)}"
        )
    signature_name = document.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(signature_name, str):
        raise invalid(
            f"JSON Value: {_quote(document)} not formatted correctly. "
            "'signature_name' key must be a string value."
        )
    if ROW in document and COLUMNAR in document:
        raise invalid(
            f"JSON Value: {_quote(document)} Not formatted correctly expecting only one of "
            "'inputs' or 'instances' keys to exist"
        )
    if ROW in document:
        instances = document[ROW]
        if not isinstance(instances, list):
            raise invalid(
                f"JSON Value: {_quote(document)} Expecting 'instances' to be an list/array"
            )
        if not instances:
            raise invalid(f"JSON Value: {_quote(document)} No values in 'instances' array")
        return signature_name or DEFAULT_SIGNATURE, ROW, instances
    if COLUMNAR in document:
        return signature_name or DEFAULT_SIGNATURE, COLUMNAR, document[COLUMNAR]
    raise invalid("Missing 'inputs' or 'instances' key")


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and "b64" in value


def _is_named(value: Any) -> bool:
    """A JSON object of named inputs (not a {"b64": ...} value)."""
    return isinstance(value, dict) and not _is_b64(value)


_JSON_TYPE = {bool: "Bool", int: "Number", float: "Number", str: "String", list: "Array"}


def _type_error(value: Any, dtype: tf.DType) -> ServingStatus:
    kind = "Null" if value is None else _JSON_TYPE.get(type(value), "Object")
    return invalid(
        f"JSON Value: {_quote(value)} Type: {kind} is not of expected type: {dtype.name}"
    )


def _scalar(value: Any, dtype: tf.DType):
    """One JSON value as a value of `dtype`, or the error TF Serving gives."""
    if dtype == tf.string:
        if isinstance(value, str):
            return value.encode("utf-8")
        if _is_b64(value):
            if len(value) != 1 or not isinstance(value["b64"], str):
                raise invalid(
                    f"JSON Value: {_quote(value)} not formatted correctly for base64 data"
                )
            try:
                return base64.b64decode(value["b64"], validate=True)
            except (binascii.Error, ValueError):
                raise invalid("Unable to base64 decode") from None
        raise _type_error(value, dtype)
    if dtype == tf.bool:
        if isinstance(value, bool):
            return value
        raise _type_error(value, dtype)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(value, dtype)
    if dtype.is_floating:
        return value
    if dtype.is_integer and isinstance(value, int) and dtype.min <= value <= dtype.max:
        return value
    raise _type_error(value, dtype)


def to_array(value: Any, dtype: tf.DType) -> np.ndarray:
    """A JSON value or rectangular nested list as an array of `dtype`."""
    if dtype not in _SUPPORTED:
        raise ServingStatus(
            grpc.StatusCode.UNIMPLEMENTED,
            f"Conversion of JSON Value: {_quote(value)} to type: {dtype.name}",
        )
    shape = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    flat = []

    def walk(item, level):
        if level == len(shape):
            if isinstance(item, list):
                raise invalid(
                    f"Encountered list at unexpected level: {level} expected < {len(shape)}"
                )
            flat.append(_scalar(item, dtype))
            return
        if not isinstance(item, list):
            raise invalid(
                f"JSON Value: {_quote(item)} found at incorrect level: {level + 1} in the "
                f"JSON DOM. Expected at level: {len(shape)}"
            )
        if len(item) != shape[level]:
            raise invalid(
                f"Encountered list at unexpected size: {len(item)} at level: {level} "
                f"expected size: {shape[level]}"
            )
        for element in item:
            walk(element, level + 1)

    walk(value, 0)
    numpy_dtype = object if dtype == tf.string else dtype.as_numpy_dtype
    return np.array(flat, dtype=numpy_dtype).reshape(shape)


_SUPPORTED = {
    tf.float32,
    tf.float64,
    tf.int8,
    tf.int16,
    tf.int32,
    tf.int64,
    tf.uint8,
    tf.uint32,
    tf.uint64,
    tf.bool,
    tf.string,
}


def _dtypes(signature: meta_graph_pb2.SignatureDef) -> Dict[str, tf.DType]:
    return {alias: tf.dtypes.as_dtype(info.dtype) for alias, info in signature.inputs.items()}


def _check_names(given, expected, where: str) -> None:
    unknown = sorted(set(given) - set(expected))
    if unknown:
        raise invalid(
            f"Unknown input(s) {', '.join(unknown)} in {where}. "
            f"The signature's inputs are: {', '.join(sorted(expected))}"
        )


def request_tensors(
    signature: meta_graph_pb2.SignatureDef, body_format: str, payload: Any
) -> Dict[str, np.ndarray]:
    """The signature's inputs from a parsed body's instances or inputs."""
    dtypes = _dtypes(signature)
    if body_format == COLUMNAR:
        if not _is_named(payload):
            if len(dtypes) != 1:
                raise invalid(
                    "inputs is a plain value/list, but expecting an object as multiple "
                    "input tensors required as per tensorinfo_map"
                )
            ((alias, dtype),) = dtypes.items()
            return {alias: to_array(payload, dtype)}
        _check_names(payload, dtypes, "the 'inputs' object")
        tensors = {}
        for alias, dtype in sorted(dtypes.items()):
            if alias not in payload:
                raise invalid(f"Missing named input: {alias} in 'inputs' object.")
            tensors[alias] = to_array(payload[alias], dtype)
        return tensors
    return _rows(dtypes, payload)


def _rows(dtypes: Dict[str, tf.DType], instances: list) -> Dict[str, np.ndarray]:
    named = _is_named(instances[0])
    if not named and len(dtypes) != 1:
        raise invalid(
            "instances is a plain list, but expecting list of objects as multiple input "
            "tensors required as per tensorinfo_map"
        )
    columns: Dict[str, list] = {alias: [] for alias in dtypes}
    for index, item in enumerate(instances):
        if _is_named(item) != named:
            wanted, got = ("object", "list") if named else ("value/list", "object")
            raise invalid(f"Expecting {wanted} but got {got} at item {index} of input list")
        if not named:
            ((alias, dtype),) = dtypes.items()
            item = {alias: item}
        elif set(item) != set(dtypes):
            _check_names(item, dtypes, f"element {index} of 'instances'")
            raise invalid(
                f"Failed to process element: {index} of 'instances' list. JSON object: "
                f"{_quote(item)} keys must be equal to: {','.join(sorted(dtypes))}"
            )
        for alias, dtype in dtypes.items():
            try:
                value = to_array(item[alias], dtype)
            except ServingStatus as error:
                key = f" key: {alias}" if named else ""
                raise invalid(
                    f"Failed to process element: {index}{key} of 'instances' list. "
                    f"Error: {error.message}"
                ) from None
            first = columns[alias][0] if columns[alias] else value
            if value.shape != first.shape:
                raise invalid(
                    f"Failed to process element: {index} key: {alias} of 'instances' list. "
                    f"Error: Expecting shape {list(first.shape)} but got: {list(value.shape)}"
                )
            columns[alias].append(value)
    return {alias: np.stack(values) for alias, values in columns.items()}
