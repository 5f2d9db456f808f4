"""Errors that mean "the input was wrong", importable without TensorFlow.

`seqgen` prints them and exits 2; importing them costs nothing, so a command
that fails on bad input says so in a second.
"""

from __future__ import annotations

from typing import Any


class InvalidParameterError(ValueError):
    """A component parameter has a value the component cannot use."""

    def __init__(self, component: str, name: str, value: Any, allowed: str):
        self.component = component
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{component}: {name}={value!r} is invalid; allowed: {allowed}.")


class InvalidSequenceData(ValueError):
    """A user's sequence file holds something the sequences task cannot use; the
    message names the file, column or series and what is allowed."""


class InvalidTrainingConfig(ValueError):
    """The Trainer's custom_config has a key or value run_fn cannot use."""


class ServingError(RuntimeError):
    """The server answered with an error status, or could not be reached."""

    def __init__(self, code, message: str, address: str):
        """`code` is the grpc.StatusCode the server (or the channel) gave."""
        self.code = code
        self.message = message
        super().__init__(f"{address} says {code.name}: {message}")
