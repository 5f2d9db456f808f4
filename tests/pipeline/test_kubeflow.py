"""The pipeline compiled for Kubeflow Pipelines v2, and the image it runs in."""

import importlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from google.protobuf import json_format
from kfp import compiler, components, dsl
from kfp.pipeline_spec import pipeline_spec_pb2

from tests import ROOT
from tests.helpers import installed_copy_only
from tfx_seqgen.pipeline import kubeflow

IMAGE = "gcr.io/example/seqgen:1"
BEAM_ARGS = ["--runner=DataflowRunner", "--project=example", "--region=us-central1"]
NODES = {
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "Trainer",
    "BaselineTrainer",
    "Evaluator",
    "Pusher",
}
BEAM_COMPONENTS = {"StatisticsGen", "Transform", "Evaluator"}


def compile_task(task: str, directory: pathlib.Path, **options) -> tuple:
    """(task, PipelineJob, PipelineSpec) of the task's demo pipeline compiled for Kubeflow;
    `options` are compile_pipeline's (overrides)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = kubeflow.compile_pipeline(
        task,
        "demo",
        "gs://example-bucket/seqgen",
        IMAGE,
        str(directory / "pipeline.json"),
        beam_args=BEAM_ARGS,
        **options,
    )
    with open(path) as f:
        text = f.read()
    job = json_format.Parse(text, pipeline_spec_pb2.PipelineJob())
    spec = json_format.ParseDict(json.loads(text)["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    return task, job, spec


@pytest.fixture(scope="module", params=["lcd", "art"])
def compiled(request, tmp_path_factory):
    return compile_task(request.param, tmp_path_factory.mktemp("kfp"))


def containers(spec) -> dict:
    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    return {name.removesuffix("_executor"): e["container"] for name, e in executors.items()}


def class_paths(spec) -> dict:
    """{node id: the executor class path its container runs}."""
    paths = {}
    for node, container in containers(spec).items():
        args = container["args"]
        paths[node] = args[args.index("--executor_class_path") + 1]
    return paths


def build_context(dockerfile: str, context: pathlib.Path) -> None:
    """Copies what the Dockerfile's COPY lines copy, to where they copy it."""
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        *sources, destination = line.split()
        for source in sources:
            if destination.endswith("/"):
                target = context / destination / os.path.basename(source)
            else:
                target = context / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / source).is_dir():  # as Docker does, symbolic links stay links
                shutil.copytree(ROOT / source, target, symlinks=True)
            else:
                shutil.copy(ROOT / source, target)


def resolves(dotted: str):
    module, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def module_paths(spec) -> list:
    """Code the pipeline names by module path: run_fn and preprocessing_fn."""
    found = []
    for task in spec.root.dag.tasks.values():
        for name, parameter in task.inputs.parameters.items():
            if name in ("run_fn", "preprocessing_fn"):
                found.append(parameter.runtime_value.constant.string_value)  # schema 2.1
    return found


def test_compiled_job_has_every_component_in_the_image(compiled):
    task, job, spec = compiled
    assert job.display_name == f"seqgen-{task}-demo"
    assert spec.schema_version == "2.1.0"
    generator = f"{task.title()}ExampleGen"
    assert set(spec.root.dag.tasks) == NODES | {generator}
    paths = class_paths(spec)
    for node, container in containers(spec).items():
        assert container["image"] == IMAGE, node
        assert isinstance(resolves(paths[node]), type), paths[node]  # each executor imports
        if node in BEAM_COMPONENTS | {generator}:
            assert all(arg in container["args"] for arg in BEAM_ARGS), node
    assert paths["Pusher"] == "tfx_seqgen.components.pusher.AtomicPushExecutor"
    code = module_paths(spec)
    assert "tfx_seqgen.tasks.trainer_module.run_fn" in code and len(code) == 3
    for path in code:
        assert callable(resolves(path))


def test_pusher_runs_only_for_a_blessed_model(compiled):
    _, _, spec = compiled
    condition = spec.root.dag.tasks["Pusher"].trigger_policy.condition
    assert "Evaluator.blessing" in condition and "['blessed'] == 1" in condition


