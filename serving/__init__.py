"""Serving over TF Serving's gRPC API: a client, and a stand-in server for machines without one.

`client.ServingClient` talks to any server that speaks TF Serving's
PredictionService and ModelService: the real `tensorflow_model_server`, or
`server.serve`, which implements the parts this project uses on the same
protocol, for development and tests where the real binary cannot be
installed.
"""
