"""The gRPC client's behaviour when a server is slow to start, absent, or says no."""

import threading

import grpc
import pytest

from tfx_seqgen.serving import server_config
from tfx_seqgen.serving.client import ServingClient, ServingError, readable
from tfx_seqgen.serving.process import free_port
from tfx_seqgen.serving.server import StandInServer


def test_unavailable_is_retried_until_the_server_is_up(tmp_path):
    port = free_port()
    server = StandInServer(server_config.single("lcd", str(tmp_path)), port=port, rest_port=0)
    timer = threading.Timer(1.0, server.start)
    timer.start()
    try:
        with ServingClient(f"127.0.0.1:{port}", "lcd", retries=6, backoff=0.25) as client:
            with pytest.raises(ServingError) as caught:
                client.versions()  # reaches the server, which has no version yet
        assert caught.value.code == grpc.StatusCode.NOT_FOUND
        assert "Could not find any versions of model lcd" in caught.value.message
    finally:
        timer.join()
        server.stop()


def test_no_server_gives_a_readable_error_after_the_retries():
    address = f"127.0.0.1:{free_port()}"
    with ServingClient(address, "lcd", retries=2, backoff=0.05, timeout=2) as client:
        with pytest.raises(ServingError) as caught:
            client.versions()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert str(caught.value).startswith(f"{address} says UNAVAILABLE")
    assert "after 3 attempts: is a model server running there?" in str(caught.value)


def test_tensorflow_details_are_trimmed_from_errors():
    message = (
        "assertion failed: [num_samples must be in [1, 1000]] [Condition x >= y did not hold]"
        "\n\t [[{{function_node __inference_generate_963}}{{node Assert}}]]"
    )
    assert readable(message) == "assertion failed: [num_samples must be in [1, 1000]]"
