"""TensorProto <-> NumPy for the request path, by their raw bytes.

`tf.make_tensor_proto` and `tf.make_ndarray` check and convert value by value
in Python: about 11 and 25 microseconds for the small tensors of a
`generate` request, five inputs and one output each way, paid on every
request by both client and server. Numeric tensors travel as
`tensor_content` (little-endian bytes, as TF Serving's own clients send
them), so they convert with one copy. Strings, and protos that carry their
values in the typed fields (`float_val`, ...), take TensorFlow's path.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

# The numeric dtypes that travel as raw bytes, both ways, looked up once:
# tf.dtypes.as_dtype costs microseconds a call, paid per tensor per request.
_RAW = [tf.bool, tf.float16, tf.float32, tf.float64, tf.int8, tf.int16, tf.int32, tf.int64]
_RAW += [tf.uint8, tf.uint16, tf.uint32, tf.uint64]
_ENUM_OF = {np.dtype(d.as_numpy_dtype): d.as_datatype_enum for d in _RAW}
_NUMPY_OF = {d.as_datatype_enum: np.dtype(d.as_numpy_dtype) for d in _RAW}


def to_proto(value) -> tensor_pb2.TensorProto:
    """A TensorProto holding `value`, with the dtype tf.make_tensor_proto would give it.

    Python numbers and lists keep TensorFlow's defaults (3 is int32, 3.0 float32),
    so they take its path; NumPy arrays and scalars, and eager tensors (a
    signature's outputs), keep their own dtype.
    """
    return fill(tensor_pb2.TensorProto(), value)


def fill(proto: tensor_pb2.TensorProto, value) -> tensor_pb2.TensorProto:
    """Writes `value` into an empty `proto` (a request's or response's map entry), as
    to_proto would make it: filling in place saves a copy of every tensor."""
    if isinstance(value, tf.Tensor) and hasattr(value, "numpy"):
        value = value.numpy()
    array = np.asarray(value, order="C") if isinstance(value, (np.ndarray, np.generic)) else None
    enum = None if array is None else _ENUM_OF.get(array.dtype)  # not big-endian ones
    if enum is None:
        proto.CopyFrom(tf.make_tensor_proto(value if array is None else array))
        return proto
    proto.dtype = enum
    proto.tensor_content = array.tobytes()
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


def to_array(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The NumPy array a TensorProto holds; raises ValueError if its bytes do not fit its shape."""
    dtype = _NUMPY_OF.get(proto.dtype)
    if not proto.tensor_content or dtype is None:
        return tf.make_ndarray(proto)
    shape = [d.size for d in proto.tensor_shape.dim]
    return np.frombuffer(proto.tensor_content, dtype).reshape(shape).copy()  # writable
