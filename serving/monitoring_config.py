"""TF Serving's --monitoring_config_file: where (and whether) Prometheus metrics are served.

The file is a MonitoringConfig in protobuf text format, as
tensorflow_model_server reads it:

    prometheus_config {
      enable: true
      path: "/monitoring/prometheus/metrics"
    }

tensorflow-serving-api ships no Python module for monitoring_config.proto,
so its two messages are declared here with the same names and field
numbers, and protobuf's own text parser reads the file: the syntax a user
writes for the real server is the syntax accepted here.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from tfx_seqgen.serving import metrics

_FILE = "tfx_seqgen/serving/monitoring_config.proto"


class BadMonitoringConfig(ValueError):
    """A monitoring config file that cannot be read or parsed."""


def _message_class():
    """tensorflow.serving.MonitoringConfig, declared as in TF Serving's proto."""
    pool = descriptor_pool.DescriptorPool()
    proto = descriptor_pb2.FileDescriptorProto(
        name=_FILE, package="tensorflow.serving", syntax="proto3"
    )
    prometheus = proto.message_type.add(name="PrometheusConfig")
    field = descriptor_pb2.FieldDescriptorProto
    prometheus.field.add(name="enable", number=1, type=field.TYPE_BOOL, label=field.LABEL_OPTIONAL)
    prometheus.field.add(name="path", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    monitoring = proto.message_type.add(name="MonitoringConfig")
    monitoring.field.add(
        name="prometheus_config",
        number=1,
        type=field.TYPE_MESSAGE,
        type_name=".tensorflow.serving.PrometheusConfig",
        label=field.LABEL_OPTIONAL,
    )
    pool.Add(proto)
    descriptor = pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig")
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


MonitoringConfig = _message_class()


def metrics_path(path: str) -> str | None:
    """The URL path of the Prometheus metrics the file asks for, or None (not enabled).

    As TF Serving: `enable: false` (or no prometheus_config) serves none, and an
    empty `path` means the default, /monitoring/prometheus/metrics.
    """
    try:
        with open(path) as f:
            text = f.read()
    except OSError as error:
        raise BadMonitoringConfig(
            f"--monitoring_config_file={path}: cannot be read ({error.strerror})"
        ) from None
    try:
        config = text_format.Parse(text, MonitoringConfig())
    except text_format.ParseError as error:
        raise BadMonitoringConfig(
            f"--monitoring_config_file={path} is not a MonitoringConfig in text format: "
            f"{error}. Expected e.g.: prometheus_config {{ enable: true path: "
            f'"{metrics.PATH}" }}'
        ) from None
    prometheus = config.prometheus_config
    if not prometheus.enable:
        return None
    if prometheus.path and not prometheus.path.startswith("/"):
        raise BadMonitoringConfig(
            f"--monitoring_config_file={path}: path={prometheus.path!r} must start with '/'"
        )
    return prometheus.path or metrics.PATH
