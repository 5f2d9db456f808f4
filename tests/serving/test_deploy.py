"""The production recipe (serving/deploy/kubernetes.yaml) holds together as far as it can be
checked here: TF Serving's own proto parses its model config, and the pod's flags, probes,
mounts and ports agree with each other and with what the pipeline pushes."""

import re

import yaml

from tests import ROOT
from tfx_seqgen.serving import metrics, server_config
from tfx_seqgen.serving.model_store import VersionPolicy

MANIFEST = ROOT / "serving" / "deploy" / "kubernetes.yaml"
LOCK = ROOT / "requirements" / "lock.txt"


def documents() -> dict:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text())}


def container_and_pod():
    pod = documents()["Deployment"]["spec"]["template"]
    return pod["spec"]["containers"][0], pod


def flags(container) -> dict:
    return dict(arg.removeprefix("--").split("=", 1) for arg in container["args"])


def test_the_model_config_is_a_model_server_config_serving_lcd_and_art():
    data = documents()["ConfigMap"]["data"]
    models = {m.name: m for m in server_config.parse(data["models.config"], "models.config")}
    assert set(models) == {"lcd", "art"}
    assert models["lcd"].base_path == "/models/lcd" and models["art"].base_path == "/models/art"
    assert models["lcd"].policy == VersionPolicy("latest", num_versions=2)
    assert f'path: "{metrics.PATH}"' in data["monitoring.config"]
    assert "enable: true" in data["monitoring.config"]


def test_the_pod_reads_the_mounted_configs_and_serves_on_tf_servings_ports():
    container, pod = container_and_pod()
    args = flags(container)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    config_map = documents()["ConfigMap"]["metadata"]["name"]
    assert volumes["config"]["configMap"]["name"] == config_map
    for flag, key in (("model_config_file", "models.config"),
                      ("monitoring_config_file", "monitoring.config")):  # fmt: skip
        assert args[flag] == f"{mounts['config']}/{key}"
        assert key in documents()["ConfigMap"]["data"]
    data = documents()["ConfigMap"]["data"]["models.config"]
    for base_path in re.findall(r'base_path: "([^"]+)"', data):
        assert base_path.startswith(mounts["models"] + "/")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert (
        ports
        == {"grpc": int(args["port"]), "rest": int(args["rest_api_port"])}
        == {
            "grpc": 8500,
            "rest": 8501,
        }
    )
    service_ports = {p["name"]: p["targetPort"] for p in documents()["Service"]["spec"]["ports"]}
    assert service_ports == ports


def test_readiness_waits_for_a_loaded_lcd_version_and_metrics_are_scraped():
    container, pod = container_and_pod()
    probe = container["readinessProbe"]["httpGet"]
    assert probe == {"path": "/v1/models/lcd/metadata", "port": 8501}
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == metrics.PATH
    assert annotations["prometheus.io/port"] == "8501"


def test_the_image_is_the_tf_serving_release_of_the_locked_api():
    container, _ = container_and_pod()
    (api,) = re.findall(r"^tensorflow-serving-api==(\S+)", LOCK.read_text(), re.M)
    assert container["image"] == f"tensorflow/serving:{api}"
