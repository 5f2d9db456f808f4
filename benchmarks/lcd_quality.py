"""LCD quality: the generator's sampled trajectories, against the truth and the h0 = 0 baseline.

Four models, each trained by the Trainer's own code on the paper's data,
over several training seeds:
- `paper`: the paper's contextual model and training (learned distribution,
  LSTM 128, 65 teacher-forced epochs at 2e-4), as the reproduction;
- `generator`: the `generator` config (context at every step, free-running
  training, the band calibrated out of sample): what `make demo` serves;
- `generator_linear_g`: the same with g one linear layer (`context_units: []`);
- `baseline`: the generator's recipe with h0 = 0, what the Evaluator
  compares it with.

Each model is scored by its own `evaluate` signature on every eval sequence
(100 trajectories each, from `generate`): CRPS, how often the truth lies in
the samples' 5-95% band and the band's width, the sample mean's MSE, the
mean-h0 rollout's MSE and the teacher-forced MSE, overall and per unseen
period (see models.sample_scores).

    python -m benchmarks.lcd_quality            # 3 seeds, about 20 minutes on 2 cores
    python -m benchmarks.lcd_quality --quick    # tiny data and models, for CI
"""

from __future__ import annotations

import glob
import os
from typing import Any, Dict, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import harness  # noqa: E402
from tfx_seqgen.pipeline import configs  # noqa: E402
from tfx_seqgen.tasks.lcd import view as trajectories  # noqa: E402
from tfx_seqgen.tasks.lcd.data import LcdDataset  # noqa: E402
from tfx_seqgen.tasks.lcd.signatures import LcdServing  # noqa: E402

# Model name -> (named config, model options replaced).
MODELS = {
    "paper": ("paper", {}),
    "generator": ("generator", {}),
    # The generator with g one linear layer: a better mean path, a narrower band.
    "generator_linear_g": ("generator", {"context_units": []}),
    "baseline": ("generator", {"strategy": configs.BASELINE_STRATEGY}),
}
QUICK_DATA = {
    "train_per_period": 40,
    "eval_per_period": 10,
    "calibration_per_period": 15,
    "length": 12,
}
QUICK_TRAINING = {
    "epochs": 2,
    "batch_size": 32,
    "model": {"units": 16, "context_units": [8]},
}
NUM_SAMPLES = 100
REPORT_EPOCHS = (1, 2, 5, 10, 20, 30, 40, 50, 65)
# Scores of the `evaluate` signature: (output, how the tables call it).
SCORES = {
    "crps": "CRPS",
    "coverage": "in 90% band",
    "band_width": "band width",
    "sample_mean_mse": "sample-mean MSE",
    "rollout_mse": "rollout MSE",
}


def read_serialized(split_dir: str) -> List[bytes]:
    files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
    if not files:
        raise FileNotFoundError(f"no TFRecord files in {split_dir}")
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def evaluate(trained: harness.Trained, data: harness.PreparedData, batch: int = 250) -> dict:
    """Every score on every eval sequence, overall and per period.

    The model is wrapped in the module the SavedModel exports and scored by
    its `evaluate` signature: the numbers the Evaluator averages.
    """
    serving = LcdServing(trained.model, trained.tft_output, NUM_SAMPLES)
    serialized = read_serialized(data.raw_split("eval"))
    parts: Dict[str, list] = {}
    for start in range(0, len(serialized), batch):
        chunk = tf.constant(serialized[start : start + batch])
        raw = tf.io.parse_example(chunk, serving.raw_feature_spec)
        out = {k: v.numpy() for k, v in serving.evaluate(chunk).items()}
        truth = raw["x"].numpy()[:, 1:]
        for name, value in {
            "crps": out["crps"],
            "coverage": out["coverage"],
            "band_width": out["band_width"],
            "sample_mean_mse": (out["sample_mean"] - truth) ** 2,
            "rollout_mse": (out["rollout"] - truth) ** 2,
            "period": raw["period"].numpy()[:, 0],
        }.items():
            parts.setdefault(name, []).append(value)
    scores = {name: np.concatenate(values) for name, values in parts.items()}
    period = scores.pop("period")

    def summary(rows) -> dict:
        return {name: float(value[rows].mean()) for name, value in scores.items()}

    return {
        **summary(slice(None)),
        "per_period": {f"{p:g}": summary(period == p) for p in sorted(set(period.tolist()))},
    }


def bands(trained: harness.Trained, dataset: LcdDataset, num_samples: int = 30) -> list:
    """Trajectories from x0 = 3 for each eval period, for the Figure 6 plot."""
    from tfx_seqgen.pipeline.local_runs import signature_generator

    serving = LcdServing(trained.model, trained.tft_output)
    results = trajectories.generate_per_period(
        signature_generator(serving.generate),
        dataset,
        dataset.eval_periods,
        num_samples=num_samples,
    )
    return [
        {"period": r.period, "x0": r.x0, "truth": r.truth.tolist(), "samples": r.samples.tolist()}
        for r in results
    ]


def run_one(data: harness.PreparedData, params: Dict[str, Any], with_bands: bool) -> dict:
    trained = harness.train(data, params)
    result = {
        "eval_mse": trained.history["val_loss"],
        "train_mse": trained.history["loss"],
        "train_seconds": trained.seconds,
        **evaluate(trained, data),
    }
    if with_bands:
        result["bands"] = bands(trained, LcdDataset(**data.data_params))
    return result


