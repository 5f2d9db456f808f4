"""ART quality: zero vs free vs learned initial state on the Fast Weights RNN.

The paper's ART setting (Fast Weights, 50 units, Adam 1e-3, batch 128,
100,000 training and 20,000 eval queries of 4 pairs) with the paper's budget:
up to 200 epochs, stopping at 100% eval accuracy, for several training
seeds, each by the Trainer's own code. Reported: eval accuracy and log loss
per epoch (the paper's Figure 2) and the epochs each model needs to reach
50% (leaving the ~38% plateau), 99% and 99.9% eval accuracy.

Each model keeps its state after every epoch under <out>/art_quality_200_backup/,
so a run stopped part way (a session's end) resumes at its last finished
epoch when started again; finished models are read from art_quality_200.json.

`--demo-budget` measures the demo's short budget (`seqgen run --task art`):
a constant learning rate against one decayed over the last epochs, for the
contextual model and its baseline, on data generated with another seed than
the pipeline's, so the pipeline's eval split plays no part in the choice.

`--paper-code` instead measures which of the paper's code differences matter
(models/art_model.py: its head, its zero embedding, its fast-weight update),
each alone and all three, on a short run (`--epochs`, default 15).

    python -m benchmarks.art_quality             # 3 seeds x 3 models, hours on 2 cores: resumable
    python -m benchmarks.art_quality --quick     # tiny data and models, for CI
    python -m benchmarks.art_quality --paper-code --seeds 1
    python -m benchmarks.art_quality --demo-budget  # 1 h 20 min, fast machine: resumable
    python -m benchmarks.art_quality --threads 1 # leave the other core to other work
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks import harness  # noqa: E402
from tfx_seqgen.pipeline import configs  # noqa: E402

STRATEGIES = ("zero", "free", "learned")
QUICK_DATA = {"train_count": 400, "eval_count": 100}
QUICK_TRAINING = {"epochs": 2, "batch_size": 64, "model": {"units": 12}}
# The paper's budget: up to 200 epochs, stopping at 100% eval accuracy.
PAPER_BUDGET = {"epochs": 200, "stop_at_accuracy": 1.0}
REPORT_EPOCHS = (1, 5, 10, 20, 30, 40, 60, 80, 100, 150, 200)
TARGETS = (0.5, 0.99, 0.999)
# Where the paper's ART code differs from our model; each alone, then all three.
PAPER_CODE = {
    "ours": {},
    "+ ReLU head": {"head_units": 100},
    "+ zero embedding": {"embedding_initializer": "zeros"},
    "+ preliminary update": {"cell_options": {"update_with_preliminary": True}},
    "paper's code (all three)": {
        "head_units": 100,
        "embedding_initializer": "zeros",
        "cell_options": {"update_with_preliminary": True},
    },
}
PAPER_CODE_STRATEGIES = ("zero", "learned")
# The 200-epoch table's and the demo budget's model: ours with the paper's
# code's fast-weight update (the demo's model before it took the ReLU head).
PRELIMINARY_UPDATE = {"model": PAPER_CODE["+ preliminary update"]}
# The demo's budget, two decayed schedules (the same 25 epochs, and 20), and
# the paper's ReLU head with the first of them.
DEMO_RECIPES = {
    "constant, 25 epochs": {"epochs": 25},
    "decayed over the last 10 of 25": {"epochs": 25, "decay_epochs": 10},
    "decayed over the last 8 of 20": {"epochs": 20, "decay_epochs": 8},
    "ReLU head, decayed over the last 10 of 25": {
        "epochs": 25,
        "decay_epochs": 10,
        "model": {**PRELIMINARY_UPDATE["model"], "head_units": 100},
    },
}
DEMO_STRATEGIES = ("learned", "zero")
# The generator's seed for the data the demo budget is chosen on.
TUNING_DATA = {"seed": 1}


def run_one(
    data: harness.PreparedData,
    strategy: str,
    seed: int,
    quick: bool,
    overrides: Dict[str, Any] | None = None,
    backup_dir: str | None = None,
) -> dict:
    # The paper's ART settings, each mode adding its own: not the demo's,
    # which changes when a mode here finds a better recipe for it.
    params = configs.with_overrides(
        configs.training_params("art", "paper"), QUICK_TRAINING if quick else None
    )
    params = harness.with_model(params, {"strategy": strategy}, seed)
    params = configs.with_overrides(params, {**(overrides or {}), "backup_dir": backup_dir})
    trained = harness.train(data, params)
    return {
        "eval_accuracy": trained.history["val_accuracy"],
        "eval_loss": trained.history["val_loss"],
        "train_accuracy": trained.history["accuracy"],
        "train_seconds": trained.seconds,
    }


def run_variants(
    data: harness.PreparedData,
    options: harness.Options,
    results: harness.Results,
    variants: Dict[str, Dict[str, Any]],
    strategies: tuple,
) -> None:
    """Trains every variant (Trainer overrides) x initial state x seed not yet in `results`."""
    for seed in options.seeds:
        for variant, overrides in variants.items():
            for strategy in strategies:
                results.get_or_run(
                    f"{variant}/{strategy}/seed={seed}",
                    lambda s=strategy, seed=seed, o=overrides: run_one(
                        data, s, seed, options.quick, o
                    ),
                )


def held(values: List[float], length: int) -> List[float]:
    """A curve of a run that stopped early (at 100% accuracy), held at its last value."""
    return list(values) + [values[-1]] * (length - len(values))


def sections(runs: Dict[str, List[dict]]) -> list:
    longest = max(len(r["eval_accuracy"]) for rs in runs.values() for r in rs)
    shown = [e for e in REPORT_EPOCHS if e < longest] + [longest]
    curves = {
        key: harness.markdown_table(
            ["epoch", *runs],
            [
                [
                    e,
                    *(
                        harness.mean_std([held(r[key], longest)[e - 1] for r in rs])
                        for rs in runs.values()
                    ),
                ]
                for e in shown
            ],
        )
        for key in ("eval_accuracy", "eval_loss")
    }
    final = [
        [
            seed,
            strategy,
            f"{r['eval_accuracy'][-1]:.3%}",
            f"{max(r['eval_accuracy']):.3%}",
            f"{r['eval_loss'][-1]:.5f}",
            *(harness.first_epoch(r["eval_accuracy"], lambda a, t=t: a >= t) for t in TARGETS),
            f"{r['train_seconds']:.0f}",
        ]
        for strategy, rs in runs.items()
        for seed, r in enumerate(rs)
    ]
    best = {s: sum(r["eval_accuracy"][-1] for r in rs) / len(rs) for s, rs in runs.items()}
    return [
        (
            "Eval accuracy per epoch (mean ± std over seeds; a run stopped at 100% holds its"
            " last value)",
            curves["eval_accuracy"],
        ),
        ("Eval log loss per epoch (mean ± std over seeds, held likewise)", curves["eval_loss"]),
        (
            "Per seed",
            harness.markdown_table(
                [
                    "seed",
                    "initial state",
                    "final acc",
                    "best acc",
                    "final loss",
                    *(f"epochs to {t:.1%}" for t in TARGETS),
                    "train s",
                ],
                final,
            ),
        ),
        (
            "Ranking by mean final eval accuracy",
            " > ".join(f"{s} ({a:.3%})" for s, a in sorted(best.items(), key=lambda x: -x[1])),
        ),
    ]


def paper_code_sections(runs: Dict[str, dict], seeds: List[int], epochs: int) -> list:
    rows = []
    for variant in PAPER_CODE:
        for strategy in PAPER_CODE_STRATEGIES:
            rs = [runs[f"{variant}/{strategy}/seed={seed}"] for seed in seeds]
            rows.append(
                [
                    variant,
                    strategy,
                    harness.mean_std([r["eval_accuracy"][-1] for r in rs], 3),
                    harness.mean_std([r["eval_loss"][-1] for r in rs], 3),
                    ", ".join(
                        harness.first_epoch(r["eval_accuracy"], lambda a: a >= 0.5) for r in rs
                    ),
                    ", ".join(
                        harness.first_epoch(r["eval_accuracy"], lambda a: a >= 0.99) for r in rs
                    ),
                ]
            )
    headers = ["model", "initial state", "eval acc", "eval loss", "epochs to 50%", "to 99%"]
    return [(f"After {epochs} epochs, seeds {seeds}", harness.markdown_table(headers, rows))]


def demo_budget_sections(runs: Dict[str, dict], seeds: List[int]) -> list:
    rows, summary = [], []
    for recipe in DEMO_RECIPES:
        final = {}
        for strategy in DEMO_STRATEGIES:
            rs = [runs[f"{recipe}/{strategy}/seed={seed}"] for seed in seeds]
            final[strategy] = [r["eval_accuracy"][-1] for r in rs]
            rows += [
                [
                    recipe,
                    strategy,
                    seed,
                    f"{r['eval_accuracy'][-1]:.2%}",
                    f"{r['eval_loss'][-1]:.4f}",
                    harness.first_epoch(r["eval_accuracy"], lambda a: a >= 0.5),
                    harness.first_epoch(r["eval_accuracy"], lambda a: a >= 0.99),
                    f"{r['train_seconds']:.0f}",
                ]
                for seed, r in zip(seeds, rs, strict=True)
            ]
        learned, zero = final["learned"], final["zero"]
        summary.append(
            [
                recipe,
                f"{min(learned):.2%}",
                f"{sum(a >= 0.99 for a in learned)} of {len(seeds)}",
                f"{sum(a > b for a, b in zip(learned, zero, strict=True))} of {len(seeds)}",
            ]
        )
    return [
        (
            f"Summary, seeds {seeds}",
            harness.markdown_table(
                ["recipe", "lowest learned acc", "learned at 99%", "learned beats zero"],
                summary,
            ),
        ),
        (
            "Per seed (eval accuracy on the tuning data's eval split)",
            harness.markdown_table(
                [
                    "recipe",
                    "initial state",
                    "seed",
                    "final acc",
                    "final loss",
                    "epochs to 50%",
                    "to 99%",
                    "train s",
                ],
                rows,
            ),
        ),
    ]


def demo_budget(options: harness.Options) -> None:
    """Every DEMO_RECIPES entry x {learned, zero} x seed, trained and scored on TUNING_DATA."""
    data = harness.prepare_data(
        "art", {**TUNING_DATA, **(QUICK_DATA if options.quick else {})}, options.data_root("art")
    )
    results = harness.Results(os.path.join(options.out, "art_demo_budget.json"))
    quick = {"epochs": 2} if options.quick else {}  # a longer decay spans both epochs
    recipes = {
        recipe: {**PRELIMINARY_UPDATE, **budget, "stop_at_accuracy": None, **quick}
        for recipe, budget in DEMO_RECIPES.items()
    }
    run_variants(data, options, results, recipes, DEMO_STRATEGIES)
    report = harness.write_report(
        options.out,
        "art_demo_budget",
        "ART: the demo's 25-epoch recipe, on data of another seed (Fast Weights 50)",
        demo_budget_sections(results.runs, options.seeds),
    )
    print(f"Report: {report}")


def main(argv=None) -> None:
    parser = harness.parser(__doc__, seeds=3)
    parser.add_argument(
        "--paper-code",
        action="store_true",
        help="measure the paper's code differences instead (short runs)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="epoch budget (default 200; --paper-code 15)"
    )
    parser.add_argument(
        "--demo-budget",
        action="store_true",
        help="measure recipes for the ART demo's 25 epochs, on data of another seed",
    )
    args = parser.parse_args(argv)
    options = harness.options(args)
    harness.setup_logging()
    if args.demo_budget:
        demo_budget(options)
        return
    data = harness.prepare_data(
        "art", QUICK_DATA if options.quick else {}, options.data_root("art")
    )
    if args.paper_code:
        epochs = args.epochs or 15
        results = harness.Results(os.path.join(options.out, f"art_paper_code_{epochs}.json"))
        budget = {"epochs": epochs, "stop_at_accuracy": None}
        variants = {variant: {**budget, "model": m} for variant, m in PAPER_CODE.items()}
        run_variants(data, options, results, variants, PAPER_CODE_STRATEGIES)
        report = harness.write_report(
            options.out,
            "art_paper_code",
            "ART: which of the paper's code differences matter (Fast Weights 50)",
            paper_code_sections(results.runs, options.seeds, epochs),
        )
        print(f"Report: {report}")
        return
    budget = (
        PRELIMINARY_UPDATE
        if options.quick
        else {**PRELIMINARY_UPDATE, **PAPER_BUDGET, "epochs": args.epochs or 200}
    )
    name = f"art_quality_{budget.get('epochs', 'quick')}"
    results = harness.Results(os.path.join(options.out, f"{name}.json"))
    backups = os.path.join(options.out, f"{name}_backup")
    # Seed by seed, so an interrupted run has whole seeds to report.
    for seed in options.seeds:
        for strategy in STRATEGIES:
            key = f"{strategy}/seed={seed}"
            results.get_or_run(
                key,
                lambda s=strategy, seed=seed, k=key: run_one(
                    data, s, seed, options.quick, budget, os.path.join(backups, k)
                ),
            )
    runs = {s: [results.runs[f"{s}/seed={seed}"] for seed in options.seeds] for s in STRATEGIES}
    longest = max(len(r["eval_accuracy"]) for rs in runs.values() for r in rs)
    report = harness.write_report(
        options.out,
        "art_quality",
        "ART: zero vs free vs learned h0 (Fast Weights 50)",
        sections(runs),
    )
    plots = [
        harness.plot_curves(
            {s: [held(r[key], longest) for r in rs] for s, rs in runs.items()},
            label,
            os.path.join(options.out, f"art_{key}.png"),
        )
        for key, label in (("eval_accuracy", "eval accuracy"), ("eval_loss", "eval log loss"))
    ]
    print(f"Report: {report}\nPlots: {', '.join(plots)}")


if __name__ == "__main__":
    main()
