"""`seqgen serve`, `seqgen generate` and `seqgen answer`."""

from __future__ import annotations

import argparse
import json
import logging
import os

from tfx_seqgen.serving.generation import generate_command

_log = logging.getLogger(__name__)


def _steps(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{value} is too few: at least 2 steps")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: use 0 to 65535")
    return value


def _poll_seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"{value:g} is not supported: use 0 (look once) or a positive number of seconds"
        )
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: at least 1")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: 0 or more")
    return value


def add_commands(commands) -> None:
    """Adds the serving subcommands to seqgen's subparsers."""
    serve = commands.add_parser(
        "serve",
        help="serve pushed models over TF Serving's gRPC and REST APIs",
        description="Runs tensorflow_model_server when it is on PATH; otherwise the built-in "
        "server, which speaks the same gRPC API (Predict, GetModelMetadata, GetModelStatus) "
        "and REST API (model status, metadata, :predict) and loads each new version pushed "
        "under the base path.",
    )
    serve.add_argument("--model-base-path", "--model_base_path", help="e.g. RUN_ROOT/serving/lcd")
    serve.add_argument("--model-name", "--model_name", help="the name clients ask for, e.g. lcd")
    serve.add_argument(
        "--model-config-file",
        "--model_config_file",
        help="TF Serving's model config (ModelServerConfig text): several models, version "
        "policies and labels; instead of --model-name and --model-base-path",
    )
    serve.add_argument(
        "--model-config-file-poll-wait-seconds",
        "--model_config_file_poll_wait_seconds",
        type=float,
        default=0.0,
        help="re-read the model config file this often (0: read it once, as TF Serving)",
    )
    serve.add_argument("--port", type=int, default=8500, help="gRPC port")
    serve.add_argument(
        "--rest-api-port",
        "--rest_api_port",
        type=_port,
        default=8501,
        help="REST port (default 8501, as TF Serving's image); 0 serves no REST API",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (built-in server; default loopback only). "
        "tensorflow_model_server binds every interface.",
    )
    serve.add_argument(
        "--poll-seconds",
        "--file-system-poll-wait-seconds",
        "--file_system_poll_wait_seconds",
        type=_poll_seconds,
        default=1.0,
        help="seconds between looks for new versions (0: look once, at start)",
    )
    serve.add_argument(
        "--monitoring-config-file",
        "--monitoring_config_file",
        help="TF Serving's MonitoringConfig (text): prometheus_config { enable: true path: "
        '"/monitoring/prometheus/metrics" }; without it the built-in server serves its metrics '
        "at that path",
    )
    serve.add_argument(
        "--rest-api-timeout-in-ms",
        "--rest_api_timeout_in_ms",
        type=_positive_int,
        default=30000,
        help="a REST call not answered by then gets DEADLINE_EXCEEDED (504)",
    )
    serve.add_argument(
        "--max-num-load-retries",
        "--max_num_load_retries",
        type=_non_negative_int,
        default=5,
        help="tries after a version's load fails, before it is marked failed",
    )
    serve.add_argument(
        "--load-retry-interval-micros",
        "--load_retry_interval_micros",
        type=_non_negative_int,
        default=60_000_000,
        help="between those tries",
    )
    serve.add_argument(
        "--enable-batching",
        "--enable_batching",
        action="store_true",
        help="merge concurrent Predict calls to the same model version and signature, as "
        "TF Serving's batcher (every input needs a batch dimension)",
    )
    serve.add_argument(
        "--max-batch-size", "--max_batch_size", type=int, default=128, help="rows per batch"
    )
    serve.add_argument(
        "--batch-timeout-micros",
        "--batch_timeout_micros",
        type=int,
        default=0,
        help="how long a batch waits for more requests (0: it takes what is queued)",
    )
    serve.add_argument("--max-request-mb", type=float, default=16.0)
    serve.add_argument("--workers", type=int, default=8, help="requests served at once")
    serve.add_argument(
        "--implementation",
        choices=["auto", "builtin", "tensorflow_model_server"],
        default="auto",
        help="auto: the real binary if on PATH, else built-in",
    )
    serve.set_defaults(handler=serve_command)

    def client_arguments(parser, default_model):
        parser.add_argument("--server", default="127.0.0.1:8500", help="HOST:PORT")
        parser.add_argument("--model-name", default=default_model)
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
        parser.add_argument("--json", action="store_true", help="print JSON")

    generate = commands.add_parser(
        "generate",
        help="sample trajectories from a served model: LCD's from (x0, --period), a "
        "sequences model's from x0 and --context",
    )
    client_arguments(generate, "lcd")
    generate.add_argument(
        "--x0",
        type=float,
        nargs="+",
        required=True,
        help="first value(s) of the sequence: one for LCD, one per value column for sequences",
    )
    generate.add_argument("--period", type=float, nargs="+", help="LCD: one or more T")
    generate.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="sequences: a context column's value, e.g. --context season=apr-sep (repeatable)",
    )
    generate.add_argument("--samples", type=int, default=10)
    generate.add_argument("--steps", type=_steps, default=25)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--plot", help="write a plot (truth dashed, samples, mean) to FILE")
    generate.set_defaults(handler=generate_command)

    answer = commands.add_parser("answer", help="ask a served ART model for a query's digit")
    client_arguments(answer, "art")
    answer.add_argument("--query", nargs="+", required=True, help='e.g. "c9k8j3f1??k"')
    answer.set_defaults(handler=answer_command)


