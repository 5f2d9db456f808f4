"""TF Serving's model config file: what the built-in server serves from it, and what it refuses."""

import pytest

from tfx_seqgen import cli
from tfx_seqgen.serving import server_config
from tfx_seqgen.serving.model_store import VersionPolicy
from tfx_seqgen.serving.server_config import BadModelConfig, ModelEntry

TWO_MODELS = """
model_config_list {
  config {
    name: "lcd"
    base_path: "/models/lcd"
    model_platform: "tensorflow"
    model_version_policy { specific { versions: 3 versions: 4 } }
    version_labels { key: "stable" value: 3 }
    version_labels { key: "canary" value: 4 }
  }
  config {
    name: "art" base_path: "/models/art" model_version_policy { latest { num_versions: 2 } }
  }
  config { name: "all" base_path: "/models/x" model_version_policy { all {} } }
}
"""


def test_a_config_of_several_models_with_policies_and_labels():
    assert server_config.parse(TWO_MODELS) == [
        ModelEntry(
            "lcd",
            "/models/lcd",
            VersionPolicy("specific", versions=(3, 4)),
            {"stable": 3, "canary": 4},
        ),
        ModelEntry("art", "/models/art", VersionPolicy("latest", num_versions=2), {}),
        ModelEntry("all", "/models/x", VersionPolicy("all"), {}),
    ]


def test_a_model_without_a_policy_serves_its_newest_version():
    (entry,) = server_config.parse('model_config_list { config { name: "m" base_path: "/m" } }')
    assert entry.policy == VersionPolicy("latest", num_versions=1)


BAD = {
    "not text proto": ("model_config_list { config { nme: 1 } }", "is not a ModelServerConfig"),
    "no models": ("model_config_list {}", "configures no model"),
    "no name": ('model_config_list { config { base_path: "/m" } }', "`name` is empty"),
    "no base path": ('model_config_list { config { name: "m" } }', "'m' has no `base_path`"),
    "twice": (
        'model_config_list { config { name: "m" base_path: "/a" } '
        'config { name: "m" base_path: "/b" } }',
        "'m' is configured twice",
    ),
    "platform": (
        'model_config_list { config { name: "m" base_path: "/m" model_platform: "onnx" } }',
        "model_platform 'onnx'",
    ),
    "empty specific": (
        'model_config_list { config { name: "m" base_path: "/m" '
        "model_version_policy { specific {} } } }",
        "specific lists no versions",
    ),
    "label on an unserved version": (
        'model_config_list { config { name: "m" base_path: "/m" '
        "model_version_policy { specific { versions: 1 } } "
        'version_labels { key: "stable" value: 2 } } }',
        "labels versions its policy does not serve: {'stable': 2}",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_configs_are_refused_naming_the_model_and_field(name):
    text, words = BAD[name]
    with pytest.raises(BadModelConfig) as caught:
        server_config.parse(text, "models.config")
    assert words in str(caught.value) and "models.config" in str(caught.value)


def test_serve_stops_before_starting_on_a_bad_or_missing_config(tmp_path, capsys):
    bad = tmp_path / "models.config"
    bad.write_text("model_config_list { config { name: 'm' } }")
    for path, words in ((bad, "'m' has no `base_path`"), (tmp_path / "nope", "cannot read")):
        with pytest.raises(SystemExit) as caught:
            cli.main(["serve", "--implementation", "builtin", "--model-config-file", str(path)])
        assert words in str(caught.value)
    with pytest.raises(SystemExit) as caught:
        cli.main(["serve", "--implementation", "builtin", "--model-name", "lcd"])
    assert "give --model-name and --model-base-path, or --model-config-file" in str(caught.value)
