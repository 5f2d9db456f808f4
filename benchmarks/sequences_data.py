"""Real sequence data for the sequences task, as the long tables users keep.

Both datasets ship inside the sktime wheel (nothing is downloaded):

- italy-power-demand: 1,096 days of Italy's hourly electricity demand
  (24 steps, z-normalized per day by the UCR archive, so unitless), with
  the season each day belongs to (oct-mar or apr-sep) as a categorical
  context. Columns: day, hour, demand, season.
- japanese-vowels: 640 utterances of a vowel by 9 speakers, 12 LPC
  cepstrum coefficients per frame, 7 to 29 frames. Columns: utterance,
  frame, c0..c11, speaker.

    python -m benchmarks.sequences_data italy-power-demand runs/italy_power_demand.csv
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd


def italy_power_demand() -> pd.DataFrame:
    from sktime.datasets import load_italy_power_demand

    frame, season = load_italy_power_demand(return_type="pd-multiindex")
    long = frame.reset_index()
    long.columns = ["day", "hour", "demand"]
    names = {"1": "oct-mar", "2": "apr-sep"}
    long["season"] = [names[s] for s in np.asarray(season)[long["day"].to_numpy()]]
    return long


def japanese_vowels() -> pd.DataFrame:
    from sktime.datasets import load_japanese_vowels

    frame, speaker = load_japanese_vowels(return_type="pd-multiindex")
    long = frame.reset_index()
    long.columns = ["utterance", "frame", *(f"c{i}" for i in range(frame.shape[1]))]
    long["speaker"] = [f"speaker-{s}" for s in np.asarray(speaker)[long["utterance"].to_numpy()]]
    return long.dropna()


DATASETS = {"italy-power-demand": italy_power_demand, "japanese-vowels": japanese_vowels}
# The `--data` options of `seqgen run --task sequences` for each.
COLUMNS = {
    "italy-power-demand": dict(id="day", step="hour", values=["demand"], context=["season"]),
    "japanese-vowels": dict(
        id="utterance", step="frame", values=[f"c{i}" for i in range(12)], context=["speaker"]
    ),
}


def write(name: str, path: str) -> str:
    """Writes dataset `name` as a long CSV at `path`; returns the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    DATASETS[name]().to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("path", help="where the CSV goes")
    args = parser.parse_args()
    frame_path = write(args.dataset, args.path)
    print(f"Wrote {frame_path}: {len(pd.read_csv(frame_path)):,} rows")


if __name__ == "__main__":
    main()
