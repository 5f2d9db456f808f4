"""The sequences task on real data: the calibrated contextual generator against the h0 = 0 baseline.

For each dataset of benchmarks/sequences_data.py and each seed (the seed of
the series' split and of training), the whole pipeline runs as a user runs
it (`seqgen run --task sequences`, the demo config) and the Evaluator's
scores on the held-out eval series are kept: CRPS, coverage and width of
the 90% band, the mean path's squared error, overall and per categorical
context value, for both models. Each finished run is written to the
results file at once, with its wall time, commit and date; a rerun
resumes, so delete the file to measure again.

    python -m benchmarks.sequences_quality            # 2 datasets x 3 seeds, ~10 minutes
    python -m benchmarks.sequences_quality --quick    # one tiny run, for CI
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from typing import Dict, List

from benchmarks import provenance, sequences_data
from tfx_seqgen.pipeline import local_runs

DEFAULT_OUT = os.path.join("benchmarks", "results")
QUICK_OUT = os.path.join("runs", "benchmarks-quick")
METRICS = {
    "CRPS (sampled)": "CRPS",
    "coverage of 90% band": "in 90% band",
    "90% band width": "band width",
    "mean-path MSE": "mean-path MSE",
}
# Bounds loose enough that every run reaches the Pusher: this measures, it does not bless.
EVALUATION = {"min_improvement": -100.0, "min_coverage": 1e-9, "max_coverage": 1 - 1e-9}


def run_one(dataset: str, seed: int, work: str, quick: bool) -> dict:
    """Wall time, stamp and scores {slice: {metric: [contextual, baseline]}} of one run."""
    path = sequences_data.write(dataset, os.path.join(work, f"{dataset}.csv"))
    training = {"seed": seed}
    if quick:
        training.update(epochs=2, eval_samples=20, model={"units": 8, "context_units": [4]})
    # A fresh pipeline root: TFX's cache would otherwise reuse an earlier run's
    # components, and the run's seconds would time nothing.
    root = os.path.join(work, f"{dataset}-seed{seed}")
    shutil.rmtree(root, ignore_errors=True)
    started = time.monotonic()
    run = local_runs.run(
        "sequences",
        "demo",
        root,
        data_overrides={"path": path, "seed": seed, **sequences_data.COLUMNS[dataset]},
        training_overrides=training,
        evaluation_overrides=EVALUATION,
    )
    scores: Dict[str, Dict[str, list]] = {}
    for row in local_runs.evaluation(run).rows:
        if row.metric in METRICS:
            scores.setdefault(row.slice_name, {})[row.metric] = [row.candidate, row.baseline]
    return {"seconds": round(time.monotonic() - started, 1), "scores": scores, **provenance.stamp()}


def table(results: Dict[str, dict]) -> str:
    lines = [
        "| dataset | seed | slice | "
        + " | ".join(f"{label} (contextual / baseline)" for label in METRICS.values())
        + " |",
        "|" + "---|" * (3 + len(METRICS)),
    ]
    for key, run in results.items():
        dataset, seed = key.rsplit("/", 1)
        scores = run["scores"]
        for slice_name in sorted(scores, key=lambda s: (s != "overall", s)):
            cells = [
                " / ".join(f"{v:.4g}" for v in scores[slice_name].get(metric, [float("nan")] * 2))
                for metric in METRICS
            ]
            lines.append(f"| {dataset} | {seed} | {slice_name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one tiny run, for CI")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=None, help=f"results (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "sequences_quality.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    datasets = ["italy-power-demand"] if args.quick else sorted(sequences_data.DATASETS)
    work = os.path.join("runs", "benchmark-sequences" + ("-quick" if args.quick else ""))
    for dataset in datasets:
        for seed in range(1 if args.quick else args.seeds):
            key = f"{dataset}/{seed}"
            if key in results:
                continue
            print(f"{key}: running the pipeline", flush=True)
            results[key] = run_one(dataset, seed, work, args.quick)
            with open(path, "w") as f:
                json.dump(results, f, indent=1)
    report = table(results)
    with open(os.path.join(out, "sequences_quality.md"), "w") as f:
        f.write("# The sequences task on real data (benchmarks/sequences_quality.py)\n\n")
        f.write(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
