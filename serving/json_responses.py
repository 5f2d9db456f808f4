"""TF Serving's REST JSON answers: predict outputs, model status and metadata.

As TF Serving's json_tensor.cc and http_rest_api_handler.cc write them: a
row request answers `{"predictions": [...]}` (one element per batch item,
objects when there are several outputs), a columnar one `{"outputs": ...}`;
NaN and infinities are the bare tokens NaN / Infinity; outputs whose name
ends in `_bytes` are `{"b64": ...}`; status lists the newest version first.
Requests are read in json_tensors.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Dict

import numpy as np
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from tfx_seqgen.serving.json_tensors import COLUMNAR, invalid


def _json_value(alias: str, array: np.ndarray) -> Any:
    if array.dtype == object or array.dtype.kind == "S":
        if alias.endswith("_bytes"):
            encode = np.frompyfunc(lambda b: {"b64": base64.b64encode(b).decode("ascii")}, 1, 1)
        else:
            encode = np.frompyfunc(lambda b: b.decode("utf-8", errors="replace"), 1, 1)
        return encode(array).tolist() if array.ndim else encode(array)
    return array.tolist()


def response_json(outputs: Dict[str, np.ndarray], body_format: str) -> dict:
    """A predict response's JSON: `predictions` for row requests, `outputs` for columnar."""
    if body_format == COLUMNAR:
        values = {alias: _json_value(alias, array) for alias, array in outputs.items()}
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    batch = None
    for alias, array in outputs.items():
        if array.ndim == 0:
            raise invalid(f"Tensor name: {alias} has no shape information ")
        if batch is not None and array.shape[0] != batch:
            raise invalid(
                f"Tensor name: {alias} has inconsistent batch size: {array.shape[0]} "
                f"expecting: {batch}"
            )
        batch = array.shape[0]
    values = {alias: _json_value(alias, array) for alias, array in outputs.items()}
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    return {"predictions": [{alias: values[alias][i] for alias in values} for i in range(batch)]}


def status_json(response: get_model_status_pb2.GetModelStatusResponse) -> dict:
    """GET /v1/models/NAME: every field printed, newest version first, as TF Serving does."""
    document = json_format.MessageToDict(
        response, preserving_proto_field_name=True, including_default_value_fields=True
    )
    for entry in document["model_version_status"]:
        # Proto JSON leaves an unset message out; TF Serving always prints the status.
        entry.setdefault("status", {})
        entry["status"].setdefault("error_code", "OK")
        entry["status"].setdefault("error_message", "")
    document["model_version_status"].sort(key=lambda s: int(s["version"]), reverse=True)
    return document


def metadata_json(response: get_model_metadata_pb2.GetModelMetadataResponse) -> dict:
    """GET /v1/models/NAME/metadata: the SignatureDefMap unpacked, as TF Serving prints it."""
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    options = {"preserving_proto_field_name": True, "including_default_value_fields": True}
    return {
        "model_spec": json_format.MessageToDict(response.model_spec, **options),
        "metadata": {"signature_def": json_format.MessageToDict(signature_map, **options)},
    }


def dumps(document: dict) -> bytes:
    """JSON with NaN / Infinity as bare tokens, as TF Serving writes them."""
    return json.dumps(document, allow_nan=True).encode("utf-8")
