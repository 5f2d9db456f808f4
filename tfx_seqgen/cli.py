"""The `seqgen` command line: run the pipeline locally, serve its models, and call them."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import warnings
from typing import List

from tfx_seqgen import tasks
from tfx_seqgen.components.validation import InvalidParameterError
from tfx_seqgen.errors import InvalidSequenceData, InvalidTrainingConfig, ServingError
from tfx_seqgen.pipeline import configs
from tfx_seqgen.serving.commands import add_commands


def _assignment(text: str) -> tuple:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        pass
    if value.startswith("[") and value.endswith("]"):  # a list of bare words: [demand, temp]
        return name, [word.strip().strip("'\"") for word in value[1:-1].split(",") if word.strip()]
    return name, value  # a bare word, e.g. alphabet=abc


def _nest(assignments: list) -> dict:
    """[("model.units", 16), ("epochs", 3)] -> {"model": {"units": 16}, "epochs": 3}."""
    nested: dict = {}
    for name, value in assignments:
        *parents, leaf = name.split(".")
        target = nested
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return nested


def _settings() -> list:
    """The Trainer's settings, from its schema (the task and model have their own options)."""
    from tfx_seqgen.models.training_config import TrainingConfig

    return [name for name in TrainingConfig.model_fields if name not in ("task", "model")]


def _blessings() -> str:
    """Each task's blessing parameters, from its schema."""
    return "; ".join(
        f"{name}: {', '.join(task.evaluation.model_fields)}"
        for name, task in tasks.REGISTRY.items()
    )


def _overrides(parser: argparse.ArgumentParser) -> None:
    """The options `run` and `compile-kubeflow` share: overrides and Beam options."""
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=_assignment,
        help="override a data-generator parameter; VALUE is JSON, e.g. "
        "--data train_per_period=100 --data 'eval_periods=[1, 2]' (repeatable)",
    )
    parser.add_argument(
        "--train",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=_assignment,
        help=f"override a Trainer setting ({', '.join(_settings())}) "
        "or, as model.NAME, a model option, e.g. --train epochs=3 --train model.units=16",
    )
    parser.add_argument(
        "--eval",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=_assignment,
        help=f"override the blessing ({_blessings()})",
    )
    parser.add_argument(
        "--beam-args",
        default="",
        help="Beam pipeline options as one quoted string, e.g. "
        "'--direct_running_mode=multi_processing --direct_num_workers=2'",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqgen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole pipeline on this machine")
    run.set_defaults(handler=_run)
    run.add_argument("--task", choices=configs.TASKS, required=True)
    run.add_argument("--config", choices=configs.CONFIGS, default="demo")
    run.add_argument(
        "--pipeline-root", help="where artifacts and metadata go (default: runs/seqgen-TASK-CONFIG)"
    )
    run.add_argument(
        "--serving-dir",
        help="TF Serving base directory; the blessed model goes to SERVING_DIR/TASK/VERSION "
        "(default: PIPELINE_ROOT/serving)",
    )
    _overrides(run)
    compile_kfp = commands.add_parser(
        "compile-kubeflow",
        help="compile the pipeline for Kubeflow Pipelines v2 / Vertex AI (PipelineJob JSON)",
    )
    compile_kfp.set_defaults(handler=_compile_kubeflow)
    compile_kfp.add_argument("--task", choices=configs.TASKS, required=True)
    compile_kfp.add_argument("--config", choices=configs.CONFIGS, default="demo")
    compile_kfp.add_argument(
        "--pipeline-root", required=True, help="a URI the cluster writes, e.g. gs://BUCKET/seqgen"
    )
    compile_kfp.add_argument(
        "--image", required=True, help="the pipeline image (see Dockerfile), e.g. gcr.io/P/seqgen"
    )
    compile_kfp.add_argument("--output", help="default: seqgen-TASK-CONFIG.json")
    compile_kfp.add_argument("--serving-dir", help="default: PIPELINE_ROOT/serving")
    compile_kfp.add_argument(
        "--vertex-replicas",
        type=int,
        help="train on this many Vertex AI machines together (MultiWorkerMirroredStrategy); "
        "needs --vertex-project and --vertex-region",
    )
    compile_kfp.add_argument("--vertex-project", help="the GCP project of the training jobs")
    compile_kfp.add_argument("--vertex-region", help="e.g. us-central1")
    compile_kfp.add_argument(
        "--vertex-machine-type", default="n1-standard-4", help="default: n1-standard-4"
    )
    _overrides(compile_kfp)
    add_commands(commands)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show every log line of TFX and Beam"
    )
    return parser


