"""What the quality and speed benchmarks share.

Data comes from the pipeline itself: the first half (generator to Transform,
`pipeline.data_components`) runs once per task on the LocalDagRunner, cached
in its own MLMD store, and every benchmark model trains on its output with
the Trainer's own code (`<task>_task.train`, the function `run_fn` calls).
What differs from a Trainer execution is only what a benchmark needs: the
history comes back in memory, and nothing is exported.

Each trained model's numbers go to a JSON file as soon as they exist, keyed
by what the run was, so an interrupted full run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import tempfile
import time
import warnings
from typing import Any, Callable, Dict, Iterable, List, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Google's client libraries warn at import that they will drop Python 3.10.
warnings.filterwarnings("ignore", category=FutureWarning, module="google")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx.components.trainer import fn_args_utils  # noqa: E402
from tfx.types import artifact_utils, standard_artifacts  # noqa: E402

from tfx_seqgen import tasks  # noqa: E402
from tfx_seqgen.pipeline import configs, run_summary  # noqa: E402
from tfx_seqgen.pipeline.pipeline import data_components  # noqa: E402


def trainer_module(task: str):
    """A registered task's trainer module (its `compiled_model`, `to_model`, `train`)."""
    return importlib.import_module(f"tfx_seqgen.tasks.{tasks.get(task).name}.trainer")


DEFAULT_OUT = os.path.join("benchmarks", "results")
QUICK_OUT = os.path.join("runs", "benchmarks-quick")
_log = logging.getLogger("benchmarks")


@dataclasses.dataclass
class PreparedData:
    """The outputs of one data pipeline run: raw examples and Transform's outputs."""

    task: str
    data_params: Dict[str, Any]
    examples_uri: str
    transformed_examples_uri: str
    transform_graph_uri: str

    def raw_split(self, split: str) -> str:
        return os.path.join(self.examples_uri, f"Split-{split}")


def prepare_data(task: str, data_params: Dict[str, Any], root: str) -> PreparedData:
    """Runs generator -> ... -> Transform under `root` (cached: the second call is instant)."""
    name = f"seqgen-{task}-benchmark-data"
    root = os.path.abspath(root)
    metadata_path = os.path.join(root, "metadata.sqlite")
    os.makedirs(root, exist_ok=True)
    _log.info("Preparing %s data under %s", task, root)
    pipeline = tfx.dsl.Pipeline(
        pipeline_name=name,
        pipeline_root=root,
        components=data_components(task, data_params),
        enable_cache=True,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            metadata_path
        ),
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)
    components = run_summary.latest_run(metadata_path, name)
    generator = components[0].node_id
    return PreparedData(
        task=task,
        data_params=data_params,
        examples_uri=run_summary.output_of(components, generator, "examples").uri,
        transformed_examples_uri=run_summary.output_of(
            components, "Transform", "transformed_examples"
        ).uri,
        transform_graph_uri=run_summary.output_of(components, "Transform", "transform_graph").uri,
    )


def trainer_fn_args(data: PreparedData, params: Dict[str, Any], work_dir: str):
    """The FnArgs the Trainer would build for these inputs (TFX's own helper builds it)."""
    examples = standard_artifacts.Examples()
    examples.uri = data.transformed_examples_uri
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    graph = standard_artifacts.TransformGraph()
    graph.uri = data.transform_graph_uri
    fn_args = fn_args_utils.get_common_fn_args(
        {"examples": [examples], "transform_graph": [graph]},
        {"train_args": "{}", "eval_args": "{}", "custom_config": json.dumps(params)},
        work_dir,
    )
    fn_args.model_run_dir = os.path.join(work_dir, "logs")
    return fn_args


@dataclasses.dataclass
class Trained:
    model: keras.Model
    history: Dict[str, List[float]]
    seconds: float
    tft_output: tft.TFTransformOutput


def train(data: PreparedData, params: Dict[str, Any]) -> Trained:
    """Trains one model exactly as the Trainer's run_fn does, keeping its history."""
    config = tasks.get(params["task"]).training_config(params)
    keras.utils.set_random_seed(config.seed)
    tft_output = tft.TFTransformOutput(data.transform_graph_uri)
    with tempfile.TemporaryDirectory() as work_dir:
        fn_args = trainer_fn_args(data, params, work_dir)
        start = time.perf_counter()
        model, history = tasks.get(data.task).train(fn_args, tft_output, config)
        seconds = time.perf_counter() - start
    return Trained(
        model, {k: [float(v) for v in vs] for k, vs in history.history.items()}, seconds, tft_output
    )


def training_params(task: str, overrides: Dict[str, Any] | None = None) -> Dict[str, Any]:
    """The demo config's Trainer params for a task, with overrides (`model` merged key by key)."""
    return configs.with_overrides(configs.training_params(task, "demo"), overrides)


