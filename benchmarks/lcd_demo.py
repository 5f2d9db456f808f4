"""The LCD demo over seeds, as `make demo` runs it, and the summary figure of BENCHMARKS.md.

For each seed (the data's and the training's), the whole pipeline runs as
`seqgen run --task lcd --config demo` does, in a fresh pipeline root, and
keeps: the wall time, the verdict, and the Evaluator's scores for both
models (CRPS, coverage and width of the 90% band, rollout MSE) overall and
per eval period. Each finished run is written to the results file at once
with the commit and the date; a rerun resumes, so delete the file to
measure again. The figure puts the per-period CRPS and coverage of every
seed beside the ART learning curves of benchmarks/results/art_quality_200.json.

    python -m benchmarks.lcd_demo                  # 3 seeds, ~10 minutes on 2 cores
    python -m benchmarks.lcd_demo --figure-only    # redraw the figure from the results
    python -m benchmarks.lcd_demo --quick          # one tiny run, for CI
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from typing import Dict, List

from benchmarks import provenance

DEFAULT_OUT = os.path.join("benchmarks", "results")
QUICK_OUT = os.path.join("runs", "benchmarks-quick")
FIGURE = os.path.join("docs", "images", "benchmarks_summary.png")
ART_RESULTS = os.path.join(DEFAULT_OUT, "art_quality_200.json")
METRICS = {
    "CRPS (sampled)": "crps",
    "coverage of 90% band": "coverage",
    "90% band width": "band_width",
    "rollout MSE (mean h0)": "rollout_mse",
}
QUICK_TRAINING = {"epochs": 2, "rollout_epochs": 0, "eval_samples": 20}
QUICK_DATA = {"train_per_period": 40, "eval_per_period": 20, "calibration_per_period": 15}
# Bounds loose enough for a tiny run to reach the Pusher; the full runs use the demo's own.
QUICK_EVALUATION = {
    "min_improvement": -100.0,
    "max_mse": 10.0,
    "max_rollout_mse": 1000.0,
    "min_coverage": 1e-9,
    "max_coverage": 1 - 1e-9,
}


def run_one(seed: int, work: str, quick: bool) -> dict:
    """Wall time, verdict and {slice: {metric: [contextual, baseline]}} of one demo run."""
    from tfx_seqgen.pipeline import local_runs

    root = os.path.join(work, f"lcd-demo-seed{seed}")
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    run = local_runs.run(
        "lcd",
        "demo",
        root,
        data_overrides={"seed": seed, **(QUICK_DATA if quick else {})},
        training_overrides={"seed": seed, **(QUICK_TRAINING if quick else {})},
        evaluation_overrides=QUICK_EVALUATION if quick else None,
    )
    seconds = time.perf_counter() - start
    evaluation = local_runs.evaluation(run)
    scores: Dict[str, Dict[str, list]] = {}
    for row in evaluation.rows:
        if row.metric in METRICS:
            scores.setdefault(row.slice_name, {})[METRICS[row.metric]] = [
                row.candidate,
                row.baseline,
            ]
    return {
        "seconds": round(seconds, 1),
        "blessed": bool(evaluation.ok),
        "scores": scores,
        **provenance.stamp(),
    }


def periods(scores: dict) -> List[str]:
    return sorted((s for s in scores if s != "overall"), key=lambda s: float(s.split("=")[1]))


def table(results: Dict[str, dict]) -> str:
    lines = [
        "| seed | slice | CRPS contextual / baseline | change | in 90% band contextual / "
        "baseline | rollout MSE change | blessed | wall time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, result in results.items():
        scores = result["scores"]
        for name in ["overall", *periods(scores)]:
            crps, cover, rollout = (scores[name][m] for m in ("crps", "coverage", "rollout_mse"))
            minutes, seconds = divmod(round(result["seconds"]), 60)
            tail = (
                [("yes" if result["blessed"] else "no"), f"{minutes} min {seconds} s"]
                if name == "overall"
                else ["", ""]
            )
            lines.append(
                f"| {key} | {name} | {crps[0]:.4f} / {crps[1]:.4f} | {crps[0] / crps[1] - 1:+.1%} "
                f"| {cover[0]:.1%} / {cover[1]:.1%} | {rollout[0] / rollout[1] - 1:+.1%} | "
                + " | ".join(tail)
                + " |"
            )
    return "\n".join(lines)


def figure(results: Dict[str, dict], art_path: str, out: str) -> None:
    """Per-period CRPS ratio and coverage (every seed), and ART eval accuracy curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (crps_ax, cover_ax, art_ax) = plt.subplots(1, 3, figsize=(15, 4.2))
    for number, (key, result) in enumerate(results.items()):
        scores, color = result["scores"], f"C{number}"
        names = periods(scores)
        x = [float(n.split("=")[1]) for n in names]
        ratio = [scores[n]["crps"][0] / scores[n]["crps"][1] for n in names]
        crps_ax.plot(x, ratio, "o-", color=color, label=key)
        contextual = [scores[n]["coverage"][0] for n in names]
        cover_ax.plot(x, contextual, "o-", color=color, label=f"{key} contextual")
        baseline = [scores[n]["coverage"][1] for n in names]
        cover_ax.plot(x, baseline, "x--", color=color, alpha=0.6, label=f"{key} baseline")
        crps_ax.set_xticks(x)
        cover_ax.set_xticks(x)
    crps_ax.axhline(1.0, color="gray", lw=1)
    crps_ax.set(
        title="LCD demo: CRPS contextual / h0 = 0 baseline",
        xlabel="eval period T",
        ylabel="ratio (below 1: context wins)",
    )
    cover_ax.axhspan(0.85, 0.95, color="green", alpha=0.1)
    cover_ax.axhline(0.9, color="gray", lw=1)
    cover_ax.set(
        title="LCD demo: truth in the 90% band",
        xlabel="eval period T",
        ylim=(0.7, 1.0),
    )
    if os.path.exists(art_path):
        art = json.load(open(art_path))
        colors = {"learned": "C0", "zero": "C1", "free": "C2"}
        for key, curves in sorted(art.items()):
            strategy = key.split("/")[0]
            accuracy = curves["eval_accuracy"]
            art_ax.plot(
                range(1, len(accuracy) + 1),
                accuracy,
                color=colors.get(strategy, "k"),
                alpha=0.8,
                label=strategy if key.endswith("seed=0") else None,
            )
        art_ax.set(
            title="ART, 200 epochs: eval accuracy (3 seeds each)",
            xlabel="epoch",
            ylim=(0.9, 1.0),
        )
        art_ax.legend()
    crps_ax.legend(fontsize=8)
    cover_ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fig.savefig(out, dpi=90)


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one tiny run, for CI")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=None, help=f"results (default {DEFAULT_OUT})")
    parser.add_argument("--figure-only", action="store_true", help="redraw from the results")
    args = parser.parse_args(argv)
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "lcd_demo.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    work = os.path.join("runs", "benchmark-lcd-demo" + ("-quick" if args.quick else ""))
    for seed in [] if args.figure_only else range(1 if args.quick else args.seeds):
        key = f"seed={seed}"
        if key in results:
            continue
        print(f"{key}: running the LCD demo pipeline", flush=True)
        results[key] = run_one(seed, work, args.quick)
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
    report = table(results)
    with open(os.path.join(out, "lcd_demo.md"), "w") as f:
        f.write("# The LCD demo over seeds (benchmarks/lcd_demo.py)\n\n" + report + "\n")
    figure(results, ART_RESULTS, os.path.join(out, "summary.png") if args.quick else FIGURE)
    print(report)


if __name__ == "__main__":
    main()
