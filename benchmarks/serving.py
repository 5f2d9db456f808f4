"""Latency and throughput of trajectory generation: over gRPC and REST vs a direct call.

For each batch size (trajectories per request: one row, num_samples = batch,
25 steps) it measures, for the pushed LCD model, side by side:
- direct: the SavedModel's `generate` signature called in this process,
  with the inputs a client sends;
- in process: the server's own request handling (serving.predict: checks,
  TensorProtos both ways, serialized and parsed as on the wire) in this
  process, without gRPC: what the server adds before any transport;
- gRPC: the same request through ServingClient to a model server in its own
  process (tensorflow_model_server when on PATH, else the built-in server);
- REST: the same request as TF Serving's columnar JSON, on a kept-alive
  HTTP connection to that server;
- gRPC to a second server with batching on (`--enable-batching`, no batch
  timeout): concurrent requests merge into one call of the signature;
each one client at a time (latency) and 8 concurrent clients (throughput;
direct: 8 threads). The overhead column is p50 minus the direct call's p50;
the ratio column is 8-client throughput over the direct call's. The floor
lines are the cheapest gRPC and REST calls (model status): their p50, and
with 8 clients their CPU per request on each side, the per-request cost of
the transport and the server's Python alone.

The clients share the machine's cores with the server, so a second table
counts the CPU time each side spends per trajectory during the 8-client
runs (the client process's and the server process's user + system time):
where the direct call and the server both keep the cores busy, the server
alone, its clients on other machines, would reach about the direct call's
CPU per trajectory over the server's.

    python -m benchmarks.serving                        # the demo run's model
    python -m benchmarks.serving --model-base-path DIR  # any pushed LCD model
    python -m benchmarks.serving --quick                # fewer requests
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlparse

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from tensorflow_serving.apis import predict_pb2  # noqa: E402

from benchmarks import provenance  # noqa: E402
from tfx_seqgen.serving import predict  # noqa: E402
from tfx_seqgen.serving.client import ServingClient, generate_inputs, predict_request  # noqa: E402
from tfx_seqgen.serving.model_store import ModelStore, ready_versions  # noqa: E402
from tfx_seqgen.serving.process import Batching, ServerProcess  # noqa: E402
from tfx_seqgen.serving.tensor_protos import to_array  # noqa: E402

DEFAULT_BASE = os.path.join("runs", "seqgen-lcd-demo", "serving", "lcd")
BATCHES = (1, 16, 128)
STEPS = 25
CLIENTS = 8


def request(batch: int, seed: int) -> dict:
    return {"x0": [3.0], "period": [2.0], "seed": [seed], "num_samples": batch, "steps": STEPS}


def timed(call, count: int) -> np.ndarray:
    """Seconds per call, after two warm-up calls."""
    call(0)
    call(1)
    seconds = []
    for i in range(count):
        start = time.perf_counter()
        call(i)
        seconds.append(time.perf_counter() - start)
    return np.array(seconds)


class RestClient:
    """generate over TF Serving's REST API on one kept-alive connection."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)

    def post(self, path: str, document: dict) -> dict:
        self.connection.request("POST", path, json.dumps(document).encode())
        response = self.connection.getresponse()
        answer = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"REST {path} answered {response.status}: {answer}")
        return answer

    def get(self, path: str) -> dict:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        return json.loads(response.read())

    def generate(self, **inputs) -> np.ndarray:
        answer = self.post(
            "/v1/models/lcd:predict", {"signature_name": "generate", "inputs": inputs}
        )
        outputs = answer["outputs"]  # a lone output comes bare, several as an object
        return np.asarray(outputs["trajectories"] if isinstance(outputs, dict) else outputs)

    def close(self) -> None:
        self.connection.close()


