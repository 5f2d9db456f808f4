"""The built-in server's batcher: concurrent calls merged, each caller gets exactly its rows."""

import time

import grpc
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_concurrently
from tfx_seqgen.serving.batching import Batcher
from tfx_seqgen.serving.predict import ServingStatus


class Recorder:
    """A signature stand-in: row i's output is 10 * x[i] + the row count of the call."""

    def __init__(self, delay=0.0):
        self.calls = []
        self.delay = delay

    def __call__(self, x, n):
        self.calls.append(int(x.shape[0]))
        time.sleep(self.delay)
        return {"y": x * 10.0, "n": n, "rows": tf.fill([tf.shape(x)[0]], tf.shape(x)[0])}


def call(batcher, function, values, key=("m", 1, "s")):
    inputs = {"x": tf.constant(values, tf.float32), "n": tf.constant([7] * len(values))}
    return batcher.run(key, function, inputs)


def test_concurrent_calls_are_merged_and_each_gets_its_own_rows():
    function = Recorder(delay=0.05)
    batcher = Batcher(max_batch_size=64, batch_timeout_micros=200_000)
    results = {}

    def client(i):
        results[i] = call(batcher, function, [i, i + 0.5])

    run_concurrently([lambda i=i: client(i) for i in range(8)])
    for i in range(8):
        np.testing.assert_array_equal(results[i]["y"], [10.0 * i, 10.0 * i + 5])
        np.testing.assert_array_equal(results[i]["n"], [7, 7])
    assert sum(function.calls) == 16
    assert len(function.calls) < 8  # some requests shared a call
    assert max(row for r in results.values() for row in r["rows"]) > 2


def test_batches_stop_at_max_batch_size_and_a_larger_request_runs_alone():
    function = Recorder(delay=0.05)
    batcher = Batcher(max_batch_size=4, batch_timeout_micros=100_000)
    results = {}
    run_concurrently(
        [lambda i=i: results.update({i: call(batcher, function, [i] * 2)}) for i in range(6)]
        + [lambda: results.update(big=call(batcher, function, [9] * 6))]
    )
    assert all(rows <= 4 for rows in function.calls if rows != 6)
    assert 6 in function.calls and sum(function.calls) == 18
    np.testing.assert_array_equal(results["big"]["y"], [90.0] * 6)


def test_scalar_or_unequal_inputs_are_refused_as_tf_servings_batcher_refuses_them():
    batcher = Batcher()
    with pytest.raises(ServingStatus) as caught:
        batcher.run(("m", 1, "s"), Recorder(), {"x": tf.constant([1.0]), "n": tf.constant(3)})
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "must have at least one dimension: n is a scalar" in caught.value.message
    with pytest.raises(ServingStatus) as caught:
        batcher.run(
            ("m", 1, "s"), Recorder(), {"x": tf.constant([1.0, 2.0]), "n": tf.constant([3])}
        )
    assert "equal 0th-dimension size; got [1, 2]" in caught.value.message


def test_a_failing_batch_fails_every_request_in_it_and_the_next_batch_runs():
    batcher = Batcher(max_batch_size=8, batch_timeout_micros=100_000)
    errors = []

    def broken(x, n):
        raise tf.errors.InvalidArgumentError(None, None, "num_samples must be the same")

    def client():
        try:
            call(batcher, broken, [1.0])
        except tf.errors.InvalidArgumentError as error:
            errors.append(error)

    run_concurrently([client] * 3)
    assert len(errors) == 3
    assert call(batcher, Recorder(), [2.0])["y"].tolist() == [20.0]


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="max_batch_size=0 must be at least 1"):
        Batcher(max_batch_size=0)
    with pytest.raises(ValueError, match="batch_timeout_micros=-1"):
        Batcher(batch_timeout_micros=-1)