def with_model(params: Dict[str, Any], model: Dict[str, Any], seed: int) -> Dict[str, Any]:
    """Trainer params with some model arguments replaced and a training seed."""
    return configs.with_overrides(params, {"model": model, "seed": seed})


class Results:
    """A JSON file of finished runs, written after each one, so a full run can resume."""

    def __init__(self, path: str):
        self.path = path
        self.runs: Dict[str, Any] = {}
        if os.path.exists(path):
            with open(path) as f:
                self.runs = json.load(f)

    def get_or_run(self, key: str, compute: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
        if key in self.runs:
            _log.info("%s: already measured (%s)", key, self.path)
        else:
            _log.info("%s: running", key)
            self.runs[key] = compute()
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            partial = f"{self.path}.partial"
            with open(partial, "w") as f:
                json.dump(self.runs, f, indent=1)
            os.replace(partial, self.path)
        return self.runs[key]


def parser(doc: str, seeds: int) -> argparse.ArgumentParser:
    """The options every quality benchmark takes."""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny data and models, for CI")
    parser.add_argument(
        "--seeds", type=int, default=None, help=f"training seeds (default {seeds}; 1 with --quick)"
    )
    parser.add_argument(
        "--out",
        help=f"results, tables and plots (default {DEFAULT_OUT}; with --quick {QUICK_OUT})",
    )
    parser.add_argument(
        "--data-root",
        help="where the data runs go, one per task and mode (default runs/benchmark-data)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="TensorFlow threads per op pool (0: all cores)"
    )
    parser.set_defaults(default_seeds=seeds)
    return parser


@dataclasses.dataclass
class Options:
    quick: bool
    seeds: List[int]
    out: str
    data_base: str | None  # --data-root

    def data_root(self, task: str) -> str:
        """The pipeline root of a task's data run; shared by every benchmark in a mode."""
        mode = "quick" if self.quick else "full"
        return os.path.join(
            self.data_base or os.path.join("runs", "benchmark-data"), f"{task}-{mode}"
        )


def options(args: argparse.Namespace) -> Options:
    """Resolved options; also applies --threads, which must happen before TensorFlow runs."""
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    count = args.seeds or (1 if args.quick else args.default_seeds)
    if count < 1:
        raise SystemExit(f"--seeds={count} is invalid; allowed: an integer at least 1.")
    return Options(
        quick=args.quick,
        seeds=list(range(count)),
        out=args.out or (QUICK_OUT if args.quick else DEFAULT_OUT),
        data_base=args.data_root,
    )


def start(
    doc: str, task: str, quick_data: Dict[str, Any], name: str, seeds: int, argv=None
) -> tuple:
    """What a quality benchmark does first: (options, its data, its results file)."""
    opts = options(parser(doc, seeds).parse_args(argv))
    setup_logging()
    data = prepare_data(task, quick_data if opts.quick else {}, opts.data_root(task))
    return opts, data, Results(os.path.join(opts.out, f"{name}.json"))


def write_report(out: str, name: str, title: str, sections: Sequence[tuple]) -> str:
    """Prints (heading, body) sections and writes them to `<out>/<name>.md`."""
    text = f"## {title}\n\n" + "\n\n".join(f"### {h}\n\n{body}" for h, body in sections) + "\n"
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{name}.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    return path


def first_epoch(values: Sequence[float], reached: Callable[[float], bool]) -> str:
    """The first epoch (from 1) whose value satisfies `reached`, or "not in N"."""
    epoch = next((e for e, v in enumerate(values, 1) if reached(v)), None)
    return str(epoch) if epoch is not None else f"not in {len(values)}"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub table, readable in a terminal and pasted as is into BENCHMARKS.md."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def mean_std(values: Sequence[float], digits: int = 3, scientific: bool = False) -> str:
    """`mean ± std` over seeds (just the value for one seed)."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    fmt = f"{{:.{digits}e}}" if scientific else f"{{:.{digits}f}}"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(values.mean())} ± {fmt.format(values.std(ddof=1))}"


def setup_logging() -> None:
    """The pipeline's progress lines and each epoch's metrics; library notices kept quiet."""
    from tfx_seqgen import cli

    cli.configure_logging(verbose=False)


def plot_curves(
    curves: Dict[str, List[List[float]]], ylabel: str, path: str, log_scale: bool = False
) -> str:
    """Per-epoch curves, one line per label: the mean over seeds, min to max shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axis = plt.subplots(figsize=(6, 3.6))
    for label, runs in curves.items():
        length = min(len(r) for r in runs)
        values = np.array([r[:length] for r in runs])
        epochs = np.arange(1, length + 1)
        line = axis.plot(epochs, values.mean(axis=0), label=f"{label} (n={len(runs)})")[0]
        axis.fill_between(
            epochs, values.min(axis=0), values.max(axis=0), alpha=0.2, color=line.get_color()
        )
    axis.set_xlabel("epoch")
    axis.set_ylabel(ylabel)
    if log_scale:
        axis.set_yscale("log")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
