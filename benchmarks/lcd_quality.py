"""LCD quality: the learned-distribution contextual model against the h0 = 0 baseline.

The paper's LCD setting (LSTM 128, context network 50, 65 epochs, Adam 2e-4,
global clip norm 10, the paper's data), one data set and several training
seeds per model, each trained by the Trainer's own code. Reported:
- eval MSE per epoch: teacher-forced, scaled deltas (the paper's Figure 5);
- rollout error per unseen period: x(1..25) run free from x(0) and the period
  with the mean h0, against the truth (what the Evaluator scores);
- the sampled band (the paper's Figure 6): 100 trajectories per eval
  sequence from `generate`, and how often the truth lies inside their 5-95%
  band (a 90% band), with the band's mean width, since a wide band covers
  the truth cheaply.

    python -m benchmarks.lcd_quality            # 3 seeds, about 15 minutes on 2 cores
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
from components.lcd_data import LcdDataset  # noqa: E402
from models import lcd_task  # noqa: E402
from pipeline import trajectories  # noqa: E402

MODELS = {"contextual": "learned_distribution", "baseline": "zero"}
QUICK_DATA = {"train_per_period": 40, "eval_per_period": 10, "length": 12}
QUICK_TRAINING = {"epochs": 2, "batch_size": 32, "model": {"units": 16, "context_units": [8]}}
NUM_SAMPLES = 100
REPORT_EPOCHS = (1, 2, 5, 10, 20, 30, 40, 50, 65)
CONVERGED_MSE = 1e-3  # twice the final eval MSE: how fast each model gets near its best


def read_serialized(split_dir: str) -> List[bytes]:
    files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
    if not files:
        raise FileNotFoundError(f"no TFRecord files in {split_dir}")
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def evaluate(trained: harness.Trained, data: harness.PreparedData, batch: int = 500) -> dict:
    """Rollout error and band coverage on every eval sequence, overall and per period.

    The model is wrapped in the same module the SavedModel exports, so these
    are the numbers `serving_default` and `generate` would give.
    """
    serving = lcd_task.LcdServing(trained.model, trained.tft_output)
    serialized = read_serialized(data.raw_split("eval"))
    xs, periods, rollouts, inside, widths = [], [], [], [], []
    for start in range(0, len(serialized), batch):
        chunk = tf.constant(serialized[start : start + batch])
        raw = tf.io.parse_example(chunk, serving.raw_feature_spec)
        x = raw["x"].numpy()
        period = raw["period"].numpy()[:, 0]
        rollouts.append(serving.serve(chunk)["rollout"].numpy())
        samples = serving.generate(
            x0=tf.constant(x[:, 0]),
            period=tf.constant(period),
            seed=tf.range(start, start + len(x), dtype=tf.int64),
            num_samples=tf.constant(NUM_SAMPLES),
            steps=tf.constant(x.shape[1] - 1),
        )["trajectories"].numpy()[:, :, 1:]
        inside.append(trajectories.inside_band(samples, x[:, 1:]))
        low, high = np.percentile(samples, [5, 95], axis=1)
        widths.append(high - low)
        xs.append(x)
        periods.append(period)
    x, period, rollout = np.concatenate(xs), np.concatenate(periods), np.concatenate(rollouts)
    inside, widths = np.concatenate(inside), np.concatenate(widths)
    squared = (rollout - x[:, 1:]) ** 2

    def summary(rows) -> dict:
        return {
            "rollout_mse": float(squared[rows].mean()),
            "coverage": float(inside[rows].mean()),
            "band_width": float(widths[rows].mean()),
        }

    return {
        **summary(slice(None)),
        "per_period": {f"{p:g}": summary(period == p) for p in sorted(set(period.tolist()))},
    }


def bands(trained: harness.Trained, dataset: LcdDataset, num_samples: int = 30) -> list:
    """Trajectories from x0 = 3 for each eval period, for the Figure 6 plot."""
    from local_runner import signature_generator

    serving = lcd_task.LcdServing(trained.model, trained.tft_output)
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


def training_params(strategy: str, seed: int, quick: bool, overrides=None) -> dict:
    params = harness.training_params("lcd", QUICK_TRAINING if quick else None)
    return harness.with_model(params, {"strategy": strategy, **(overrides or {})}, seed)


def curve_table(runs: Dict[str, List[dict]], key: str, epochs) -> str:
    last = min(len(r[key]) for rs in runs.values() for r in rs)
    shown = [e for e in epochs if e <= last] + ([last] if last not in epochs else [])
    rows = [
        [e, *(harness.mean_std([r[key][e - 1] for r in rs], 2, True) for rs in runs.values())]
        for e in shown
    ]
    return harness.markdown_table(["epoch", *runs], rows)


def sections(runs: Dict[str, List[dict]]) -> list:
    names = list(runs)
    final = [
        [
            seed,
            name,
            f"{r['eval_mse'][-1]:.3e}",
            f"{r['rollout_mse']:.4f}",
            f"{r['coverage']:.1%}",
            f"{r['band_width']:.3f}",
            f"{r['train_seconds']:.0f}",
            harness.first_epoch(r["eval_mse"], lambda mse: mse < CONVERGED_MSE),
        ]
        for name in names
        for seed, r in enumerate(runs[name])
    ]
    periods = list(runs[names[0]][0]["per_period"])
    per_period = [
        [
            period,
            *(
                harness.mean_std([r["per_period"][period][k] for r in runs[n]], 4)
                for k in ("rollout_mse", "coverage")
                for n in names
            ),
        ]
        for period in periods
    ]
    contextual, baseline = runs["contextual"], runs["baseline"]
    pairs = list(zip(contextual, baseline, strict=True))
    wins = [
        ["eval MSE (teacher-forced)", sum(c["eval_mse"][-1] < b["eval_mse"][-1] for c, b in pairs)],
        ["rollout MSE", sum(c["rollout_mse"] < b["rollout_mse"] for c, b in pairs)],
    ]
    return [
        (
            "Eval MSE per epoch (scaled deltas, teacher-forced; mean ± std over seeds)",
            curve_table(runs, "eval_mse", REPORT_EPOCHS),
        ),
        (
            "After the last epoch, per seed",
            harness.markdown_table(
                [
                    "seed",
                    "model",
                    "eval MSE",
                    "rollout MSE",
                    "truth in 90% band",
                    "band width",
                    "train s",
                    f"epochs to eval MSE < {CONVERGED_MSE:g}",
                ],
                final,
            ),
        ),
        (
            "Per unseen period (mean ± std over seeds)",
            harness.markdown_table(
                ["period", *(f"{k} {n}" for k in ("rollout MSE", "in band") for n in names)],
                per_period,
            ),
        ),
        (
            f"Seeds where the contextual model wins (of {len(pairs)})",
            harness.markdown_table(["metric", "contextual better"], wins),
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
                f"{strategy}/seed={seed}",
                lambda s=strategy, seed=seed: run_one(
                    data, training_params(s, seed, options.quick), with_bands=seed == 0
                ),
            )
            for seed in options.seeds
        ]
        for name, strategy in MODELS.items()
    }
    report = harness.write_report(
        options.out,
        "lcd_quality",
        "LCD: contextual (learned distribution) vs h0 = 0",
        sections(runs),
    )
    curves = {name: [r["eval_mse"] for r in rs] for name, rs in runs.items()}
    plots = [
        harness.plot_curves(
            curves,
            "eval MSE (scaled)",
            os.path.join(options.out, "lcd_eval_mse.png"),
            log_scale=True,
        ),
        plot_bands(runs["contextual"][0], os.path.join(options.out, "lcd_bands_contextual.png")),
        plot_bands(runs["baseline"][0], os.path.join(options.out, "lcd_bands_baseline.png")),
    ]
    print(f"Report: {report}\nPlots: {', '.join(plots)}")


if __name__ == "__main__":
    main()
