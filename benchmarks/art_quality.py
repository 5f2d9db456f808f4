"""ART quality: zero vs free vs learned initial state on the Fast Weights RNN.

The paper's ART setting (Fast Weights, 50 units, Adam 1e-3, batch 128,
100,000 training and 20,000 eval queries of 4 pairs) trained for the demo's
40 epochs (the paper allows 200, stopping at 100% eval accuracy) with
several training seeds, each by the Trainer's own code. Reported: eval
accuracy and log loss per epoch (the paper's Figure 2) and the epochs each
model needs to reach 50% (leaving the ~38% plateau) and 99% eval accuracy.

    python -m benchmarks.art_quality             # 3 seeds x 3 models, about 2 hours on 2 cores
    python -m benchmarks.art_quality --quick     # tiny data and models, for CI
    python -m benchmarks.art_quality --threads 1 # leave the other core to other work
"""

from __future__ import annotations

import os
from typing import Dict, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks import harness  # noqa: E402

STRATEGIES = ("zero", "free", "learned")
QUICK_DATA = {"train_count": 400, "eval_count": 100}
QUICK_TRAINING = {"epochs": 2, "batch_size": 64, "model": {"units": 12}}
REPORT_EPOCHS = (1, 5, 10, 15, 20, 25, 30, 35, 40)
TARGETS = (0.5, 0.99)


def run_one(data: harness.PreparedData, strategy: str, seed: int, quick: bool) -> dict:
    params = harness.training_params("art", QUICK_TRAINING if quick else None)
    trained = harness.train(data, harness.with_model(params, {"strategy": strategy}, seed))
    return {
        "eval_accuracy": trained.history["val_accuracy"],
        "eval_loss": trained.history["val_loss"],
        "train_accuracy": trained.history["accuracy"],
        "train_seconds": trained.seconds,
    }


def sections(runs: Dict[str, List[dict]]) -> list:
    last = min(len(r["eval_accuracy"]) for rs in runs.values() for r in rs)
    shown = [e for e in REPORT_EPOCHS if e < last] + [last]
    curves = {
        key: harness.markdown_table(
            ["epoch", *runs],
            [
                [e, *(harness.mean_std([r[key][e - 1] for r in rs]) for rs in runs.values())]
                for e in shown
            ],
        )
        for key in ("eval_accuracy", "eval_loss")
    }
    final = [
        [
            seed,
            strategy,
            f"{r['eval_accuracy'][-1]:.3f}",
            f"{max(r['eval_accuracy']):.3f}",
            f"{r['eval_loss'][-1]:.3f}",
            *(harness.first_epoch(r["eval_accuracy"], lambda a, t=t: a >= t) for t in TARGETS),
            f"{r['train_seconds']:.0f}",
        ]
        for strategy, rs in runs.items()
        for seed, r in enumerate(rs)
    ]
    best = {s: sum(r["eval_accuracy"][-1] for r in rs) / len(rs) for s, rs in runs.items()}
    return [
        ("Eval accuracy per epoch (mean ± std over seeds)", curves["eval_accuracy"]),
        ("Eval log loss per epoch (mean ± std over seeds)", curves["eval_loss"]),
        (
            "Per seed",
            harness.markdown_table(
                [
                    "seed",
                    "initial state",
                    "final acc",
                    "best acc",
                    "final loss",
                    *(f"epochs to {t:.0%}" for t in TARGETS),
                    "train s",
                ],
                final,
            ),
        ),
        (
            "Ranking by mean final eval accuracy",
            " > ".join(f"{s} ({a:.3f})" for s, a in sorted(best.items(), key=lambda x: -x[1])),
        ),
    ]


def main(argv=None) -> None:
    options, data, results = harness.start(__doc__, "art", QUICK_DATA, "art_quality", 3, argv)
    # Seed by seed, so an interrupted run has whole seeds to report.
    for seed in options.seeds:
        for strategy in STRATEGIES:
            results.get_or_run(
                f"{strategy}/seed={seed}",
                lambda s=strategy, seed=seed: run_one(data, s, seed, options.quick),
            )
    runs = {s: [results.runs[f"{s}/seed={seed}"] for seed in options.seeds] for s in STRATEGIES}
    report = harness.write_report(
        options.out,
        "art_quality",
        "ART: zero vs free vs learned h0 (Fast Weights 50)",
        sections(runs),
    )
    plots = [
        harness.plot_curves(
            {s: [r[key] for r in rs] for s, rs in runs.items()},
            label,
            os.path.join(options.out, f"art_{key}.png"),
        )
        for key, label in (("eval_accuracy", "eval accuracy"), ("eval_loss", "eval log loss"))
    ]
    print(f"Report: {report}\nPlots: {', '.join(plots)}")


if __name__ == "__main__":
    main()