def _models(args: argparse.Namespace) -> list:
    """The config's models; a bad config or flag stops `serve` before anything starts."""
    from tfx_seqgen.serving import server_config

    single = args.model_name or args.model_base_path
    if args.model_config_file:
        if single:
            raise SystemExit(
                "seqgen serve: give either --model-config-file or --model-name with "
                "--model-base-path, not both"
            )
        try:
            return server_config.read(args.model_config_file)
        except server_config.BadModelConfig as error:
            raise SystemExit(f"seqgen serve: {error}") from None
    if not (args.model_name and args.model_base_path):
        raise SystemExit(
            "seqgen serve: give --model-name and --model-base-path, or --model-config-file"
        )
    return server_config.single(args.model_name, args.model_base_path)


def _metrics_path(args: argparse.Namespace) -> str | None:
    from tfx_seqgen.serving import metrics, monitoring_config

    if not args.monitoring_config_file:
        return metrics.PATH
    try:
        return monitoring_config.metrics_path(args.monitoring_config_file)
    except monitoring_config.BadMonitoringConfig as error:
        raise SystemExit(f"seqgen serve: {error}") from None


def serve_command(args: argparse.Namespace) -> int:
    from tfx_seqgen.serving.process import Batching, server_command
    from tfx_seqgen.serving.server import StandInServer, model_server_binary, serve_forever

    models = _models(args)
    metrics_path = _metrics_path(args)
    batching = Batching(args.max_batch_size, args.batch_timeout_micros)
    try:
        batcher = batching.batcher()  # checks the options, before anything starts
    except ValueError as error:
        raise SystemExit(f"seqgen serve: {error}") from None
    if not args.enable_batching:
        batching = batcher = None
    wanted = args.implementation
    if wanted == "tensorflow_model_server" or (wanted == "auto" and model_server_binary()):
        command = server_command(
            "tensorflow_model_server",
            args.model_name,
            args.model_base_path,
            args.port,
            args.poll_seconds,
            args.rest_api_port,
            args.model_config_file,
            args.model_config_file_poll_wait_seconds,
            batching,
            monitoring_config=args.monitoring_config_file,
            flags=[
                f"--rest_api_timeout_in_ms={args.rest_api_timeout_in_ms}",
                f"--max_num_load_retries={args.max_num_load_retries}",
                f"--load_retry_interval_micros={args.load_retry_interval_micros}",
            ],
        )
        _log.info("Running %s", " ".join(command))
        os.execv(command[0], command)

    for entry in models:
        if not os.path.isdir(entry.base_path):
            _log.warning(
                "%s does not exist yet; %r is served when a version is pushed there",
                entry.base_path,
                entry.name,
            )
    server = StandInServer(
        models,
        host=args.host,
        port=args.port,
        poll_seconds=args.poll_seconds,
        max_request_bytes=int(args.max_request_mb * 1024 * 1024),
        workers=args.workers,
        rest_port=args.rest_api_port or None,
        config_file=args.model_config_file,
        config_poll_seconds=args.model_config_file_poll_wait_seconds,
        batching=batcher,
        metrics_path=metrics_path,
        rest_timeout_seconds=args.rest_api_timeout_in_ms / 1000,
        load_retries=args.max_num_load_retries,
        load_retry_seconds=args.load_retry_interval_micros / 1e6,
    )
    serve_forever(server)
    return 0


def answer_command(args: argparse.Namespace) -> int:
    from tfx_seqgen.serving.client import ServingClient

    with ServingClient(args.server, args.model_name, timeout=args.timeout) as client:
        digits, probabilities = client.answer(args.query)
        version = client.last_version
    rows = [
        {"query": q, "digit": int(d), "probability": float(p[d])}
        for q, d, p in zip(args.query, digits, probabilities, strict=True)
    ]
    if args.json:
        print(json.dumps({"model": args.model_name, "version": version, "answers": rows}))
        return 0
    for row in rows:
        print(f"{row['query']} -> {row['digit']} (p = {row['probability']:.3f})")
    return 0