def cpu_seconds(process: psutil.Process | None) -> float:
    """User + system CPU seconds a process (all its threads) has used so far.

    Children are not counted: the servers are this process's children.
    """
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def concurrent_rate(make_call, batch: int, count: int, server: psutil.Process | None) -> tuple:
    """(trajectories/s, client CPU s/trajectory, server CPU s/trajectory) with
    CLIENTS threads each making `count` calls of `make_call()` (one per thread: a
    client and its connection)."""

    def work():
        call = make_call()
        for i in range(count):
            call(i)

    threads = [threading.Thread(target=work) for _ in range(CLIENTS)]
    me = psutil.Process()
    client_before, server_before = cpu_seconds(me), cpu_seconds(server)
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    trajectories = CLIENTS * count * batch
    return (
        trajectories / wall,
        (cpu_seconds(me) - client_before) / trajectories,
        (cpu_seconds(server) - server_before) / trajectories,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-base-path", default=DEFAULT_BASE)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", help="write serving.json and serving.md there")
    args = parser.parse_args()
    versions = ready_versions(args.model_base_path)
    if not versions:
        sys.exit(
            f"No pushed model under {args.model_base_path}: run `make demo` first, "
            "or pass --model-base-path <serving dir>/lcd."
        )
    path = os.path.join(args.model_base_path, str(versions[-1]))
    store = ModelStore("lcd", args.model_base_path)
    store.poll()
    stores = {"lcd": store}
    generate = store.get(None, None).functions["generate"]

    def direct(batch):
        def call(i):
            outputs = generate(**generate_inputs(**request(batch, i)))
            return {name: tensor.numpy() for name, tensor in outputs.items()}

        return call

    def in_process(batch):
        def call(i):
            sent = predict_request("lcd", generate_inputs(**request(batch, i)), "generate")
            received = predict_pb2.PredictRequest.FromString(sent.SerializeToString())
            answer = predict.predict(stores, received).SerializeToString()
            outputs = predict_pb2.PredictResponse.FromString(answer).outputs
            return {name: to_array(proto) for name, proto in outputs.items()}

        return call

    count = 30 if args.quick else 200
    rows = []
    batching = Batching(max_batch_size=1024, batch_timeout_micros=0)
    with (
        ServerProcess("lcd", args.model_base_path) as server,
        ServerProcess("lcd", args.model_base_path, batching=batching) as batched,
    ):
        print(f"model {path}; server: {server.kind}; {count} requests per row", flush=True)
        server_kind = server.kind

        def grpc_calls(address):
            def make():
                client = ServingClient(address, "lcd", timeout=120)
                return lambda i, b=batch: client.generate(**request(b, i))

            return make

        grpc_call, batched_call = grpc_calls(server.address), grpc_calls(batched.address)

        def rest_call():
            client = RestClient(server.rest_url)
            return lambda i, b=batch: client.generate(**request(b, i))

        floor_client, floor_rest = ServingClient(server.address, "lcd"), RestClient(server.rest_url)
        floors = (
            np.median(timed(lambda i: floor_client.versions(), count)) * 1000,
            np.median(timed(lambda i: floor_rest.get("/v1/models/lcd"), count)) * 1000,
        )

        def status_call():
            client = ServingClient(server.address, "lcd")
            return lambda i: client.versions()

        # CPU per status request (the "batch" of 1 counts requests), each side.
        _, floor_client_cpu, floor_server_cpu = concurrent_rate(
            status_call, 1, count, psutil.Process(server.pid)
        )
        for batch in BATCHES:
            n = max(10, count // (4 if batch == 128 else 1))
            each = max(5, n // CLIENTS)
            serving, batching_server = psutil.Process(server.pid), psutil.Process(batched.pid)
            paths = {
                "direct signature call": (direct(batch), lambda b=batch: direct(b), None),
                "in process, no transport": (
                    in_process(batch),
                    lambda b=batch: in_process(b),
                    None,
                ),
                "gRPC": (grpc_call(), grpc_call, serving),
                "REST": (rest_call(), rest_call, serving),
                "gRPC, batching server": (batched_call(), batched_call, batching_server),
            }
            # Latency of each path, then throughput of each: the paths take turns.
            latency = {name: timed(call, n) for name, (call, _, _) in paths.items()}
            runs = {
                name: concurrent_rate(make, batch, each, process)
                for name, (_, make, process) in paths.items()
            }
            rate = {name: run[0] for name, run in runs.items()}
            rows.append((batch, latency, rate, runs))
            print(f"  batch {batch}: done", file=sys.stderr, flush=True)
    report: list = []
    out = lambda line: (print(line), report.append(line))  # noqa: E731
    table: list = []
    out(
        f"\n{'batch':>5} {'path':<25} {'p50 ms':>8} {'p99 ms':>8} {'overhead ms':>12} "
        f"{'traj/s 1 client':>16} {'traj/s 8 clients':>17} {'vs direct':>10}"
    )
    for batch, latency, rate, _ in rows:
        base_p50 = np.percentile(latency["direct signature call"], 50) * 1000
        base_rate = rate["direct signature call"]
        for name, seconds in latency.items():
            p50, p99 = np.percentile(seconds, [50, 99]) * 1000
            single = batch / np.mean(seconds)
            overhead = (
                f"{p50 - base_p50:>12.2f}" if name != "direct signature call" else f"{'':>12}"
            )
            out(
                f"{batch:>5} {name:<25} {p50:>8.2f} {p99:>8.2f} {overhead} {single:>16,.0f} "
                f"{rate[name]:>17,.0f} {rate[name] / base_rate:>9.2f}x"
            )
            table.append(
                {
                    "batch": batch,
                    "path": name,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "overhead_ms": p50 - base_p50,
                    "per_second_1_client": single,
                    "per_second_8_clients": rate[name],
                    "vs_direct": rate[name] / base_rate,
                    "client_cpu_ms": runs[name][1] * 1000,
                    "server_cpu_ms": runs[name][2] * 1000,
                }
            )
    out(
        f"\nCPU per trajectory with {CLIENTS} clients ({os.cpu_count()} cores shared by "
        "clients and server)\n"
        f"{'batch':>5} {'path':<25} {'client CPU ms':>14} {'server CPU ms':>14} "
        f"{'cores busy':>11} {'server alone vs direct':>23}"
    )
    for batch, _, _, runs in rows:
        direct_cpu = runs["direct signature call"][1]
        for name, (trajectories_per_second, client_cpu, server_cpu) in runs.items():
            busy = (client_cpu + server_cpu) * trajectories_per_second
            alone = f"{direct_cpu / server_cpu:>22.2f}x" if server_cpu else f"{'':>23}"
            out(
                f"{batch:>5} {name:<25} {client_cpu * 1000:>14.3f} {server_cpu * 1000:>14.3f} "
                f"{busy:>11.2f} {alone}"
            )
    out(
        f"\nfloor: model status p50 {floors[0]:.2f} ms over gRPC, {floors[1]:.2f} ms over REST "
        "(transport and the server's Python, no model work)"
    )
    out(
        f"floor CPU: model status with {CLIENTS} gRPC clients, {floor_client_cpu * 1000:.3f} ms "
        f"a request in the clients and {floor_server_cpu * 1000:.3f} ms in the server"
    )

    if args.out:
        write_results(args.out, server_kind, table, floors, floor_client_cpu, floor_server_cpu)
        write_report(args.out, report)


def write_results(out: str, server_kind: str, table, floors, client_cpu, server_cpu) -> None:
    """serving.json: every row, the floors, and where and when they were measured."""
    os.makedirs(out, exist_ok=True)
    results = {
        "server": server_kind,
        "cores": os.cpu_count(),
        "clients": CLIENTS,
        "rows": table,
        "floor_p50_ms": {"grpc": floors[0], "rest": floors[1]},
        "floor_cpu_ms": {"clients": client_cpu * 1000, "server": server_cpu * 1000},
        **provenance.stamp(),
    }
    with open(os.path.join(out, "serving.json"), "w") as f:
        json.dump(results, f, indent=1)


def write_report(out: str, report: list) -> None:
    with open(os.path.join(out, "serving.md"), "w") as f:
        f.write("# Serving: latency and throughput (benchmarks/serving.py)\n\n```\n")
        f.write("\n".join(line.strip("\n") for line in report) + "\n```\n")


if __name__ == "__main__":
    main()
