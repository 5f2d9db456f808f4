"""Errors that mean "the input was wrong", importable without TensorFlow.

`seqgen` prints them and exits 2 (components.validation's
InvalidParameterError too); importing them costs nothing, so a command
that fails on bad input says so in a second.
"""

from __future__ import annotations


class InvalidTrainingConfig(ValueError):
    """The Trainer's custom_config has a key or value run_fn cannot use."""


class ServingError(RuntimeError):
    """The server answered with an error status, or could not be reached."""

    def __init__(self, code, message: str, address: str):
        """`code` is the grpc.StatusCode the server (or the channel) gave."""
        self.code = code
        self.message = message
        super().__init__(f"{address} says {code.name}: {message}")
