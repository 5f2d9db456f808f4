"""The installed package: one namespace that lives beside a TFX project's own packages."""

import os
import shutil
import subprocess
import sys

import pytest

from tests import ROOT
from tests.helpers import installed_copy_only

UV = os.path.join(os.path.dirname(sys.executable), "uv")
# What TFX's penguin template creates at its root (`tfx template copy`).
TEMPLATE_NAMES = {"models", "pipeline", "local_runner.py", "kubeflow_runner.py"}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A clean copy of the sources: no build leftovers can slip into the package."""
    copy = tmp_path_factory.mktemp("source") / "tfx-seqgen"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "runs", "build", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    return copy


@pytest.fixture(scope="module")
def site(source, tmp_path_factory):
    """The package built from the sources and installed alone into a folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [UV, "pip", "install", "--python", sys.executable, "--no-deps", "--target", target, source],
        check=True,
        capture_output=True,
    )
    return target


def test_wheel_installs_tfx_seqgen_and_nothing_else_at_top_level(site):
    names = {p.name for p in site.iterdir() if not p.name.endswith(".dist-info")} - {"bin", ".lock"}
    assert names == {"tfx_seqgen"}
    (dist_info,) = site.glob("tfx_seqgen-*.dist-info")
    assert (dist_info / "top_level.txt").read_text().split() == ["tfx_seqgen"]
    assert (site / "tfx_seqgen" / "tasks" / "lcd" / "model.py").is_file()
    assert (site / "tfx_seqgen" / "models" / "contextual_rnn.py").is_file()
    assert (site / "tfx_seqgen" / "pipeline" / "local_runs.py").is_file()


@pytest.fixture(scope="module")
def template_project(tmp_path_factory):
    """A project made by TFX's own template, with its `models` and `pipeline` packages."""
    project = tmp_path_factory.mktemp("template") / "penguin"
    tfx = os.path.join(os.path.dirname(sys.executable), "tfx")
    result = subprocess.run(
        [tfx, "template", "copy", "--model=penguin", "--pipeline_name=penguin"]
        + [f"--destination_path={project}"],
        capture_output=True,
        text=True,
    )
    # The template copies its code, then downloads its example data, which
    # needs the network; the code is what this test is about.
    assert result.returncode == 0 or "urlopen error" in result.stderr, result.stderr[-2000:]
    assert TEMPLATE_NAMES <= {p.name for p in project.iterdir()}
    return project


def run_in(project, site, script: str, *args):
    """`script` run by Python in `project` with the installed copy at `site` alone."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = installed_copy_only(script, site)
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=project, env=env, capture_output=True, text=True
    )


def test_seqgen_help_from_a_template_projects_root(site, template_project):
    script = """
from tfx_seqgen import cli
try:
    cli.main(["--help"])
except SystemExit as done:
    assert done.code == 0
"""
    result = run_in(template_project, site, script)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage: seqgen")


def test_our_code_and_the_templates_import_side_by_side(site, template_project):
    script = f"""
import models.model, pipeline.configs  # the template's own
assert models.__file__.startswith({str(template_project)!r}), models.__file__
assert not hasattr(pipeline.configs, "TASKS")
from tfx_seqgen.tasks.lcd.component import LcdExampleGen
from tfx_seqgen.tasks.trainer_module import run_fn
from tfx_seqgen.pipeline import configs
import tfx_seqgen
assert tfx_seqgen.__file__.startswith({str(site)!r}), tfx_seqgen.__file__
print(",".join(configs.TASKS))
"""
    result = run_in(template_project, site, script)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "lcd,art,sequences"


TEMPLATE_PIPELINE = """
import sys

from tfx import v1 as tfx

import models.features  # the template's own packages, imported first
import pipeline.configs
from tfx_seqgen.tasks.lcd.component import LcdExampleGen
from tfx_seqgen.pipeline.pipeline import RUN_FN, data_components

assert models.features.__file__.startswith(sys.argv[2]), models.features.__file__
root = sys.argv[1]
components = data_components(
    "lcd", dict(train_per_period=20, eval_per_period=5, length=8, train_periods=[0.5, 1.5])
)
assert isinstance(components[0], LcdExampleGen)
transform = components[-1]
trainer = tfx.components.Trainer(
    run_fn=RUN_FN,
    examples=transform.outputs["transformed_examples"],
    transform_graph=transform.outputs["transform_graph"],
    custom_config={"task": "lcd", "epochs": 1, "batch_size": 8,
                   "model": {"units": 4, "context_units": [4]}},
)
metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(root + "/mlmd.sqlite")
tfx.orchestration.LocalDagRunner().run(
    tfx.dsl.Pipeline(
        pipeline_name="penguin-with-seqgen",
        pipeline_root=root,
        components=[*components, trainer],
        metadata_connection_config=metadata,
    )
)
"""


@pytest.mark.e2e
def test_a_pipeline_with_our_components_runs_from_a_template_project(
    source, template_project, tmp_path_factory
):
    """In a fresh environment made from the lock plus the built package alone, a
    pipeline of our LcdExampleGen, Transform and Trainer module runs from the
    root of a project whose own `models` and `pipeline` come first on sys.path."""
    import ml_metadata as mlmd

    env_dir = tmp_path_factory.mktemp("env") / "venv"
    run = lambda *args: subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: E731
    run(UV, "venv", "--python", sys.executable, str(env_dir))
    python = str(env_dir / "bin" / "python")
    # The lock less uv itself (a tool of the set-up, not a dependency; its
    # wheel may not be in uv's cache, and the network may be off).
    lock = env_dir.parent / "lock.txt"
    lines = (ROOT / "requirements/lock.txt").read_text().splitlines(keepends=True)
    lock.write_text("".join(line for line in lines if not line.startswith("uv==")))
    run(UV, "pip", "sync", "--offline", "--python", python, str(lock))
    run(UV, "pip", "install", "--offline", "--no-deps", "--python", python, str(source))
    root = tmp_path_factory.mktemp("pipeline-root")
    result = subprocess.run(
        [python, "-c", TEMPLATE_PIPELINE, str(root), str(template_project)],
        cwd=template_project,
        env={**os.environ, "PYTHONPATH": str(template_project)},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    store = mlmd.MetadataStore(
        mlmd.proto.ConnectionConfig(
            sqlite=mlmd.proto.SqliteMetadataSourceConfig(filename_uri=str(root / "mlmd.sqlite"))
        )
    )
    executions = store.get_executions()
    assert len(executions) == 6  # generator, statistics, schema, validator, transform, trainer
    assert all(e.last_known_state == mlmd.proto.Execution.COMPLETE for e in executions)
    (model,) = store.get_artifacts_by_type("Model")
    assert os.path.exists(os.path.join(model.uri, "Format-Serving", "saved_model.pb"))
