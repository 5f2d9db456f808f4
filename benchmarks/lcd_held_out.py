"""LCD recipes judged on training data alone: rollouts at held-out training periods.

The eval periods (1, 2, 3, 4) must never choose a model. What may: a fold
model trained by a recipe without training periods 1.5 and 3.5 (the
calibration's fold, `tasks.lcd.trainer.train_fold`), rolled out from its mean h0 on
the training sequences of those two periods. A period held out this way is
a whole training spacing from the nearest one the fold saw, twice as far as
an eval period is from the final model's, so the numbers are larger than
eval errors; what they rank is how well a recipe interpolates in the period.

Rows: the `generator` config with the model options of each variant below,
each against the h0 = 0 baseline of the same recipe on the same seed.

    python -m benchmarks.lcd_held_out            # ~20 min: 5 recipes x 3 seeds
    python -m benchmarks.lcd_held_out --quick    # tiny data, a minute
"""

from __future__ import annotations

import tempfile
from typing import Any, Dict, List

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from benchmarks import harness, lcd_quality
from tfx_seqgen import tasks
from tfx_seqgen.models.training_data import TrainingData
from tfx_seqgen.pipeline import configs
from tfx_seqgen.tasks.lcd import trainer
from tfx_seqgen.tasks.lcd.signatures import LcdServing

# name -> the generator's model options it changes.
VARIANTS: Dict[str, Dict[str, Any]] = {
    "generator (g: 50 units, h0 scale 0.25)": {},
    "h0 scale starts at 0.1": {"initial_scale": 0.1},
    "g one linear layer": {"context_units": []},
    "deterministic h0 = g(context)": {"strategy": "learned"},
    "baseline (h0 = 0)": {"strategy": configs.BASELINE_STRATEGY},
}
BASELINE = "baseline (h0 = 0)"


def held_out_rollout_mse(fn_args, tft_output: tft.TFTransformOutput, config) -> dict:
    """{held-out period: the fold model's mean-path rollout MSE there}, in original units.

    A way to compare recipes on training data alone: how well a model trained
    this way generates at periods its training did not see.
    """
    data = TrainingData(fn_args, tft_output, config)
    fold, x, period = trainer.train_fold(data, "lcd held-out fold")
    serving = LcdServing(fold, tft_output)
    x0, periods = tf.constant(x[:, 0], tf.float32), tf.constant(period, tf.float32)
    path = serving.rollout(x0, periods, x.shape[1] - 1, sample=False).numpy()
    error = ((path - x[:, 1:]) ** 2).mean(axis=1)
    rounded = np.round(period, 6)
    return {float(p): float(error[rounded == p].mean()) for p in sorted(set(rounded))}


def held_out_mse(data: harness.PreparedData, params: Dict[str, Any]) -> dict:
    config = tasks.get(params["task"]).training_config(params)
    keras.utils.set_random_seed(config.seed)
    tft_output = tft.TFTransformOutput(data.transform_graph_uri)
    with tempfile.TemporaryDirectory() as work_dir:
        fn_args = harness.trainer_fn_args(data, params, work_dir)
        errors = held_out_rollout_mse(fn_args, tft_output, config)
    return {"mse": {f"{period:g}": value for period, value in errors.items()}}


def table(runs: Dict[str, List[dict]]) -> str:
    periods = list(runs[BASELINE][0]["mse"])
    seeds = range(len(runs[BASELINE]))
    headers = ["recipe", *(f"seed {s}: T = {' / '.join(periods)}" for s in seeds)]
    headers.append("no worse than the baseline at both periods")
    rows = []
    for name, results in runs.items():
        cells = [" / ".join(f"{r['mse'][p]:.4f}" for p in periods) for r in results]
        wins = sum(
            all(r["mse"][p] <= b["mse"][p] for p in periods)
            for r, b in zip(results, runs[BASELINE], strict=True)
        )
        verdict = "" if name == BASELINE else f"{wins} of {len(results)} seeds"
        rows.append([name, *cells, verdict])
    return harness.markdown_table(headers, rows)


def main(argv=None) -> None:
    options, data, results = harness.start(
        __doc__, "lcd", lcd_quality.QUICK_DATA, "lcd_held_out", 3, argv
    )
    runs = {
        name: [
            results.get_or_run(
                f"{name}/seed={seed}",
                lambda m=model, s=seed: held_out_mse(
                    data, lcd_quality.training_params("generator", s, options.quick, m)
                ),
            )
            for seed in options.seeds
        ]
        for name, model in VARIANTS.items()
    }
    body = (
        "Mean-path rollout MSE (original units) of fold models at training periods "
        "left out of their training:\n\n" + table(runs)
    )
    harness.write_report(
        options.out,
        "lcd_held_out",
        "LCD recipes on held-out training periods",
        [("Mean path at held-out training periods", body)],
    )


if __name__ == "__main__":
    main()