def training_params(config: str, seed: int, quick: bool, model: Dict[str, Any] | None = None):
    """A named config's LCD Trainer params with model options replaced and a seed."""
    params = configs.with_overrides(
        configs.training_params("lcd", config), QUICK_TRAINING if quick else None
    )
    if quick and params.get("rollout_epochs"):
        params["rollout_epochs"] = 1
    return harness.with_model(params, model or {}, seed)


def model_params(name: str, seed: int, quick: bool) -> dict:
    config, model = MODELS[name]
    return training_params(config, seed, quick, model)


def curve_table(runs: Dict[str, List[dict]], key: str, epochs) -> str:
    last = min(len(r[key]) for rs in runs.values() for r in rs)
    shown = [e for e in epochs if e <= last] + ([last] if last not in epochs else [])
    rows = [
        [e, *(harness.mean_std([r[key][e - 1] for r in rs], 2, True) for rs in runs.values())]
        for e in shown
    ]
    return harness.markdown_table(["epoch", *runs], rows)


def _fmt(name: str, value: float) -> str:
    return f"{value:.1%}" if name == "coverage" else f"{value:.4g}"


def verdicts(generator: dict, baseline: dict) -> list:
    """What the generator must do against the baseline on one seed, checked."""
    periods = list(generator["per_period"])
    beaten = [
        p for p in periods if generator["per_period"][p]["crps"] < baseline["per_period"][p]["crps"]
    ]
    coverage = [generator["per_period"][p]["coverage"] for p in periods]
    return [
        f"{generator['crps'] / baseline['crps']:.2f}",
        f"{len(beaten)} of {len(periods)}",
        "yes" if generator["rollout_mse"] <= baseline["rollout_mse"] else "no",
        f"{generator['coverage']:.1%}",
        f"{min(coverage):.1%}",
    ]


def sections(runs: Dict[str, List[dict]]) -> list:
    names = list(runs)
    per_seed = [
        [
            seed,
            name,
            *(_fmt(k, r[k]) for k in SCORES),
            f"{r['eval_mse'][-1]:.3e}",
            f"{r['train_seconds']:.0f}",
        ]
        for name in names
        for seed, r in enumerate(runs[name])
    ]
    periods = list(runs[names[0]][0]["per_period"])
    per_period = {
        score: harness.markdown_table(
            ["period", *names],
            [
                [
                    period,
                    *(
                        harness.mean_std([r["per_period"][period][score] for r in runs[n]], 4)
                        for n in names
                    ),
                ]
                for period in periods
            ],
        )
        for score in ("crps", "coverage", "rollout_mse")
    }
    checks = [
        [seed, *verdicts(g, b)]
        for seed, (g, b) in enumerate(zip(runs["generator"], runs["baseline"], strict=True))
    ]
    return [
        (
            "Per seed, overall",
            harness.markdown_table(
                ["seed", "model", *SCORES.values(), "teacher-forced MSE", "train s"], per_seed
            ),
        ),
        ("CRPS per unseen period (mean ± std over seeds)", per_period["crps"]),
        ("Truth in the 90% band per unseen period", per_period["coverage"]),
        ("Mean-h0 rollout MSE per unseen period", per_period["rollout_mse"]),
        (
            "Generator against the baseline, per seed",
            harness.markdown_table(
                [
                    "seed",
                    "CRPS ratio",
                    "periods with lower CRPS",
                    "rollout MSE no worse",
                    "in band overall",
                    "in band, worst period",
                ],
                checks,
            ),
        ),
        (
            "Teacher-forced eval MSE per epoch (scaled deltas; mean ± std over seeds)",
            curve_table(runs, "eval_mse", REPORT_EPOCHS),
        ),
    ]


def plot_bands(result: dict, path: str) -> str:
    results = [
        trajectories.PeriodResult(
            b["period"], b["x0"], np.array(b["truth"]), np.array(b["samples"])
        )
        for b in result["bands"]
    ]
    return trajectories.plot(results, path)


def main(argv=None) -> None:
    options, data, results = harness.start(__doc__, "lcd", QUICK_DATA, "lcd_quality", 3, argv)
    runs = {
        name: [
            results.get_or_run(
                f"{name}/seed={seed}",
                lambda n=name, seed=seed: run_one(
                    data, model_params(n, seed, options.quick), with_bands=seed == 0
                ),
            )
            for seed in options.seeds
        ]
        for name in MODELS
    }
    report = harness.write_report(
        options.out,
        "lcd_quality",
        "LCD: the generator, the paper's contextual model and the h0 = 0 baseline",
        sections(runs),
    )
    curves = {name: [r["eval_mse"] for r in rs] for name, rs in runs.items()}
    plots = [
        harness.plot_curves(
            curves,
            "teacher-forced eval MSE (scaled)",
            os.path.join(options.out, "lcd_eval_mse.png"),
            log_scale=True,
        ),
        *(
            plot_bands(runs[name][0], os.path.join(options.out, f"lcd_bands_{name}.png"))
            for name in MODELS
        ),
    ]
    print(f"Report: {report}\nPlots: {', '.join(plots)}")


if __name__ == "__main__":
    main()
