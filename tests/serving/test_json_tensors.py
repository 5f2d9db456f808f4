"""TF Serving's REST JSON rules: request bodies to tensors, outputs to JSON.

Expected values are written out from TF Serving's documented behaviour
(g3doc/api_rest.md, util/json_tensor.cc), not derived from the code.
"""

import base64
import json

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from tfx_seqgen.serving import json_responses, json_tensors
from tfx_seqgen.serving.predict import ServingStatus


def signature(**inputs) -> meta_graph_pb2.SignatureDef:
    sig = meta_graph_pb2.SignatureDef()
    for name, dtype in inputs.items():
        sig.inputs[name].dtype = dtype.as_datatype_enum
    return sig


GENERATE = signature(
    x0=tf.float32, period=tf.float32, seed=tf.int64, num_samples=tf.int32, steps=tf.int32
)


def body(document) -> bytes:
    return json.dumps(document).encode()


def refused(call, *words, code=grpc.StatusCode.INVALID_ARGUMENT):
    with pytest.raises(ServingStatus) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    for word in words:
        assert word in caught.value.message, caught.value.message
    return caught.value.message


def test_columnar_body_gives_each_input_its_shape_and_dtype():
    name, fmt, payload = json_tensors.parse_predict_body(
        body({"signature_name": "generate", "inputs": {
            "x0": [3, 2.5], "period": [2.0, 1.0], "seed": [7, 8], "num_samples": 5, "steps": 12,
        }})
    )  # fmt: skip
    assert (name, fmt) == ("generate", "inputs")
    tensors = json_tensors.request_tensors(GENERATE, fmt, payload)
    assert tensors["x0"].dtype == np.float32 and tensors["x0"].tolist() == [3.0, 2.5]
    assert tensors["seed"].dtype == np.int64 and tensors["seed"].tolist() == [7, 8]
    assert tensors["num_samples"].shape == () and tensors["num_samples"] == 5
    assert tensors["steps"].dtype == np.int32


def test_row_body_stacks_instances_along_a_new_first_axis():
    sig = signature(a=tf.float32, b=tf.int64)
    _, fmt, payload = json_tensors.parse_predict_body(
        body({"instances": [{"a": [1, 2], "b": 3}, {"a": [4, 5], "b": 6}]})
    )
    assert fmt == "instances"
    tensors = json_tensors.request_tensors(sig, fmt, payload)
    assert tensors["a"].tolist() == [[1.0, 2.0], [4.0, 5.0]] and tensors["a"].shape == (2, 2)
    assert tensors["b"].tolist() == [3, 6]


def test_a_single_input_takes_a_plain_list_and_b64_strings():
    sig = signature(examples=tf.string)
    raw = b"\x00\xffbytes"
    payload = [{"b64": base64.b64encode(raw).decode()}, "text"]
    tensors = json_tensors.request_tensors(sig, "instances", payload)
    assert tensors["examples"].tolist() == [raw, b"text"]
    assert json_tensors.request_tensors(sig, "inputs", ["x"])["examples"].tolist() == [b"x"]


def test_signature_name_defaults_to_serving_default():
    assert json_tensors.parse_predict_body(b'{"inputs": [1]}')[0] == "serving_default"


