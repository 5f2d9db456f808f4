"""Requests and responses convert as TensorFlow's own make_tensor_proto / make_ndarray do."""

import numpy as np
import pytest
import tensorflow as tf

from tfx_seqgen.serving.tensor_protos import to_array, to_proto

ARRAYS = [
    np.array([3.0, 2.5], np.float32),
    np.arange(24, dtype=np.float32).reshape(1, 4, 6),
    np.array([7, -1], np.int64),
    np.int32(16),
    np.array([[True, False]]),
    np.zeros([0, 3], np.float64),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(np.shape(a))}")
def test_numpy_values_round_trip_through_tensorflows_own_readers_and_writers(array):
    ours = tf.make_ndarray(to_proto(array))
    assert ours.dtype == array.dtype and np.array_equal(ours, array)
    theirs = to_array(tf.make_tensor_proto(array))
    assert theirs.dtype == array.dtype and np.array_equal(theirs, array)
    back = to_array(to_proto(array))
    assert back.dtype == array.dtype and np.array_equal(back, array)
    back[...] = 0  # a caller may write into what it got back


def test_python_values_keep_tensorflows_default_dtypes():
    assert to_array(to_proto(3)).dtype == np.int32
    assert to_array(to_proto([3.0, 1.0])).dtype == np.float32
    assert to_array(to_proto([b"c9k8??k"])).tolist() == [b"c9k8??k"]


def test_bytes_that_do_not_fit_the_shape_are_refused():
    proto = to_proto(np.array([1.0, 2.0, 3.0], np.float32))
    proto.tensor_shape.dim[0].size = 4
    with pytest.raises(ValueError):
        to_array(proto)
