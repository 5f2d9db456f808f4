"""Ablation on LCD: every initial-state strategy with an LSTM and with a GRU.

The paper compares only a zero and a contextual start. Here each strategy
the models offer (zero, noisy zero with Gaussian or uniform noise, free,
noisy free, learned, learned distribution) trains in the paper's LCD setting
with both cells, by the Trainer's own code, and is scored like the quality
benchmark: teacher-forced eval MSE, free-running rollout MSE with the mean
h0, and how often the truth lies inside the 90% band of 100 samples.

    python -m benchmarks.ablation            # 14 models, 1 seed, about 40 minutes on 2 cores
    python -m benchmarks.ablation --quick    # tiny data and models, for CI
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks import harness, lcd_quality  # noqa: E402

CELLS = ("lstm", "gru")
VARIANTS = {
    "zero": {"strategy": "zero"},
    "zero + gaussian noise": {"strategy": "noise", "noise": "gaussian"},
    "zero + uniform noise": {"strategy": "noise", "noise": "uniform"},
    "free": {"strategy": "free"},
    "free + gaussian noise": {"strategy": "free", "noise": "gaussian"},
    "learned": {"strategy": "learned"},
    "learned distribution": {"strategy": "learned_distribution"},
}


def run_one(data, variant: str, cell: str, seed: int, quick: bool) -> dict:
    params = lcd_quality.training_params("paper", seed, quick, {**VARIANTS[variant], "cell": cell})
    return lcd_quality.run_one(data, params, with_bands=False)


def sections(runs: dict, seeds: list) -> list:
    rows = []
    for variant in VARIANTS:
        for cell in CELLS:
            rs = [runs[(variant, cell, seed)] for seed in seeds]
            rows.append(
                [
                    variant,
                    cell,
                    harness.mean_std([r["eval_mse"][-1] for r in rs], 3, True),
                    harness.mean_std([r["rollout_mse"] for r in rs], 4),
                    harness.mean_std([100 * r["coverage"] for r in rs], 1),
                    harness.mean_std([r["band_width"] for r in rs], 3),
                    harness.mean_std([r["train_seconds"] for r in rs], 0),
                ]
            )
    lowest = [
        (metric, min(rows, key=lambda row, c=column: float(row[c].split()[0])), column)
        for metric, column in (("eval MSE", 2), ("rollout MSE", 3))
    ]
    return [
        (
            f"Strategy x cell (mean ± std over {len(seeds)} seed(s))",
            harness.markdown_table(
                [
                    "initial state",
                    "cell",
                    "eval MSE",
                    "rollout MSE",
                    "truth in 90% band (%)",
                    "band width",
                    "train s",
                ],
                rows,
            ),
        ),
        (
            "Best",
            "\n".join(
                f"- lowest {metric}: {row[0]} with {row[1]} ({row[column]})"
                for metric, row, column in lowest
            ),
        ),
    ]


def main(argv=None) -> None:
    options, data, results = harness.start(
        __doc__, "lcd", lcd_quality.QUICK_DATA, "ablation", 1, argv
    )
    runs = {
        (variant, cell, seed): results.get_or_run(
            f"{variant}/{cell}/seed={seed}",
            lambda v=variant, c=cell, s=seed: run_one(data, v, c, s, options.quick),
        )
        for seed in options.seeds
        for cell in CELLS
        for variant in VARIANTS
    }
    report = harness.write_report(
        options.out,
        "ablation",
        "LCD ablation: initial-state strategy x cell",
        sections(runs, options.seeds),
    )
    print(f"Report: {report}")


if __name__ == "__main__":
    main()