def test_dockerfile_installs_everything_the_pipelines_import(tmp_path):
    """Builds what the Dockerfile would (its COPY lines, then installs the package) and
    imports every path the compiled LCD and ART pipelines name from the installed copy
    alone (one image serves both, so one interpreter checks both)."""
    specs = [compile_task(task, tmp_path / task)[2] for task in ("lcd", "art")]
    dockerfile = (ROOT / "Dockerfile").read_text()
    tfx_pin = re.search(r"^tfx==(\S+)$", (ROOT / "requirements/requirements.in").read_text(), re.M)
    assert re.search(rf"^FROM tensorflow/tfx:{re.escape(tfx_pin.group(1))}$", dockerfile, re.M)
    context = tmp_path / "context"
    build_context(dockerfile, context)
    site = tmp_path / "site"
    uv = os.path.join(os.path.dirname(sys.executable), "uv")
    subprocess.run(
        [uv, "pip", "install", "--no-deps", "--target", str(site), str(context)],
        check=True,
        capture_output=True,
    )
    imports = sorted(
        {p for spec in specs for p in [*class_paths(spec).values(), *module_paths(spec)]}
    )
    script = "import importlib, sys\n" + "".join(
        f"m, _, a = {p!r}.rpartition('.'); getattr(importlib.import_module(m), a)\n"
        for p in imports
    )
    script += "import tfx_seqgen.cli, tfx_seqgen.pipeline.local_runs\nprint('ok')\n"
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", installed_copy_only(script, site)],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_kfp_loads_the_compiled_pipeline_as_a_component_of_another(compiled, tmp_path):
    """kfp's own loader and compiler accept the spec: a user can nest the pipeline
    in theirs, and every executor keeps its image and class."""
    task, _, spec = compiled
    text = yaml.safe_dump(json_format.MessageToDict(spec))
    inner = components.load_component_from_text(text)
    assert inner.name == f"seqgen-{task}-demo"

    @dsl.pipeline(name="outer")
    def outer():
        inner()

    path = tmp_path / "outer.yaml"
    compiler.Compiler().compile(outer, str(path))
    nested = yaml.safe_load(path.read_text())
    executors = nested["deploymentSpec"]["executors"]
    assert {name.removesuffix("_executor") for name in executors} == set(containers(spec))
    for name, executor in executors.items():
        assert executor["container"]["image"] == IMAGE, name
        args = executor["container"]["args"]
        assert (
            args[args.index("--executor_class_path") + 1]
            == class_paths(spec)[name.removesuffix("_executor")]
        )


def test_vertex_training_runs_the_trainers_on_worker_pools_run_fn_accepts(tmp_path):
    path = kubeflow.compile_pipeline(
        "lcd",
        "demo",
        "gs://example-bucket/seqgen",
        IMAGE,
        str(tmp_path / "pipeline.json"),
        vertex={"project": "example", "region": "us-central1", "replicas": 3},
    )
    with open(path) as f:
        spec = json_format.ParseDict(json.load(f)["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    paths = class_paths(spec)
    vertex_executor = "tfx.extensions.google_cloud_ai_platform.trainer.executor.GenericExecutor"
    assert paths["Trainer"] == paths["BaselineTrainer"] == vertex_executor
    from tfx_seqgen import tasks
    from tfx_seqgen.models import training

    for node in ("Trainer", "BaselineTrainer"):
        inputs = spec.components[spec.root.dag.tasks[node].component_ref.name].input_definitions
        assert "custom_config" in inputs.parameters
        constant = spec.root.dag.tasks[node].inputs.parameters["custom_config"]
        custom_config = json.loads(constant.runtime_value.constant.string_value)
        job = custom_config["ai_platform_training_args"]
        assert job["project"] == "example"
        assert custom_config["ai_platform_vertex_region"] == "us-central1"
        pools = job["job_spec"]["worker_pool_specs"]
        assert [p["replica_count"] for p in pools] == [1, 2]  # the chief, then 2 workers
        assert {p["container_spec"]["image_uri"] for p in pools} == {IMAGE}
        # What each replica's run_fn reads: the job's keys left out, the rest valid.
        config = tasks.get("lcd").training_config(training.training_settings(custom_config))
        assert config.workers == 1 and config.epochs > 0


def test_vertex_training_with_local_workers_is_refused(tmp_path):
    with pytest.raises(ValueError, match="workers=2 starts processes on one machine"):
        kubeflow.compile_pipeline(
            "lcd",
            "demo",
            "gs://b/seqgen",
            IMAGE,
            str(tmp_path / "p.json"),
            training_overrides={"workers": 2},
            vertex={"project": "p", "region": "r", "replicas": 2},
        )


def test_the_eval_sample_compiles_between_the_data_and_the_evaluator(tmp_path):
    _, _, spec = compile_task("lcd", tmp_path, evaluation_overrides={"eval_sample_per_slice": 100})
    assert set(spec.root.dag.tasks) == NODES | {"LcdExampleGen", "EvalSample"}
    assert class_paths(spec)["EvalSample"] == "tfx_seqgen.components.eval_sample.EvalSampleExecutor"
    assert all(arg in containers(spec)["EvalSample"]["args"] for arg in BEAM_ARGS)
    source = spec.root.dag.tasks["Evaluator"].inputs.artifacts["examples"].task_output_artifact
    assert (source.producer_task, source.output_artifact_key) == ("EvalSample", "sampled_examples")
