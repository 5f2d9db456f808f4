"""`seqgen generate`: trajectories from a served model, for LCD's contract and for sequences'.

LCD's `generate` is conditioned on (x0, period): `--x0 X --period T ...`
prints, per period, the samples against the truth. A sequences model's is
conditioned on x0 (one value per value column) and its context columns,
whose names and types the command reads from the served signature:
`--x0 1.5 0.2 --context season=apr-sep`.
"""

from __future__ import annotations

import argparse
import json


def generate_command(args: argparse.Namespace) -> int:
    if args.period is None:
        return _generate_sequences(args)
    if len(args.x0) != 1:
        raise SystemExit(f"seqgen generate: --x0 {args.x0}: an LCD model takes one x0")
    args.x0 = args.x0[0]
    return _generate_lcd(args)


def _generate_sequences(args: argparse.Namespace) -> int:
    """One row of the `generate` contract of tasks.sequences: x0 [1, C] and the context."""
    import numpy as np

    from tfx_seqgen.serving.client import ServingClient

    with ServingClient(args.server, args.model_name, timeout=args.timeout) as client:
        signature = client.signatures().get("generate")
        if signature is None:
            raise SystemExit(f"seqgen generate: {args.model_name} has no generate signature")
        inputs = _sequence_inputs(args, signature)
        outputs, version = client.predict(inputs, signature="generate")
    trajectories = outputs["trajectories"][0]  # [samples, steps + 1, C]
    if args.json:
        print(json.dumps({"model": args.model_name, "version": version,
                          "x0": args.x0, "context": dict(c.split("=", 1) for c in args.context),
                          "trajectories": trajectories.tolist()}))  # fmt: skip
        return 0
    low, mean, high = (np.percentile(trajectories, 5, 0), trajectories.mean(0),
                       np.percentile(trajectories, 95, 0))  # fmt: skip
    print(f"{args.model_name} version {version} at {args.server}: {args.samples} trajectories")
    print("step  " + "  ".join(f"{'mean (5-95%) of column ' + str(c):>30}" for c in range(
        trajectories.shape[2])))  # fmt: skip
    for step in range(trajectories.shape[1]):
        cells = [f"{mean[step, c]:>10.4g} ({low[step, c]:.4g} to {high[step, c]:.4g})"
                 for c in range(trajectories.shape[2])]  # fmt: skip
        print(f"{step:>4}  " + "  ".join(f"{cell:>30}" for cell in cells))
    return 0


def _sequence_inputs(args: argparse.Namespace, signature) -> dict:
    """The request: each --context value typed as the signature's input of that name."""
    import numpy as np
    from tensorflow.core.framework import types_pb2

    fixed = {"x0", "seed", "num_samples", "steps"}
    expected = sorted(set(signature.inputs) - fixed)
    given = dict(item.split("=", 1) for item in args.context if "=" in item)
    if sorted(given) != expected or len(given) != len(args.context):
        raise SystemExit(
            f"seqgen generate: --context {args.context}: the model takes exactly the context "
            f"columns {expected}, each as NAME=VALUE"
        )
    inputs = {
        "x0": np.asarray([args.x0], np.float32),
        "seed": np.asarray([args.seed], np.int64),
        "num_samples": np.int32(args.samples),
        "steps": np.int32(args.steps),
    }
    for name, value in given.items():
        if signature.inputs[name].dtype == types_pb2.DT_STRING:
            inputs[name] = np.asarray([value], object)
            continue
        try:
            inputs[name] = np.asarray([float(value)], np.float32)
        except ValueError:
            raise SystemExit(
                f"seqgen generate: --context {name}={value}: {name} is a number"
            ) from None
    return inputs


def _generate_lcd(args: argparse.Namespace) -> int:
    from tfx_seqgen.serving.client import ServingClient
    from tfx_seqgen.tasks.lcd import view as trajectories
    from tfx_seqgen.tasks.lcd.data import LcdDataset

    with ServingClient(args.server, args.model_name, timeout=args.timeout) as client:
        dataset = LcdDataset(length=args.steps)
        results = trajectories.generate_per_period(
            client.generate, dataset, args.period, args.x0, args.samples, args.seed
        )
        version = client.last_version
    if args.plot:
        trajectories.plot(results, args.plot)
    if args.json:
        print(
            json.dumps(
                {
                    "model": args.model_name,
                    "version": version,
                    "x0": args.x0,
                    "seed": args.seed,
                    "periods": args.period,
                    "trajectories": [r.samples.tolist() for r in results],
                    "plot": args.plot,
                }
            )
        )
        return 0
    print(
        f"{args.model_name} version {version} at {args.server}: {args.samples} trajectories "
        f"per period, x0 = {args.x0:g}, {args.steps} steps"
    )
    print(trajectories.format_table(results))
    if args.plot:
        print(f"Plot: {args.plot}")
    return 0