BAD_BODIES = {
    "empty": (b"  ", "The document is empty"),
    "not JSON": (b"{oops", "JSON Parse error"),
    "not an object": (b"[1, 2]", "Is not object"),
    "both formats": (
        body({"inputs": [1], "instances": [1]}),
        "only one of 'inputs' or 'instances'",
    ),
    "neither": (body({"signature_name": "generate"}), "Missing 'inputs' or 'instances' key"),
    "instances not a list": (body({"instances": 3}), "Expecting 'instances' to be an list/array"),
    "no instances": (body({"instances": []}), "No values in 'instances' array"),
    "signature name not a string": (body({"signature_name": 1, "inputs": [1]}), "must be a string"),
    "unknown key": (
        body({"input": [1], "inputs": [1]}),
        "Unknown key(s) in the request body: input",
    ),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_bodies_are_invalid_argument_naming_the_problem(name):
    data, words = BAD_BODIES[name]
    refused(lambda: json_tensors.parse_predict_body(data), words)


BAD_VALUES = {
    # name: (signature, format, payload, words)
    "float for an integer": (GENERATE, "inputs", {
        "x0": [3.0], "period": [2.0], "seed": [1.5], "num_samples": 5, "steps": 12,
    }, ["1.5", "is not of expected type: int64"]),
    "int32 out of range": (signature(n=tf.int32), "inputs", {"n": 2**31}, ["int32"]),
    "bool for a float": (signature(x=tf.float32), "inputs", {"x": [True]}, ["Bool", "float32"]),
    "number for a bool": (signature(b=tf.bool), "inputs", {"b": [1]}, ["Number", "bool"]),
    "null": (signature(x=tf.float32), "inputs", {"x": [None]}, ["Null"]),
    "string for a float": (signature(x=tf.float32), "inputs", {"x": ["1"]}, ["String"]),
    "ragged list": (signature(x=tf.float32), "inputs", {"x": [[1, 2], [3]]},
                    ["unexpected size: 1 at level: 1 expected size: 2"]),
    "list too deep": (signature(x=tf.float32), "inputs", {"x": [1, [2]]}, ["unexpected level: 1"]),
    "value too shallow": (signature(x=tf.float32), "inputs", {"x": [[1], 2]}, ["incorrect level"]),
    "bad base64": (signature(s=tf.string), "inputs", {"s": [{"b64": "%%%"}]},
                   ["Unable to base64 decode"]),
    "b64 with more keys": (signature(s=tf.string), "inputs", {"s": [{"b64": "", "x": 1}]},
                           ["not formatted correctly for base64 data"]),
    "missing input": (GENERATE, "inputs", {"x0": [3.0]}, ["Missing named input: num_samples"]),
    "unknown input": (signature(x=tf.float32), "inputs", {"x": [1], "noise": [2]},
                      ["Unknown input(s) noise", "inputs are: x"]),
    "plain value for several inputs": (GENERATE, "inputs", [1, 2],
                                       ["expecting an object as multiple input tensors"]),
    "plain list of instances for several inputs": (GENERATE, "instances", [1, 2],
                                                   ["expecting list of objects"]),
    "instances of different shapes": (signature(x=tf.float32), "instances", [[1, 2], [3, 4, 5]],
                                      ["element: 1", "Expecting shape [2] but got: [3]"]),
    "instance missing a key": (signature(a=tf.float32, b=tf.float32), "instances",
                               [{"a": 1, "b": 2}, {"a": 3}],
                               ["element: 1", "keys must be equal to: a,b"]),
    "instance with an unknown key": (signature(a=tf.float32), "instances", [{"a": 1, "c": 2}],
                                     ["Unknown input(s) c in element 0"]),
    "object after a value": (signature(a=tf.float32), "instances", [1, {"a": 2}],
                             ["Expecting value/list but got object at item 1"]),
    "wrong type inside an instance": (signature(a=tf.int64), "instances", [{"a": 1}, {"a": "x"}],
                                      ["Failed to process element: 1 key: a", "String"]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_bad_values_are_invalid_argument_naming_the_value(name):
    sig, fmt, payload, words = BAD_VALUES[name]
    refused(lambda: json_tensors.request_tensors(sig, fmt, payload), *words)


def test_a_dtype_tf_serving_cannot_convert_is_unimplemented():
    refused(
        lambda: json_tensors.request_tensors(signature(h=tf.float16), "inputs", {"h": [1.0]}),
        "float16",
        code=grpc.StatusCode.UNIMPLEMENTED,
    )


def test_row_response_splits_the_batch_and_columnar_keeps_tensors_whole():
    outputs = {
        "trajectories": np.arange(6, dtype=np.float32).reshape(2, 1, 3),
        "in_training_range": np.array([True, False]),
    }
    rows = json_responses.response_json(outputs, "instances")
    assert rows == {
        "predictions": [
            {"trajectories": [[0.0, 1.0, 2.0]], "in_training_range": True},
            {"trajectories": [[3.0, 4.0, 5.0]], "in_training_range": False},
        ]
    }
    columns = json_responses.response_json(outputs, "inputs")
    assert columns == {
        "outputs": {
            "trajectories": [[[0.0, 1.0, 2.0]], [[3.0, 4.0, 5.0]]],
            "in_training_range": [True, False],
        }
    }
    single = json_responses.response_json({"digit": np.array([3, 4])}, "instances")
    assert single == {"predictions": [3, 4]}
    assert json_responses.response_json({"n": np.int32(7)}, "inputs") == {"outputs": 7}


def test_row_response_needs_one_batch_size():
    refused(
        lambda: json_responses.response_json({"a": np.zeros(2), "b": np.zeros(3)}, "instances"),
        "inconsistent batch size: 3 expecting: 2",
    )
    refused(
        lambda: json_responses.response_json({"a": np.float32(1)}, "instances"),
        "has no shape information",
    )


def test_non_finite_floats_are_bare_tokens_and_bytes_outputs_are_b64():
    document = {"outputs": {"x": np.array([np.nan, np.inf, -np.inf]).tolist()}}
    assert json_responses.dumps(document) == b'{"outputs": {"x": [NaN, Infinity, -Infinity]}}'
    outputs = {"image_bytes": np.array([b"\x00\x01"], object), "name": np.array([b"lcd"], object)}
    assert json_responses.response_json(outputs, "inputs") == {
        "outputs": {"image_bytes": [{"b64": "AAE="}], "name": ["lcd"]}
    }


def test_float32_outputs_round_trip_exactly_through_json():
    values = np.array([0.1, 1 / 3, 2.7239232], np.float32)
    text = json_responses.dumps(json_responses.response_json({"x": values}, "inputs"))
    back = np.asarray(json.loads(text)["outputs"], np.float32)
    np.testing.assert_array_equal(back, values)
