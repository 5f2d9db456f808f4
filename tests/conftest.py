"""Shared test set-up: quiet TensorFlow, and a guard against Beam work."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture
def no_beam(monkeypatch):
    """Fails the test if anything constructs a Beam pipeline."""
    import apache_beam as beam

    def refuse(*args, **kwargs):
        raise AssertionError("a Beam pipeline was constructed")

    monkeypatch.setattr(beam.Pipeline, "__init__", refuse)