# Warnings TFX and Beam print on every local run that ask nothing of the user.
_HARMLESS = (
    "ArtifactQuery.property_predicate is not supported",
    "Examples artifact does not have payload_format custom property",
    "Couldn't find python-snappy",
    "BatchElements statistics",
    "Missing pipeline option (runner)",
    "tf_record_iterator (from tensorflow.python.lib.io.tf_record) is deprecated",
)


class _ProgressOnly(logging.Filter):
    """Keeps TFX's per-component progress lines and drops its internal dumps."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.getMessage().startswith("Component ")


class _DropHarmless(logging.Filter):
    """Drops the _HARMLESS messages, from whichever library logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(harmless in message for harmless in _HARMLESS)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read when TensorFlow loads
    logging.getLogger("absl").addFilter(_ProgressOnly())
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropHarmless())
    for noisy in ("apache_beam", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Google client libraries warn at import that they will drop Python 3.10.
    warnings.filterwarnings("ignore", category=FutureWarning, module="google")


def _check(args: argparse.Namespace) -> None:
    """Refuses a bad --data, --train or --eval value before TFX is imported (seconds, not 30)."""
    data, training, baseline = configs.resolve(
        args.task, args.config, dict(args.data), _nest(args.train)
    )
    tasks.get(args.task).check(data, training, baseline, dict(args.eval))


def _run(args: argparse.Namespace) -> int:
    _check(args)
    from tfx_seqgen.pipeline import (
        evaluation_report,
        local_runs,  # imports TFX; kept out of `seqgen --help`
        run_summary,
    )

    result = local_runs.run(
        args.task,
        args.config,
        args.pipeline_root,
        beam_args=shlex.split(args.beam_args),
        data_overrides=dict(args.data),
        training_overrides=_nest(args.train),
        evaluation_overrides=dict(args.eval),
        serving_dir=args.serving_dir,
    )
    print(f"\nPipeline {result.pipeline_name} finished. Pipeline root: {result.pipeline_root}")
    print(f"Metadata (SQLite MLMD): {result.metadata_path}")
    print(run_summary.format_summary(result.components))
    print("\nContextual model vs h0 = 0 baseline on the eval split:")
    print(
        evaluation_report.format_report(local_runs.evaluation(result), local_runs.pushed_to(result))
    )
    view = tasks.get(args.task).closing_view
    if view:
        from tfx_seqgen.serving.demo import show_trajectories

        print("\n" + show_trajectories(result, view))
    return 0


def _vertex(args: argparse.Namespace) -> dict | None:
    """The Vertex AI training settings the flags give, or None (train in the Trainer's pod)."""
    given = [args.vertex_replicas, args.vertex_project, args.vertex_region]
    if not any(given):
        return None
    if not all(given):
        raise SystemExit(
            "seqgen compile-kubeflow: --vertex-replicas, --vertex-project and --vertex-region "
            "go together; give all three."
        )
    return {
        "project": args.vertex_project,
        "region": args.vertex_region,
        "replicas": args.vertex_replicas,
        "machine_type": args.vertex_machine_type,
    }


def _compile_kubeflow(args: argparse.Namespace) -> int:
    _check(args)
    from tfx_seqgen.pipeline import kubeflow  # imports TFX

    path = kubeflow.compile_pipeline(
        args.task,
        args.config,
        args.pipeline_root,
        args.image,
        args.output or f"seqgen-{args.task}-{args.config}.json",
        beam_args=shlex.split(args.beam_args),
        serving_dir=args.serving_dir,
        data_overrides=dict(args.data),
        training_overrides=_nest(args.train),
        evaluation_overrides=dict(args.eval),
        vertex=_vertex(args),
    )
    print(f"Compiled the {args.task} pipeline for Kubeflow Pipelines v2: {path}")
    return 0


def main(argv: List[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)

    try:
        return args.handler(args)
    except (
        InvalidParameterError,
        InvalidSequenceData,
        InvalidTrainingConfig,
        ServingError,
    ) as error:
        print(f"seqgen: error: {error}", file=sys.stderr)  # say what was wrong, and stop
        return 2
    except OSError as error:  # a missing file or binary, a port in use, a timeout
        print(f"seqgen: error: {error}", file=sys.stderr)
        return 1


def console_main() -> None:
    sys.exit(main())
